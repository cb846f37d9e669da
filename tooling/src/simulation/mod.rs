//! Platform life on a simulated clock: every tick the planner runs, the worker drains what is due, and
//! simulated humans post now and then and answer some of the personas' comments. The demo and the
//! simulator both run on this; with the offline writer a day takes seconds.

use chrono::{DateTime, Duration, Utc};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use uuid::Uuid;

use crate::demo_world::Human;
use crate::display::{self, Created};
use crate::seed::{self, CommentRow, PostRow};
use shared::clock::{Clock, ManualClock};
use shared::db::DbError;
use shared::db::sessions;
use shared::engine::Engine;
use shared::kinds::offline::Writer;
use shared::planner::{self, PlanError};
use shared::voice::{Length, Stance};
use shared::worker::{self, Budget};

/// How the simulated humans behave.
#[derive(Debug, Clone, Copy)]
pub struct HumanBehaviour {
    /// New human posts per hour, across the platform.
    pub posts_per_hour: f64,
    /// The chance that a persona's comment gets a human reply.
    pub reply_probability: f64,
    /// How long a human takes to reply, in minutes.
    pub reply_delay_minutes: (i64, i64),
    /// Of the replies, the share that sincerely ask the persona whether it is an AI.
    pub asks_if_ai: f64,
}

impl Default for HumanBehaviour {
    fn default() -> Self {
        Self { posts_per_hour: 0.4, reply_probability: 0.25, reply_delay_minutes: (5, 120), asks_if_ai: 0.05 }
    }
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Simulated hours.
    pub hours: u32,
    /// Time between ticks (the schedule's two minutes).
    pub tick: Duration,
    /// The humans (none: personas only).
    pub humans: Vec<Human>,
    /// Their behaviour.
    pub behaviour: HumanBehaviour,
    /// Seeds the humans' choices.
    pub seed: u64,
}

/// One simulated hour.
#[derive(Debug, Clone, Serialize)]
pub struct HourSummary {
    /// Hours since the start (1 for the first).
    pub hour: u32,
    /// When it ended.
    pub at: DateTime<Utc>,
    /// What was created in it.
    pub created: Created,
    /// Tasks run in it.
    pub tasks_run: usize,
}

/// What a simulation did.
#[derive(Debug, Clone, Serialize)]
pub struct SimOutcome {
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// Hour by hour.
    pub hours: Vec<HourSummary>,
    /// Human replies written to persona comments.
    pub human_replies: usize,
    /// Human posts written.
    pub human_posts: usize,
    /// People's replies that sincerely asked a persona whether it is an AI (their ids).
    pub asked_if_ai: Vec<Uuid>,
}

impl From<deadpool_postgres::PoolError> for SimError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Db(e.into())
    }
}

/// Why a simulation stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A tick failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

enum HumanAction {
    Reply { id: Uuid, human: Uuid, post: Uuid, parent: Uuid, depth: i32, body: String, asks_if_ai: bool },
    Post { id: Uuid, human: Uuid, board: Uuid, title: String, body: String, tags: Vec<String> },
}

/// The tags a person gives their post, when they give any (most do, as on a platform that asks): one
/// or two of the board's topics and what the title is about.
fn human_tags(rng: &mut ChaCha8Rng, title: &str, topics: &[String]) -> Vec<String> {
    if rng.random::<f64>() < 0.3 {
        return Vec::new();
    }
    let mut raw: Vec<String> = topics.choose_multiple(rng, 2).cloned().collect();
    raw.extend(shared::trends::longest_words(title, 5, 1).into_iter().map(str::to_owned));
    let tags = shared::trends::clean(raw.iter().map(String::as_str)).tags;
    if tags.len() >= shared::trends::MIN_TAGS { tags } else { Vec::new() }
}

/// What a simulated person writes back to a persona: mostly short, often a question or thanks, in the
/// offline writer's words about what the persona said.
fn human_reply(rng: &mut ChaCha8Rng, human: Uuid, answering: &str) -> String {
    let stance = *[Stance::Agree, Stance::Question, Stance::Question, Stance::Disagree, Stance::Story, Stance::Joke]
        .choose(rng)
        .unwrap_or(&Stance::Agree);
    let length = if rng.random::<f64>() < 0.6 { Length::OneLiner } else { Length::Short };
    Writer::for_person(human, &[answering], &[], rng.random()).text(length, stance)
}

/// What a simulated person asks when they sincerely want to know whether a persona is an AI.
const ASKING_IF_AI: &[&str] = &[
    "Wait, are you a bot?",
    "Honest question, are you an AI?",
    "Am I talking to a real person here?",
    "Is this account run by a bot? Not trying to be rude, I just want to know.",
    "are you actually a person or an AI",
];

/// A simulated person's post on a board about `topics`: a question, as people's posts mostly are.
fn human_post(rng: &mut ChaCha8Rng, human: Uuid, topics: &[String]) -> (String, String) {
    let about: Vec<&str> = topics.iter().map(String::as_str).collect();
    Writer::for_person(human, &about, topics, rng.random()).post(rng.random())
}

/// Runs `config.hours` of platform life from the engine's clock (which must be `clock`), reporting each
/// hour to `on_hour`.
pub async fn run(
    engine: &Engine,
    clock: &ManualClock,
    config: &SimConfig,
    mut on_hour: impl FnMut(&HourSummary),
) -> Result<SimOutcome, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let started = clock.now();
    let end = started + Duration::hours(i64::from(config.hours));
    let boards: Vec<(uuid::Uuid, Vec<String>)> =
        sessions::boards(&**engine.pool.get().await?).await?.into_iter().map(|b| (b.id, b.topics)).collect();
    let mut scheduled: Vec<(DateTime<Utc>, HumanAction)> = Vec::new();
    let mut outcome = SimOutcome {
        started,
        ended: end,
        hours: Vec::new(),
        human_replies: 0,
        human_posts: 0,
        asked_if_ai: Vec::new(),
    };
    let mut hour_start = started;
    let mut tasks_this_hour = 0;
    let mut last_tick = started;

    while clock.now() < end {
        let now = clock.now();
        // Humans act first: what is due now.
        scheduled.sort_by_key(|(at, _)| *at);
        let due: Vec<HumanAction> = {
            let split = scheduled.iter().position(|(at, _)| *at > now).unwrap_or(scheduled.len());
            scheduled.drain(..split).map(|(_, a)| a).collect()
        };
        if !due.is_empty() {
            let c = engine.pool.get().await?;
            for action in due {
                match action {
                    HumanAction::Reply { id, human, post, parent, depth, body, asks_if_ai } => {
                        let row = CommentRow {
                            id,
                            post_id: post,
                            parent_id: Some(parent),
                            depth: depth + 1,
                            body,
                            author_id: Some(human),
                            persona_id: None,
                            created_at: now,
                        };
                        // The parent may have been deleted meanwhile; a failed insert is a reply not written.
                        if seed::insert_comments(&**c, std::slice::from_ref(&row)).await.is_ok() {
                            outcome.human_replies += 1;
                            if asks_if_ai {
                                outcome.asked_if_ai.push(id);
                            }
                        }
                    }
                    HumanAction::Post { id, human, board, title, body, tags } => {
                        let row = PostRow {
                            id,
                            board_id: board,
                            author_id: Some(human),
                            persona_id: None,
                            title,
                            body,
                            created_at: now,
                        };
                        seed::insert_posts(&**c, std::slice::from_ref(&row)).await?;
                        shared::db::trends::insert_tags(&**c, id, &tags).await?;
                        outcome.human_posts += 1;
                    }
                }
            }
        }

        planner::tick(engine, None).await?;
        let report = worker::drain(engine, usize::MAX / 2, Budget::Unbounded).await;
        tasks_this_hour += report.processed;

        // Humans notice what personas wrote since the last tick and sometimes answer.
        if !config.humans.is_empty() {
            let new_comments = display::persona_comments_between(
                &**engine.pool.get().await?,
                last_tick - Duration::seconds(1),
                now,
                500,
            )
            .await?;
            for comment in new_comments {
                if rng.random::<f64>() < config.behaviour.reply_probability {
                    let human = config.humans.choose(&mut rng).map(|h| h.id).unwrap_or_default();
                    let (lo, hi) = config.behaviour.reply_delay_minutes;
                    let at = now + Duration::minutes(rng.random_range(lo..=hi.max(lo)));
                    let asks_if_ai = rng.random::<f64>() < config.behaviour.asks_if_ai;
                    let body = match ASKING_IF_AI.choose(&mut rng) {
                        Some(question) if asks_if_ai => (*question).to_owned(),
                        _ => human_reply(&mut rng, human, &comment.body),
                    };
                    // Ids come from the seed too: what people write decides what personas do next.
                    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
                    scheduled.push((
                        at,
                        HumanAction::Reply {
                            id,
                            human,
                            post: comment.post_id,
                            parent: comment.id,
                            depth: comment.depth,
                            body,
                            asks_if_ai,
                        },
                    ));
                }
            }
            let tick_hours = config.tick.num_seconds() as f64 / 3600.0;
            if !boards.is_empty() && rng.random::<f64>() < config.behaviour.posts_per_hour * tick_hours {
                let (board, topics) = boards.choose(&mut rng).cloned().unwrap_or_default();
                let human = config.humans.choose(&mut rng).map(|h| h.id).unwrap_or_default();
                let (title, body) = human_post(&mut rng, human, &topics);
                let tags = human_tags(&mut rng, &title, &topics);
                let at = now + Duration::minutes(rng.random_range(0..config.tick.num_minutes().max(1)));
                let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
                scheduled.push((at, HumanAction::Post { id, human, board, title, body, tags }));
            }
        }
        last_tick = now;
        clock.advance(config.tick);

        if clock.now() >= hour_start + Duration::hours(1) || clock.now() >= end {
            let hour_end = clock.now().min(hour_start + Duration::hours(1));
            let created = display::created_between(&**engine.pool.get().await?, hour_start, hour_end).await?;
            let summary =
                HourSummary { hour: outcome.hours.len() as u32 + 1, at: hour_end, created, tasks_run: tasks_this_hour };
            on_hour(&summary);
            outcome.hours.push(summary);
            hour_start = hour_end;
            tasks_this_hour = 0;
        }
    }
    Ok(outcome)
}

pub mod report;
