//! What an operator asks of the engine directly, shared by the admin API and the CLI: force a task on a
//! target (the selector picks the persona when none is named), optionally with instructions, and run a
//! task now.
//!
//! Instructions are the one way an operator's words reach a prompt, so they are recorded here, in the
//! transaction that enqueues the task, in a table only the engine's role may write; the worker obeys
//! nothing else (a task row's payload, whoever wrote it, is not an instruction).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actions::{self, TaskReport};
use crate::db::tasks::{self, Issuer, Task};
use crate::db::{self as database, DbError, content, personas};
use crate::engine::Engine;
use crate::persona::selector::{Pool, Target};
use crate::queue::{NewTask, QueueError, Target as TaskTarget, TaskType};

/// The longest instructions an operator may give, in characters.
pub const MAX_INSTRUCTIONS_CHARS: usize = 500;

/// What to force.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    /// Who acts; the selector picks when absent.
    pub persona_id: Option<Uuid>,
    /// The post (comment; vote on a post).
    pub post_id: Option<Uuid>,
    /// The comment (reply; vote on a comment).
    pub comment_id: Option<Uuid>,
    /// The board (post, image_post).
    pub board_id: Option<Uuid>,
    /// Extra instructions for the persona (at most 500 characters).
    #[schema(max_length = 500)]
    pub instructions: Option<String>,
}

/// Why an operator's request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// What it names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// Not possible with this configuration.
    #[error("{0}")]
    Unprocessable(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The queue refused.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<deadpool_postgres::PoolError> for OperatorError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self::Db(e.into())
    }
}

impl From<tokio_postgres::Error> for OperatorError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e.into())
    }
}

/// `text` as a person or a model may send it, or why it cannot be stored: PostgreSQL refuses the NUL
/// character in text, so it is refused here by name instead of failing deep in a statement.
pub fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err(nul_in(field));
    }
    Ok(())
}

/// The refusal of a NUL character in `field`.
pub fn nul_in(field: &str) -> String {
    format!("{field} contains a NUL character (\\u0000), which text cannot hold")
}

fn instructions_of(request: &TriggerRequest) -> Result<Option<&str>, OperatorError> {
    let Some(text) = request.instructions.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    check_text("instructions", text).map_err(OperatorError::BadRequest)?;
    if text.chars().count() > MAX_INSTRUCTIONS_CHARS {
        return Err(OperatorError::BadRequest(format!(
            "instructions must be at most {MAX_INSTRUCTIONS_CHARS} characters"
        )));
    }
    Ok(Some(text))
}

fn require(value: Option<Uuid>, field: &str, kind: TaskType) -> Result<Uuid, OperatorError> {
    value.ok_or_else(|| OperatorError::BadRequest(format!("{kind} needs {field}")))
}

fn forbid(value: Option<Uuid>, field: &str, kind: TaskType) -> Result<(), OperatorError> {
    match value {
        Some(_) => Err(OperatorError::BadRequest(format!("{kind} does not take {field}"))),
        None => Ok(()),
    }
}

/// Enqueues `kind` on the request's target, due now: validated target, the named persona or one the
/// selector picks, the instructions recorded with it. Returns the task as enqueued.
pub async fn trigger(
    engine: &Engine,
    kind: TaskType,
    request: &TriggerRequest,
    issuer: Issuer,
) -> Result<Task, OperatorError> {
    let instructions = instructions_of(request)?;
    if kind == TaskType::ImagePost && !engine.model.makes_images() {
        return Err(OperatorError::Unprocessable(format!(
            "image posts need a provider that makes images (LLM_PROVIDER=gemini or offline; this one is {})",
            engine.model.provider_name()
        )));
    }
    let mut client = engine.pool.get().await?;
    let now = engine.clock.now();
    let c = &**client;

    // The target must exist and still take this action.
    let (target, topics, text, author) = match kind {
        TaskType::Comment | TaskType::Vote if request.comment_id.is_none() => {
            let post_id = require(request.post_id, "post_id", kind)?;
            forbid(request.board_id, "board_id", kind)?;
            let post = content::find_post(c, post_id)
                .await?
                .ok_or_else(|| OperatorError::NotFound(format!("post {post_id} not found")))?;
            if !post.status.eq_ignore_ascii_case("PUBLISHED") || post.locked {
                return Err(OperatorError::Conflict(format!(
                    "post {post_id} is {} and takes no new activity",
                    if post.locked { "locked" } else { "not published" }
                )));
            }
            let text = format!("{} {}", post.view.title, post.view.body);
            (
                TaskTarget { post_id: Some(post_id), ..TaskTarget::default() },
                post.board_topics,
                text,
                post.view.author.persona_id(),
            )
        }
        TaskType::Reply | TaskType::Vote => {
            let comment_id = require(request.comment_id, "comment_id", kind)?;
            forbid(request.post_id, "post_id", kind)?;
            forbid(request.board_id, "board_id", kind)?;
            let comment = content::find_comment(c, comment_id)
                .await?
                .ok_or_else(|| OperatorError::NotFound(format!("comment {comment_id} not found")))?;
            if comment.deleted_at.is_some() {
                return Err(OperatorError::Conflict(format!("comment {comment_id} was deleted")));
            }
            let post = content::find_post(c, comment.post_id)
                .await?
                .ok_or_else(|| OperatorError::NotFound("the comment's post is gone".into()))?;
            (
                TaskTarget { comment_id: Some(comment_id), ..TaskTarget::default() },
                post.board_topics,
                comment.view.body,
                comment.view.author.persona_id(),
            )
        }
        TaskType::Comment => {
            return Err(OperatorError::BadRequest("comment does not take comment_id (use reply)".into()));
        }
        TaskType::Post | TaskType::ImagePost => {
            let board_id = require(request.board_id, "board_id", kind)?;
            forbid(request.post_id, "post_id", kind)?;
            forbid(request.comment_id, "comment_id", kind)?;
            let board = content::board(c, board_id, 0)
                .await?
                .ok_or_else(|| OperatorError::NotFound(format!("board {board_id} not found")))?;
            (TaskTarget { board_id: Some(board_id), ..TaskTarget::default() }, board.topics, String::new(), None)
        }
    };

    let persona_id = match request.persona_id {
        Some(id) => {
            let persona = personas::find(c, id)
                .await?
                .ok_or_else(|| OperatorError::NotFound(format!("persona {id} not found")))?;
            if !persona.is_active {
                return Err(OperatorError::Conflict(format!(
                    "persona {} is paused; resume it first",
                    persona.username
                )));
            }
            id
        }
        None => {
            let candidates = personas::candidates(c, now, target.post_id, target.comment_id).await?;
            let pool = Pool::new(&candidates, now);
            let wants_post = matches!(kind, TaskType::Post | TaskType::ImagePost);
            let selector_target = Target::new(&topics, &text, author, wants_post);
            // Whoever already has this very task queued is not a choice: picking them would only
            // answer "already exists" to an operator who named no one.
            let busy: Vec<Uuid> =
                tasks::live_for_target(c, kind.as_str(), target.post_id, target.comment_id, target.board_id)
                    .await?
                    .iter()
                    .map(|t| t.persona_id)
                    .collect();
            let mut rng = ChaCha8Rng::from_os_rng();
            let picked = pool.select(&selector_target, &engine.settings.limits, 1, &mut rng, |id| busy.contains(&id));
            *picked.first().ok_or_else(|| {
                OperatorError::Conflict(
                    "no persona is available for this (all paused, asleep, over their limits, already engaged, \
                     or with this task already queued)"
                        .into(),
                )
            })?
        }
    };

    let new = NewTask {
        id: None,
        persona_id,
        task_type: kind,
        target,
        scheduled_at: now,
        payload: serde_json::json!({ "forced": true }),
    };
    let tx = database::begin(&mut client).await?;
    let enqueued = engine.queue.enqueue(&tx, &[new]).await?;
    let Some(&task_id) = enqueued.inserted.first() else {
        tx.rollback().await?;
        let live = tasks::live_for_target(&**client, kind.as_str(), target.post_id, target.comment_id, target.board_id)
            .await?;
        let existing = live.into_iter().find(|t| t.persona_id == persona_id);
        return Err(OperatorError::Conflict(format!(
            "a pending or running {kind} task for this persona and target already exists{}",
            existing.map(|t| format!(" ({})", t.id)).unwrap_or_default()
        )));
    };
    if let Some(instructions) = instructions {
        tasks::insert_instructions(&tx, task_id, instructions, issuer, now).await?;
    }
    tx.commit().await?;
    Ok(engine.queue.get(&**client, task_id).await?)
}

/// A task run now, and what it published.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunNow {
    /// The task as it ended.
    pub task: Task,
    /// The run.
    pub report: TaskReport,
    /// What was published, if anything.
    #[schema(value_type = Option<Object>)]
    pub published: Option<serde_json::Value>,
}

/// Claims the PENDING task `task_id` whatever its schedule, runs it, and reads back what it published.
pub async fn run_now(engine: &Engine, task_id: Uuid) -> Result<RunNow, OperatorError> {
    let claimed = {
        let client = engine.pool.get().await?;
        engine.queue.claim_by_id(&**client, task_id).await?
    };
    let report = actions::run_task(engine, &claimed).await;
    let client = engine.pool.get().await?;
    let task = engine.queue.get(&**client, task_id).await?;
    let published = match (&task.result_type, task.result_id) {
        (Some(kind), Some(id)) => content::published(&**client, kind, id).await?,
        _ => None,
    };
    Ok(RunNow { task, report, published })
}
