//! What one scheduled tick enqueues:
//!
//! - **reciprocity**: a human's reply to a persona's comment gets a reply task for that persona, soon;
//! - **engagement**: recent published posts (by humans or personas) get comment and vote tasks for
//!   selected personas, the wanted number falling with the post's age; recent comments get votes too,
//!   as people's do;
//! - **original posts**: each active persona under its daily cap with no post queued gets one post or
//!   image post, so its posts per day approach the cap across its waking hours.
//!
//! Delays come from the `DELAY_*` ranges, skewed towards the short end like people's, and moved into
//! the persona's active hours. The reads are a fixed handful of set-based statements and the writes one
//! `INSERT … SELECT FROM unnest(…)`, however many posts and personas there are. Dedupe is the queue's
//! index's job; a duplicate delivery of the same scheduled event is recognised by its id.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::config::{DelayRange, DelaysConfig};
use crate::db::DbError;
use crate::db::planner::{self as reads, CommentEngagement, HumanReply, PersonaState, PostEngagement};
use crate::engine::Engine;
use crate::kinds::{COMMENT, IMAGE_POST, Kind, POST, REPLY, VOTE};
use crate::persona::limits::Work;
use crate::persona::selector::{Limits, Pool, Subject, in_active_hours, local_hour};
use crate::queue::{NewTask, QueueError, Target};
use crate::stable;

/// How far back posts are considered for engagement.
pub const ENGAGEMENT_WINDOW_HOURS: i64 = 48;
/// How far back human replies are answered.
pub const RECIPROCITY_WINDOW_HOURS: i64 = 24;
/// Most posts examined per tick (the newest); the rest wait for the next tick.
pub const MAX_POSTS_PER_TICK: i64 = 300;
/// How far back comments are considered for votes.
pub const COMMENT_VOTE_WINDOW_HOURS: i64 = 24;
/// Most comments examined per tick (the newest).
pub const MAX_COMMENTS_PER_TICK: i64 = 400;
/// Most human replies answered per tick.
pub const MAX_REPLIES_PER_TICK: i64 = 200;
/// The chance a persona answers a person who answered it (persona-to-persona replies use
/// `CONVERSATION_REPLY_PROBABILITY`, much lower): measured AI-only networks answer people about 3 % of
/// the time, human platforms 22–60 %.
pub const HUMAN_REPLY_PROBABILITY: f64 = 0.9;

/// What a tick did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PlanReport {
    /// Tasks inserted.
    pub enqueued: usize,
    /// Tasks planned but already covered by a live task.
    pub skipped: usize,
    /// Expired leases freed (back to PENDING or FAILED).
    pub rescued: usize,
    /// Inserted, per task type.
    pub by_type: BTreeMap<String, usize>,
    /// This scheduled event was planned before (a duplicate delivery): nothing was done.
    pub duplicate_event: bool,
}

/// Why a tick failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl PlanError {
    /// Whether the next tick may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Db(e) => e.is_retryable(),
            Self::Queue(e) => e.is_retryable(),
        }
    }
}

/// Everything a plan is made from.
#[derive(Debug, Clone)]
pub struct PlanInput {
    /// The tick's moment.
    pub now: DateTime<Utc>,
    /// Active personas and their queued work.
    pub personas: Vec<PersonaState>,
    /// Recent posts and their engagement.
    pub posts: Vec<PostEngagement>,
    /// Recent comments and their votes.
    pub comments: Vec<CommentEngagement>,
    /// Unanswered human replies to personas.
    pub human_replies: Vec<HumanReply>,
    /// Boards and their topics.
    pub boards: Vec<(Uuid, Vec<String>)>,
}

/// Planning settings.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// Per-persona limits.
    pub limits: Limits,
    /// Delay ranges.
    pub delays: DelaysConfig,
    /// Whether image posts can be made.
    pub images: bool,
}

/// Whether the persona answers the human comment `comment_id` (drawn once per comment, with
/// [`HUMAN_REPLY_PROBABILITY`]).
pub fn answers_human(comment_id: Uuid) -> bool {
    stable::unit(&[comment_id.as_bytes()]) < HUMAN_REPLY_PROBABILITY
}

/// The number of persona comments and votes a post of `age` should have.
pub fn wanted_engagement(age: Duration) -> (usize, usize) {
    let hours = age.num_minutes().max(0) as f64 / 60.0;
    let decay = (-hours / 12.0).exp();
    ((3.0 * decay).round() as usize, (6.0 * decay).round() as usize)
}

/// The number of persona votes a comment of `age` should have: fewer than a post gets, and only while
/// it is fresh (people vote on what they read, and they read the newest).
pub fn wanted_comment_votes(age: Duration) -> usize {
    let hours = age.num_minutes().max(0) as f64 / 60.0;
    (1.4 * (-hours / 4.0).exp()).round() as usize
}

/// A delay in `range`, skewed towards the short end (most people answer soon, some much later).
pub fn human_delay(range: DelayRange, rng: &mut impl Rng) -> Duration {
    let (min, max) = (range.min.as_millis() as f64, range.max.as_millis() as f64);
    let u: f64 = rng.random();
    Duration::milliseconds((min + (max - min) * u.powf(1.7)) as i64)
}

/// `at`, or the start of the persona's next active hours (plus up to half an hour) when it is asleep then.
pub fn into_active_hours(timezone: &str, start: i16, end: i16, at: DateTime<Utc>, rng: &mut impl Rng) -> DateTime<Utc> {
    if in_active_hours(local_hour(timezone, at), start, end) {
        return at;
    }
    let mut t = at;
    for _ in 0..(4 * 24) {
        t += Duration::minutes(15);
        if in_active_hours(local_hour(timezone, t), start, end) {
            return t + Duration::minutes(rng.random_range(0..30));
        }
    }
    at // never awake (start == end): keep the time, the limits still apply
}

fn seed_for(now: DateTime<Utc>) -> u64 {
    stable::hash(&[&(now.timestamp() / 60).to_le_bytes()])
}

/// Plans a tick: pure, deterministic for a given input and seed.
pub fn plan(input: &PlanInput, settings: &PlanSettings, seed: u64) -> Vec<NewTask> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = input.now;
    let candidates: Vec<_> = input.personas.iter().map(|s| s.candidate.clone()).collect();
    let pool = Pool::new(&candidates, now);
    let by_id: HashMap<Uuid, &PersonaState> = input.personas.iter().map(|s| (s.candidate.persona.id, s)).collect();
    // Actions a persona may still take within the hour, counting what is already queued.
    let mut budget: HashMap<Uuid, i64> = input
        .personas
        .iter()
        .map(|s| {
            let own = settings.limits.actions_left(&s.candidate.activity, Work::Own);
            (s.candidate.persona.id, own - s.pending_next_hour)
        })
        .collect();
    let mut tasks = Vec::new();
    let mut schedule = |persona: Uuid,
                        kind: Kind,
                        target: Target,
                        delay: Duration,
                        rng: &mut ChaCha8Rng,
                        budget: &mut HashMap<Uuid, i64>| {
        let Some(state) = by_id.get(&persona) else { return };
        let p = &state.candidate.persona;
        let at = into_active_hours(&p.timezone, p.active_hours_start, p.active_hours_end, now + delay, rng);
        if at <= now + Duration::hours(1) {
            *budget.entry(persona).or_default() -= 1;
        }
        let mut task = kind.task(persona, target, at);
        task.id = Some(uuid::Builder::from_random_bytes(rng.random()).into_uuid());
        tasks.push(task);
    };

    // Reciprocity first: answering people who answered you matters most. Whether a persona answers is
    // drawn from the comment's id, so every tick decides the same for it.
    // People come before the persona's own queued plans: only what it actually did in the last hour
    // holds an answer back, not what it has queued (the cap still applies when the queue runs, and
    // pushes the less urgent work later).
    for reply in &input.human_replies {
        let room =
            by_id.get(&reply.persona_id).map(|s| settings.limits.actions_left(&s.candidate.activity, Work::Priority));
        if !answers_human(reply.comment_id) || room.unwrap_or(0) <= 0 {
            continue;
        }
        let range = DelayRange {
            min: settings.delays.reply.min,
            max: (settings.delays.reply.min + settings.delays.reply.max) / 2,
        };
        let delay = human_delay(range, &mut rng);
        schedule(reply.persona_id, REPLY, Target::Comment(reply.comment_id), delay, &mut rng, &mut budget);
    }

    // Engagement, freshest first, posts and comments alike: what was just written is what people are
    // reading, and the hour's budget goes to it before older things.
    let mut fresh: Vec<(DateTime<Utc>, Result<&PostEngagement, &CommentEngagement>)> = input
        .posts
        .iter()
        .map(|p| (p.created_at, Ok(p)))
        .chain(input.comments.iter().map(|c| (c.created_at, Err(c))))
        .collect();
    fresh.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    for (_, item) in fresh {
        let (subject, wanted) = match item {
            Ok(post) => {
                let (want_comments, want_votes) = wanted_engagement(now - post.created_at);
                let subject = Subject::new(&post.topics, &post.text, post.author_persona, false);
                let target = Target::Post(post.post_id);
                (
                    subject,
                    vec![
                        (COMMENT, target, want_comments, &post.commenters, settings.delays.comment),
                        (VOTE, target, want_votes, &post.voters, settings.delays.vote),
                    ],
                )
            }
            // Votes on a comment, by personas it interests (never its author).
            Err(comment) => (
                Subject::new(&comment.topics, &comment.text, comment.author_persona, false),
                vec![(
                    VOTE,
                    Target::Comment(comment.comment_id),
                    wanted_comment_votes(now - comment.created_at),
                    &comment.voters,
                    settings.delays.vote,
                )],
            ),
        };
        for (kind, target, wanted, engaged, delays) in wanted {
            let missing = wanted.saturating_sub(engaged.len());
            if missing == 0 {
                continue;
            }
            let engaged: HashSet<Uuid> = engaged.iter().copied().collect();
            let picked = pool.select(&subject, &settings.limits, missing, &mut rng, |id| {
                engaged.contains(&id) || budget.get(&id).copied().unwrap_or(0) <= 0
            });
            for persona in picked {
                let delay = human_delay(delays, &mut rng);
                schedule(persona, kind, target, delay, &mut rng, &mut budget);
            }
        }
    }

    // Original posts, one queued at a time per persona.
    if !input.boards.is_empty() {
        for state in &input.personas {
            let c = &state.candidate;
            if state.post_queued || settings.limits.posts_left(&c.activity) <= 0 || !c.persona.is_active {
                continue;
            }
            let weights: Vec<f64> = input
                .boards
                .iter()
                .map(|(_, topics)| {
                    pool.affinity_of(c.persona.id, &Subject::new(topics, "", None, true)).unwrap_or(1.0).powi(2)
                })
                .collect();
            let total: f64 = weights.iter().sum();
            let mut roll = rng.random::<f64>() * total;
            let (board, topics) = input
                .boards
                .iter()
                .zip(&weights)
                .find(|(_, w)| {
                    roll -= **w;
                    roll <= 0.0
                })
                .map(|(b, _)| b)
                .unwrap_or(&input.boards[0]);
            let board = *board;
            let photographer = c.persona.interests.iter().any(|i| i.contains("photo"));
            // A picture only where people post pictures: a bookclub gets no canal photos.
            let image_share = if !settings.images || !crate::kinds::offline::takes_pictures(topics) {
                0.0
            } else if photographer {
                0.5
            } else {
                0.15
            };
            let kind = if rng.random::<f64>() < image_share { IMAGE_POST } else { POST };
            // Spread the day's posts over the waking hours: the next one comes about
            // waking hours ÷ posts per day after the last one.
            let p = &c.persona;
            let waking = (i64::from(p.active_hours_end) - i64::from(p.active_hours_start)).rem_euclid(24).max(1);
            let spacing = Duration::minutes(waking * 60 / i64::from(settings.limits.posts_per_day.max(1)));
            let earliest = c.activity.latest_post_last_day.map(|last| {
                last + Duration::milliseconds((spacing.num_milliseconds() as f64 * rng.random_range(0.7..1.3)) as i64)
            });
            let delay = human_delay(settings.delays.post, &mut rng).max(earliest.map(|t| t - now).unwrap_or_default());
            schedule(c.persona.id, kind, Target::Board(board), delay, &mut rng, &mut budget);
        }
    }
    tasks
}

/// Reads the world, plans and enqueues one tick. With an `event_id` (the scheduled event's id), a
/// second delivery of the same event does nothing and says so.
///
/// The whole tick is one transaction, the event's record included: a tick that fails leaves nothing
/// behind, not even the record, so the redelivered event plans in full. Two deliveries racing each
/// other serialise on the record's key, and the second finds the first's.
pub async fn tick(engine: &Engine, event_id: Option<&str>) -> Result<PlanReport, PlanError> {
    let now = engine.clock.now();
    let mut client = engine.pool.get().await.map_err(DbError::from)?;
    let tx = crate::db::begin(&mut client).await?;
    let c = &tx;
    if let Some(id) = event_id
        && reads::claim_tick(c, id, now).await?.is_some()
    {
        tx.rollback().await.map_err(DbError::from)?;
        tracing::info!(event_id = id, "duplicate delivery of a scheduled event; nothing to do");
        return Ok(PlanReport { duplicate_event: true, ..PlanReport::default() });
    }
    let rescued = engine.queue.rescue_expired(c).await?;
    let input = PlanInput {
        now,
        personas: reads::persona_states(c, now, &engine.kinds.post_kinds()).await?,
        posts: reads::recent_posts(
            c,
            now - Duration::hours(ENGAGEMENT_WINDOW_HOURS),
            now,
            MAX_POSTS_PER_TICK,
            (COMMENT.name(), VOTE.name()),
        )
        .await?,
        comments: reads::recent_comments(
            c,
            now - Duration::hours(COMMENT_VOTE_WINDOW_HOURS),
            now,
            MAX_COMMENTS_PER_TICK,
            VOTE.name(),
        )
        .await?,
        human_replies: reads::unanswered_human_replies(
            c,
            now - Duration::hours(RECIPROCITY_WINDOW_HOURS),
            now,
            MAX_REPLIES_PER_TICK,
            REPLY.name(),
        )
        .await?,
        boards: reads::boards(c).await?,
    };
    let settings = PlanSettings {
        limits: engine.settings.limits,
        delays: engine.settings.delays.clone(),
        images: engine.model.makes_images(),
    };
    let seed = seed_for(now) ^ event_id.map(seed_for_text).unwrap_or(0) ^ engine.settings.rng_salt;
    let tasks = plan(&input, &settings, seed);
    let enqueued = engine.queue.enqueue(c, &tasks).await?;
    let report = PlanReport {
        enqueued: enqueued.inserted.len(),
        skipped: enqueued.skipped,
        rescued: rescued.requeued.len() + rescued.failed.len(),
        by_type: enqueued.by_type,
        duplicate_event: false,
    };
    if let Some(id) = event_id {
        reads::finish_tick(c, id, &serde_json::to_value(&report).unwrap_or_default()).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(enqueued = report.enqueued, skipped = report.skipped, rescued = report.rescued, by_type = ?report.by_type, "tick planned");
    Ok(report)
}

fn seed_for_text(text: &str) -> u64 {
    stable::hash(&[text.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_wanted_engagement_falls_with_age() {
        assert_eq!(wanted_engagement(Duration::zero()), (3, 6));
        assert_eq!(wanted_engagement(Duration::hours(12)), (1, 2));
        assert_eq!(wanted_engagement(Duration::hours(30)), (0, 0));
        let mut last = (usize::MAX, usize::MAX);
        for h in 0..48 {
            let w = wanted_engagement(Duration::hours(h));
            assert!(w.0 <= last.0 && w.1 <= last.1);
            last = w;
        }
    }

    #[test]
    fn delays_stay_in_range_and_lean_short() {
        let range = DelayRange { min: std::time::Duration::from_secs(60), max: std::time::Duration::from_secs(1800) };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let delays: Vec<i64> = (0..2000).map(|_| human_delay(range, &mut rng).num_seconds()).collect();
        assert!(delays.iter().all(|d| (60..=1800).contains(d)));
        let short = delays.iter().filter(|d| **d < 930).count();
        assert!(short > 1200, "{short} of 2000 below the midpoint");
    }

    #[test]
    fn a_time_while_asleep_moves_to_the_next_waking_hours() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // 03:00 in Madrid (02:00 UTC) for someone awake 08–23 → after 08:00 local (07:00 UTC).
        let at = Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap();
        let moved = into_active_hours("Europe/Madrid", 8, 23, at, &mut rng);
        assert!(
            moved >= Utc.with_ymd_and_hms(2026, 11, 2, 7, 0, 0).unwrap()
                && moved < Utc.with_ymd_and_hms(2026, 11, 2, 7, 45, 0).unwrap(),
            "{moved}"
        );
        let awake = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
        assert_eq!(into_active_hours("Europe/Madrid", 8, 23, awake, &mut rng), awake);
    }
}
