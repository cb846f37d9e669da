//! The five things a persona can do, one module each behind the [`Action`] trait, and the one pipeline
//! that runs any of them:
//!
//! persona (inactive or deleted → SKIPPED) → context (target gone → SKIPPED) → memory (done before →
//! SKIPPED) → per-persona limits (over → rescheduled) → prompt → model → parse → publish gate →
//! one transaction: content row + memory row + task DONE (+ tokens, decisions, follow-ups).

pub mod comment;
pub mod conversation;
mod gate;
pub mod image_post;
pub mod post;
pub mod reply;
pub mod vote;

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::ai::compose::{self, ComposeError};
use crate::ai::parse::{Draft, ParseError};
use crate::ai::{Disposition, ModelError, Usage};
use crate::context::{BoardView, PostContext, ThreadContext};
use crate::db::content::{self, CommentRecord, PostRecord};
use crate::db::memory::{self, MemoryTarget};
use crate::db::personas::{self, Activity};
use crate::db::tasks::Outcome;
use crate::db::{self as database, DbError};
use crate::engine::Engine;
use crate::media::MediaError;
use crate::media::storage::{StorageError, StoredObject};
use crate::persona::selector::Limits;
use crate::persona::{History, Persona};
use crate::prompt::{self, Budget, PromptInput, Situation};
use crate::queue::{Failure, QueueError, Task, TaskStatus, TaskType};

/// Bounds of what the loaders read.
pub mod bounds {
    /// Top-level comments shown with a post.
    pub const POST_COMMENTS: i64 = 20;
    /// Ancestors shown above a comment.
    pub const ANCESTORS: i32 = 12;
    /// Siblings shown beside a comment.
    pub const SIBLINGS: i64 = 8;
    /// Replies shown below a comment.
    pub const REPLIES: i64 = 8;
    /// Recent titles shown with a board.
    pub const BOARD_TITLES: i64 = 10;
    /// The persona's own recent texts (examples and duplicate check).
    pub const HISTORY: i64 = 6;
}

/// What the persona looks at.
#[derive(Debug, Clone)]
pub enum Scene {
    /// A board, for an original post.
    Board(BoardView),
    /// A post, for a comment or a vote on it.
    Post(PostContext),
    /// A thread, for a reply or a vote on a comment.
    Thread(ThreadContext),
}

impl Scene {
    /// The texts a new draft must not repeat.
    fn corpus(&self) -> Vec<String> {
        match self {
            Self::Board(b) => b.recent_titles.clone(),
            Self::Post(p) => {
                std::iter::once(p.post.body.clone()).chain(p.comments.iter().map(|c| c.body.clone())).collect()
            }
            Self::Thread(t) => std::iter::once(&t.target)
                .chain(&t.ancestors)
                .chain(&t.siblings)
                .chain(&t.replies)
                .map(|c| c.body.clone())
                .collect(),
        }
    }

    /// The handles a draft may mention: the people in the scene.
    fn names(&self) -> HashSet<String> {
        match self {
            Self::Board(_) => HashSet::new(),
            Self::Post(p) => {
                std::iter::once(p.post.author.display()).chain(p.comments.iter().map(|c| c.author.display())).collect()
            }
            Self::Thread(t) => std::iter::once(t.post.author.display())
                .chain(
                    std::iter::once(&t.target)
                        .chain(&t.ancestors)
                        .chain(&t.siblings)
                        .chain(&t.replies)
                        .map(|c| c.author.display()),
                )
                .collect(),
        }
    }
}

/// What an action prepared: the scene and the memory that marks it done.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the persona looks at.
    pub scene: Scene,
    /// Where the memory goes.
    pub memory_target: MemoryTarget,
    /// `commented`, `posted`, `voted` or `replied`.
    pub memory_action: &'static str,
}

impl Prepared {
    fn situation(&self, kind: TaskType) -> Situation<'_> {
        match (&self.scene, kind) {
            (Scene::Board(b), TaskType::ImagePost) => Situation::NewImagePost(b),
            (Scene::Board(b), _) => Situation::NewPost(b),
            (Scene::Post(p), TaskType::Vote) => Situation::VoteOnPost(p),
            (Scene::Post(p), _) => Situation::Comment(p),
            (Scene::Thread(t), TaskType::Vote) => Situation::VoteOnComment(t),
            (Scene::Thread(t), _) => Situation::Reply(t),
        }
    }
}

/// A stored image attached to what is published.
#[derive(Debug, Clone, Serialize)]
pub struct StoredImage {
    /// Where it is.
    pub object: StoredObject,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// MIME type.
    pub mime_type: &'static str,
    /// Size.
    pub bytes: usize,
}

/// What gets published.
#[derive(Debug, Clone)]
pub struct Content {
    /// The accepted draft.
    pub draft: Draft,
    /// The image, for image posts.
    pub image: Option<StoredImage>,
}

/// What a publish wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Published {
    /// The created row (none for a vote of "none").
    pub result_id: Option<Uuid>,
    /// `post`, `comment` or `vote`.
    pub result_type: Option<&'static str>,
}

/// Why an action did not publish, classified for the queue.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Not applicable any more: SKIPPED with the reason.
    #[error("{0}")]
    Skip(String),
    /// Over a limit: rescheduled without using a retry.
    #[error("{reason}")]
    Reschedule {
        /// When to try again.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
    /// A task type this build does not know: FAILED.
    #[error("unknown task type {0:?} (this build knows comment, post, reply, vote, image_post)")]
    UnknownType(String),
    /// The task row lacks what its type needs: FAILED.
    #[error("{0}")]
    Invalid(String),
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model's answer was unusable twice.
    #[error("the model's answer was unusable twice: {0}")]
    Unusable(ParseError),
    /// The image could not be processed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The image could not be stored.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The queue refused (the claim is gone).
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<tokio_postgres::Error> for ActionError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for ActionError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Db(e.into())
    }
}

/// What the queue does with a task after an [`ActionError`].
enum Next {
    Skip(String),
    Reschedule(DateTime<Utc>, String),
    Fail(Failure),
    /// The claim is gone: someone else owns the task now; leave it alone.
    Abandon,
}

impl ActionError {
    fn next(&self, now: DateTime<Utc>) -> Next {
        match self {
            Self::Skip(reason) => Next::Skip(reason.clone()),
            Self::Reschedule { at, reason } => Next::Reschedule(*at, reason.clone()),
            Self::UnknownType(_) | Self::Invalid(_) => Next::Fail(Failure::Permanent(self.to_string())),
            Self::Model(e) => match e.disposition() {
                Disposition::Reschedule { after } => {
                    Next::Reschedule(now + Duration::from_std(after).unwrap_or(Duration::minutes(1)), e.to_string())
                }
                Disposition::Retry => Next::Fail(Failure::Retryable(e.to_string())),
                Disposition::Fail => Next::Fail(Failure::Permanent(e.to_string())),
                Disposition::Skip => Next::Skip(e.to_string()),
            },
            Self::Unusable(_) => Next::Fail(Failure::Retryable(self.to_string())),
            Self::Media(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Media(e) => Next::Fail(Failure::Permanent(e.to_string())),
            Self::Storage(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Storage(e) => Next::Fail(Failure::Permanent(e.to_string())),
            Self::Db(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Db(e) => Next::Fail(Failure::Permanent(e.to_string())),
            Self::Queue(QueueError::LostClaim(_)) => Next::Abandon,
            Self::Queue(e) if e.is_retryable() => Next::Fail(Failure::Retryable(e.to_string())),
            Self::Queue(e) => Next::Fail(Failure::Permanent(e.to_string())),
        }
    }
}

/// One action type.
#[async_trait]
pub trait Action: Send + Sync {
    /// The task type it runs.
    fn kind(&self) -> TaskType;

    /// Loads what the persona looks at, or says why the task no longer applies.
    async fn observe(
        &self,
        db: &tokio_postgres::Client,
        task: &Task,
        persona: &Persona,
    ) -> Result<Prepared, ActionError>;

    /// Turns the accepted draft into what is published (the image post makes its image here).
    async fn render(
        &self,
        _engine: &Engine,
        _task: &Task,
        _persona: &Persona,
        draft: Draft,
        _usage: &mut Usage,
    ) -> Result<Content, ActionError> {
        Ok(Content { draft, image: None })
    }

    /// Writes the content row and the memory row inside `tx`.
    async fn publish(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &Task,
        persona: &Persona,
        prepared: &Prepared,
        content: &Content,
        now: DateTime<Utc>,
    ) -> Result<Published, ActionError>;
}

/// The action for a stored task type.
pub fn action_for(task_type: &str) -> Option<&'static dyn Action> {
    Some(match TaskType::parse(task_type)? {
        TaskType::Comment => &comment::CommentAction,
        TaskType::Post => &post::PostAction,
        TaskType::Reply => &reply::ReplyAction,
        TaskType::Vote => &vote::VoteAction,
        TaskType::ImagePost => &image_post::ImagePostAction,
    })
}

/// What became of a task run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// DONE: its effect is committed.
    Published,
    /// SKIPPED: not applicable.
    Skipped,
    /// PENDING again without using a retry (a rate limit).
    Rescheduled,
    /// PENDING again after a retryable failure (a retry used).
    Retrying,
    /// FAILED for good.
    Failed,
    /// The claim was lost (the lease expired and the task was rescued, or it was cancelled or deleted).
    Abandoned,
    /// The outcome could not be written; the lease will free the task.
    Unrecorded,
}

/// How a task run ended.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskReport {
    /// The task.
    pub task_id: Uuid,
    /// Its type.
    pub task_type: String,
    /// Its persona.
    pub persona_id: Uuid,
    /// Where it ended up (RUNNING if even recording the outcome failed: the lease will free it).
    pub status: TaskStatus,
    /// What became of it.
    pub outcome: RunOutcome,
    /// What was published.
    pub published: Option<Published>,
    /// Why it was skipped, rescheduled or failed.
    pub reason: Option<String>,
    /// When it runs again (rescheduled or retried).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Tokens used.
    pub usage: Usage,
}

/// Runs a claimed task to its end and records the outcome on it. Never returns an error: every failure
/// becomes the task's state (and when even that cannot be written, the lease frees it later).
pub async fn run_task(engine: &Engine, task: &Task) -> TaskReport {
    let mut decisions: Vec<serde_json::Value> = Vec::new();
    let mut usage = Usage::default();
    let result = attempt(engine, task, &mut decisions, &mut usage).await;
    let mut report = TaskReport {
        task_id: task.id,
        task_type: task.task_type.clone(),
        persona_id: task.persona_id,
        status: TaskStatus::Running,
        outcome: RunOutcome::Unrecorded,
        published: None,
        reason: None,
        next_attempt_at: None,
        usage,
    };
    let error = match result {
        Ok(published) => {
            report.status = TaskStatus::Done;
            report.outcome = RunOutcome::Published;
            report.published = Some(published);
            tracing::info!(task_id = %task.id, task_type = %task.task_type, result_id = ?published.result_id, "published");
            return report;
        }
        Err(e) => e,
    };
    let now = engine.clock.now();
    let next = error.next(now);
    let verdict = match &next {
        Next::Skip(_) => "skipped",
        Next::Reschedule(..) => "rescheduled",
        Next::Fail(Failure::Retryable(_)) => "retry",
        Next::Fail(Failure::Permanent(_)) => "failed",
        Next::Abandon => "abandoned",
    };
    decisions.push(json!({ "at": now, "stage": "outcome", "verdict": verdict, "reason": error.to_string() }));
    let decisions = serde_json::Value::Array(decisions);
    let outcome = Outcome {
        prompt_tokens: tokens(usage.prompt_tokens),
        completion_tokens: tokens(usage.completion_tokens()),
        decisions: Some(&decisions),
        ..Outcome::default()
    };
    report.reason = Some(error.to_string());
    // A lost connection (the database restarting, say) usually heals within seconds: try a few times
    // before leaving the task to its lease, so its record says what happened.
    let mut tries = 0;
    let recorded = loop {
        match record_outcome(engine, task, &next, &outcome, &mut report).await {
            Err(QueueError::Db(e)) if e.is_retryable() && tries < RECORD_ATTEMPTS => {
                tries += 1;
                tracing::warn!(task_id = %task.id, error = %e, "recording the task's outcome failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(250 << tries)).await;
            }
            other => break other,
        }
    };
    match recorded {
        Ok(()) => tracing::info!(task_id = %task.id, status = %report.status, reason = %error, "task not published"),
        Err(QueueError::LostClaim(_)) => {
            tracing::warn!(task_id = %task.id, "the task was taken from this worker (lease expired or cancelled)")
        }
        Err(e) => {
            tracing::error!(task_id = %task.id, error = %e, cause = %error, "could not record the task's outcome; the lease will free it")
        }
    }
    report
}

/// How many times a failed recording of a task's outcome is retried (after 0.5, 1, 2 and 4 s).
const RECORD_ATTEMPTS: u32 = 4;

/// Writes what becomes of a task that did not publish, into `report` as well.
async fn record_outcome(
    engine: &Engine,
    task: &Task,
    next: &Next,
    outcome: &Outcome<'_>,
    report: &mut TaskReport,
) -> Result<(), QueueError> {
    let client = engine.pool.get().await.map_err(DbError::from)?;
    let queue = &engine.queue;
    match next {
        Next::Skip(reason) => {
            queue.skip(&**client, task, reason, outcome).await?;
            report.status = TaskStatus::Skipped;
            report.outcome = RunOutcome::Skipped;
        }
        Next::Reschedule(at, reason) => {
            let at = queue.reschedule(&**client, task, *at, reason, outcome).await?;
            report.status = TaskStatus::Pending;
            report.outcome = RunOutcome::Rescheduled;
            report.next_attempt_at = Some(at);
        }
        Next::Fail(failure) => {
            let result = queue.fail(&**client, task, failure, outcome).await?;
            report.status = result.status;
            report.outcome =
                if result.status == TaskStatus::Pending { RunOutcome::Retrying } else { RunOutcome::Failed };
            report.next_attempt_at = result.next_attempt_at;
        }
        Next::Abandon => report.outcome = RunOutcome::Abandoned,
    }
    Ok(())
}

fn tokens(n: u32) -> Option<i32> {
    (n > 0).then(|| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Whether the persona's limits allow `kind` at `now`; when not, when they will.
pub fn limit_check(
    activity: &Activity,
    kind: TaskType,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<(), (DateTime<Utc>, String)> {
    // A minute past the moment the oldest counted action leaves the window.
    let slack = Duration::minutes(1);
    if activity.actions_last_hour >= i64::from(limits.actions_per_hour) {
        let at = activity.oldest_action_last_hour.map(|t| t + Duration::hours(1)).unwrap_or(now + Duration::hours(1))
            + slack;
        return Err((at, format!("persona reached PERSONA_MAX_ACTIONS_PER_HOUR ({})", limits.actions_per_hour)));
    }
    if matches!(kind, TaskType::Post | TaskType::ImagePost)
        && activity.posts_last_day >= i64::from(limits.posts_per_day)
    {
        let at =
            activity.oldest_post_last_day.map(|t| t + Duration::days(1)).unwrap_or(now + Duration::days(1)) + slack;
        return Err((at, format!("persona reached PERSONA_MAX_POSTS_PER_DAY ({})", limits.posts_per_day)));
    }
    Ok(())
}

async fn attempt(
    engine: &Engine,
    task: &Task,
    decisions: &mut Vec<serde_json::Value>,
    usage: &mut Usage,
) -> Result<Published, ActionError> {
    let action = action_for(&task.task_type).ok_or_else(|| ActionError::UnknownType(task.task_type.clone()))?;
    let kind = action.kind();
    let (persona, prepared, history, instructions) = {
        let db = engine.pool.get().await?;
        let persona = personas::find(&**db, task.persona_id)
            .await?
            .ok_or_else(|| ActionError::Skip("persona was deleted".into()))?;
        if !persona.is_active {
            return Err(ActionError::Skip("persona is paused".into()));
        }
        let prepared = action.observe(&db, task, &persona).await?;
        if memory::has(&**db, persona.id, prepared.memory_target, prepared.memory_action).await? {
            return Err(ActionError::Skip(format!("persona already {} on this target", prepared.memory_action)));
        }
        // A cheap early look at the conversation limits, before paying for a model call; the
        // authoritative check comes under the thread's lock in the publishing transaction.
        if let Some(spot) = conversation::reply_spot(&prepared) {
            conversation::check_limits(&**db, &engine.settings.conversation, &spot).await?;
        }
        let now = engine.clock.now();
        let activity = personas::activity(&**db, persona.id, now).await?;
        if let Err((at, reason)) = limit_check(&activity, kind, &engine.settings.limits, now) {
            return Err(ActionError::Reschedule { at, reason });
        }
        let history = History { recent_texts: personas::recent_texts(&**db, persona.id, bounds::HISTORY).await? };
        let instructions = operator_instructions(&**db, task, now, decisions).await?;
        (persona, prepared, history, instructions)
    }; // the connection goes back to the pool for the slow model call

    let prompt = prompt::build(
        &PromptInput {
            persona: &persona,
            history: &history,
            situation: prepared.situation(kind),
            operator_note: instructions.as_deref(),
            seed: seed_of(task.id),
        },
        &Budget::default(),
    );
    let mut corpus = history.recent_texts.clone();
    corpus.extend(prepared.scene.corpus());
    let gate = gate::PublishGate::new(engine, corpus, prepared.scene.names());
    let composed = match compose::compose(&engine.model, kind, &prompt, &persona, &gate).await {
        Ok(composed) => composed,
        Err(failure) => {
            *usage = usage.plus(failure.usage);
            record_notes(engine, decisions, &failure.notes);
            return Err(match failure.error {
                ComposeError::Model(e) => ActionError::Model(e),
                ComposeError::Unusable(e) => ActionError::Unusable(e),
                ComposeError::Rejected(reason) => ActionError::Skip(format!("rejected by the publish gate: {reason}")),
            });
        }
    };
    *usage = usage.plus(composed.usage);
    record_notes(engine, decisions, &composed.notes);
    let content = action.render(engine, task, &persona, composed.draft, usage).await?;

    let mut db = engine.pool.get().await?;
    let tx = database::begin(&mut db).await?;
    let now = engine.clock.now();
    if let Some(spot) = conversation::reply_spot(&prepared) {
        content::lock_thread(&tx, spot.root).await?;
        conversation::check_limits(&tx, &engine.settings.conversation, &spot).await?;
    }
    let published = action.publish(&tx, task, &persona, &prepared, &content, now).await?;
    decisions
        .push(json!({ "at": now, "stage": "publish", "verdict": "published", "result_type": published.result_type }));
    let follow_ups = conversation::follow_ups(&tx, engine, &persona, &prepared, &content, &published, now).await?;
    if !follow_ups.is_empty() {
        engine.queue.enqueue(&tx, &follow_ups).await?;
        for f in &follow_ups {
            decisions.push(json!({ "at": now, "stage": "conversation", "verdict": "follow_up", "persona_id": f.persona_id, "due": f.scheduled_at }));
        }
    }
    let decisions_json = serde_json::Value::Array(std::mem::take(decisions));
    engine
        .queue
        .complete(
            &tx,
            task,
            &Outcome {
                result_id: published.result_id,
                result_type: published.result_type,
                prompt_tokens: tokens(usage.prompt_tokens),
                completion_tokens: tokens(usage.completion_tokens()),
                decisions: Some(&decisions_json),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(published)
}

/// The operator's instructions for the task: only what the admin API or the CLI recorded for it. A
/// payload that carries instructions of its own (written into the table by anyone else) is not obeyed,
/// and the task's decisions say so.
async fn operator_instructions(
    db: &impl database::GenericClient,
    task: &Task,
    now: DateTime<Utc>,
    decisions: &mut Vec<serde_json::Value>,
) -> Result<Option<String>, ActionError> {
    let issued = database::tasks::instructions_for(db, task.id).await?;
    let claimed = task.payload.get("instructions").and_then(|v| v.as_str()).is_some_and(|t| !t.trim().is_empty());
    if issued.is_none() && claimed {
        decisions.push(json!({
            "at": now, "stage": "provenance", "verdict": "ignored",
            "reason": "payload.instructions were not issued through the admin API or the CLI; the task runs without them"
        }));
    }
    Ok(issued)
}

fn record_notes(engine: &Engine, decisions: &mut Vec<serde_json::Value>, notes: &[String]) {
    let now = engine.clock.now();
    for note in notes {
        decisions.push(json!({ "at": now, "stage": "gate", "verdict": "regenerate", "reason": note }));
    }
}

/// The id of what a task publishes, derived from the task: a retry (whose earlier attempt rolled back)
/// reuses it, and a simulation replays exactly.
pub fn content_id(task: &Task, what: &str) -> Uuid {
    Uuid::new_v5(&task.id, what.as_bytes())
}

/// A stable seed from the task id (the offline writer's choices, the image's).
fn seed_of(id: Uuid) -> u64 {
    let (hi, lo) = id.as_u64_pair();
    hi ^ lo
}

/// Loads a post the persona is about to act on, or why it cannot.
async fn live_post(db: &tokio_postgres::Client, post_id: Uuid) -> Result<PostRecord, ActionError> {
    let post = content::find_post(db, post_id).await?.ok_or_else(|| ActionError::Skip("post was deleted".into()))?;
    if !post.status.eq_ignore_ascii_case("PUBLISHED") {
        return Err(ActionError::Skip(format!("post is not published (status {})", post.status)));
    }
    if post.locked {
        return Err(ActionError::Skip("post is locked".into()));
    }
    Ok(post)
}

/// Loads a comment the persona is about to act on (and its post), or why it cannot.
async fn live_comment(
    db: &tokio_postgres::Client,
    comment_id: Uuid,
) -> Result<(CommentRecord, PostRecord), ActionError> {
    let comment =
        content::find_comment(db, comment_id).await?.ok_or_else(|| ActionError::Skip("comment was deleted".into()))?;
    if comment.deleted_at.is_some() {
        return Err(ActionError::Skip("comment was deleted".into()));
    }
    let post = live_post(db, comment.post_id).await?;
    Ok((comment, post))
}

/// The post, with its newest top-level comments.
async fn post_scene(db: &tokio_postgres::Client, post: PostRecord) -> Result<PostContext, ActionError> {
    let (comments, comment_count) = content::top_level_comments(db, post.view.id, bounds::POST_COMMENTS).await?;
    Ok(PostContext { post: post.view, comments, comment_count })
}

/// The thread around a comment: ancestors, siblings and replies, each bounded.
async fn thread_scene(
    db: &tokio_postgres::Client,
    comment: CommentRecord,
    post: PostRecord,
) -> Result<ThreadContext, ActionError> {
    let target = comment.view;
    let ancestors = content::ancestors(db, target.id, bounds::ANCESTORS).await?;
    let siblings = content::replies_to(db, post.view.id, target.parent_id, Some(target.id), bounds::SIBLINGS).await?;
    let replies = content::replies_to(db, post.view.id, Some(target.id), None, bounds::REPLIES).await?;
    Ok(ThreadContext { post: post.view, ancestors, target, siblings, replies })
}

/// Records the memory that marks the action done; a conflict means another run already did it.
async fn remember(
    tx: &tokio_postgres::Transaction<'_>,
    task: &Task,
    prepared: &Prepared,
    now: DateTime<Utc>,
) -> Result<(), ActionError> {
    if memory::record(tx, task.persona_id, prepared.memory_target, prepared.memory_action, task.id, now).await? {
        Ok(())
    } else {
        Err(ActionError::Skip(format!("persona already {} on this target", prepared.memory_action)))
    }
}
