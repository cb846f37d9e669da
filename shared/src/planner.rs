//! What one scheduled tick enqueues:
//!
//! - **sessions**: each active persona without one queued gets its next session (`browse`), when its
//!   own rhythm brings it by (`persona::rhythm`: a chattiness drawn per persona from a heavy-tailed
//!   distribution, its waking hours, weekdays against weekends). The session chooses what the persona
//!   does; the planner does not push engagement at anyone.
//! - **people first**: a person's reply to a persona (or comment on its post) that the persona has not
//!   seen brings its next session forward, to within half the usual reply delay, in its waking hours.
//!   The session shows the reply first and the persona decides whether to answer, like everything else
//!   it does: the planner draws nothing for it.
//!
//! - **trends**: topics ranked by engagement velocity every ten minutes (`db::trends::refresh`), and, with
//!   `TAG_HUMAN_POSTS`, a `tag_posts` task when people's posts wait for tags.
//!
//! The time a reply brings a session to comes from the first half of `DELAY_REPLY_*`, skewed towards
//! the short end like people's and moved into the persona's active hours. The reads are a fixed handful of set-based
//! statements and the writes one `INSERT … SELECT FROM unnest(…)`, however many posts and personas there
//! are. Dedupe is the queue's
//! index's job; a duplicate delivery of the same scheduled event is recognised by its id.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::config::{DelayRange, DelaysConfig};
use crate::db::DbError;
use crate::db::planner::{self as reads, HumanReply, PersonaState};
use crate::engine::Engine;
use crate::kinds::{BROWSE, REPLY, TAG_POSTS};
use crate::persona::rhythm;
use crate::persona::selector::{in_active_hours, local_hour};
use crate::queue::{NewTask, QueueError};
use crate::stable;

/// How far back a person's reply still brings a session forward.
pub const RECIPROCITY_WINDOW_HOURS: i64 = 24;
/// Most people's replies read per tick.
pub const MAX_REPLIES_PER_TICK: i64 = 200;

/// What a tick did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PlanReport {
    /// Tasks inserted.
    pub enqueued: usize,
    /// Tasks planned but already covered by a live task.
    pub skipped: usize,
    /// Queued sessions brought forward because someone answered their persona.
    pub brought_forward: usize,
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
    /// Human replies to personas their persona has not seen.
    pub human_replies: Vec<HumanReply>,
}

/// Planning settings.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// Delay ranges.
    pub delays: DelaysConfig,
}

/// What a tick plans: new tasks, and queued sessions to bring forward (`(task id, due at)`).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Tasks to enqueue.
    pub tasks: Vec<NewTask>,
    /// Sessions due sooner.
    pub forward: Vec<(Uuid, DateTime<Utc>)>,
}

/// When a person's reply brings `persona`'s session: after a delay in the first half of the reply
/// range, drawn from the comment's id (every tick draws the same), in the persona's waking hours, and
/// never before `now`.
pub fn session_for_reply(
    reply: &HumanReply,
    persona: &crate::persona::Persona,
    delays: &DelaysConfig,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut rng = ChaCha8Rng::seed_from_u64(stable::hash(&[reply.comment_id.as_bytes(), b"answer"]));
    let range = DelayRange { min: delays.reply.min, max: (delays.reply.min + delays.reply.max) / 2 };
    let at = reply.created_at + human_delay(range, &mut rng);
    let p = persona;
    into_active_hours(&p.timezone, p.active_hours_start, p.active_hours_end, at, &mut rng).max(now)
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
pub fn plan(input: &PlanInput, settings: &PlanSettings, seed: u64) -> Plan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = input.now;
    let by_id: HashMap<Uuid, &PersonaState> = input.personas.iter().map(|s| (s.candidate.persona.id, s)).collect();
    // People first: when the earliest reply a persona has not seen wants its session.
    let mut wanted: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for reply in &input.human_replies {
        let Some(state) = by_id.get(&reply.persona_id) else { continue };
        let at = session_for_reply(reply, &state.candidate.persona, &settings.delays, now);
        wanted.entry(reply.persona_id).and_modify(|t| *t = (*t).min(at)).or_insert(at);
    }
    let mut plan = Plan::default();
    // Sessions: each persona comes by on its own rhythm, sooner when someone answered it; one queued at
    // a time. A running session has looked already: the next one, planned when it ends, shows the reply.
    for state in &input.personas {
        let p = &state.candidate.persona;
        let wanted_at = wanted.get(&p.id).copied();
        match state.session {
            Some(session) => {
                if let Some(at) = wanted_at.filter(|at| !session.running && session.scheduled_at > *at) {
                    plan.forward.push((session.task_id, at));
                }
            }
            None if p.is_active => {
                let next = rhythm::next_session(p, now, &mut rng);
                let at = wanted_at.map_or(next, |wanted| wanted.min(next));
                let mut task = BROWSE.task(p.id, None, at);
                task.id = Some(uuid::Builder::from_random_bytes(rng.random()).into_uuid());
                plan.tasks.push(task);
            }
            None => {}
        }
    }
    plan
}

/// Reads the world, plans and enqueues one tick. With an `event_id` (the scheduled event's id), a
/// second delivery of the same event does nothing and says so.
///
/// The whole tick is one transaction, the event's record included: a tick that fails leaves nothing
/// behind, not even the record, so the redelivered event plans in full. Two deliveries racing each
/// other serialise on the record's key, and the second finds the first's.
#[tracing::instrument(name = "tick", skip_all, fields(at = %engine.clock.now(), event_id = event_id.unwrap_or("")))]
pub async fn tick(engine: &Engine, event_id: Option<&str>) -> Result<PlanReport, PlanError> {
    let now = engine.clock.now();
    let mut client = engine.pool.get().await.map_err(DbError::from)?;
    let mut tx = crate::db::begin(&mut client).await?;
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
        personas: reads::persona_states(c, now, BROWSE.name()).await?,
        human_replies: reads::unseen_human_replies(
            c,
            now - Duration::hours(RECIPROCITY_WINDOW_HOURS),
            now,
            MAX_REPLIES_PER_TICK,
            REPLY.name(),
        )
        .await?,
    };
    let settings = PlanSettings { delays: engine.settings.delays.clone() };
    let seed = seed_for(now) ^ event_id.map(seed_for_text).unwrap_or(0) ^ engine.settings.rng_salt;
    let Plan { mut tasks, forward } = plan(&input, &settings, seed);
    let brought_forward = engine.queue.bring_forward(c, &forward).await?;
    if engine.config.trends.tag_human_posts {
        let since = now - Duration::hours(crate::kinds::tag_posts::WINDOW_HOURS);
        if let Some(persona) = crate::db::trends::tagger(c, since, now).await? {
            tasks.push(TAG_POSTS.task(persona, None, now));
        }
    }
    let enqueued = engine.queue.enqueue(c, &tasks).await?;
    let report = PlanReport {
        enqueued: enqueued.inserted.len(),
        skipped: enqueued.skipped,
        brought_forward,
        rescued: rescued.requeued.len() + rescued.failed.len(),
        by_type: enqueued.by_type,
        duplicate_event: false,
    };
    // The accounts' labels follow the disclosure setting, in the tick's transaction.
    let disclosure = &engine.config.disclosure;
    let labelled = crate::db::accounts::keep_labels(
        c,
        disclosure.mode.labels_accounts().then_some(disclosure.label.as_str()),
        disclosure.bio_suffix.as_deref().filter(|_| disclosure.mode.labels_accounts()),
        now,
    )
    .await?;
    if labelled != crate::db::accounts::Labelled::default() {
        tracing::info!(labels = labelled.labels, bios = labelled.bios, "persona account labels brought in step");
    }
    if let Some(id) = event_id {
        reads::finish_tick(c, id, &serde_json::to_value(&report).unwrap_or_default()).await?;
    }
    refresh_trends(&mut tx, now, engine.config.trends.persona_weight).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(enqueued = report.enqueued, skipped = report.skipped, brought_forward = report.brought_forward, rescued = report.rescued, by_type = ?report.by_type, "tick planned");
    Ok(report)
}

/// What is trending at the tick's moment, when the last refresh is ten minutes old, behind a savepoint:
/// a platform whose tables the trend query cannot read (a `post_tags` of another shape) loses its
/// trends, not its plan. A failure the database reports as transient still fails the tick, to be retried
/// whole.
async fn refresh_trends(
    tx: &mut tokio_postgres::Transaction<'_>,
    now: DateTime<Utc>,
    persona_weight: f64,
) -> Result<(), PlanError> {
    let savepoint = tx.savepoint("trends").await.map_err(DbError::from)?;
    let refreshed = match crate::db::trends::refresh_due(&savepoint, now).await {
        Ok(true) => crate::db::trends::refresh(&savepoint, now, persona_weight).await,
        Ok(false) => return savepoint.commit().await.map_err(|e| DbError::from(e).into()),
        Err(e) => Err(e),
    };
    match refreshed {
        Ok(moved) => {
            savepoint.commit().await.map_err(DbError::from)?;
            if moved.started + moved.ended > 0 {
                tracing::info!(trending = moved.trending, started = moved.started, ended = moved.ended, "trends moved");
            }
            Ok(())
        }
        Err(e) if e.is_retryable() => Err(e.into()),
        Err(e) => {
            savepoint.rollback().await.map_err(DbError::from)?;
            tracing::warn!(error = %e, "trends not refreshed this tick (persona-engine doctor checks post_tags)");
            Ok(())
        }
    }
}

fn seed_for_text(text: &str) -> u64 {
    stable::hash(&[text.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
