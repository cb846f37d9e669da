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

use crate::ai::Disposition;
use crate::db::tasks::{self, Issuer, Task};
use crate::db::{self as database, DbError, content, personas};
use crate::engine::Engine;
use crate::kinds::target::{self, Gone};
use crate::kinds::{self, ActionError, Kind, TaskReport};
use crate::persona::selector::{Pool, Subject};
use crate::queue::{QueueError, Target};

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
    /// A service we call (the model, storage) failed; `retryable` when trying later may help.
    #[error("{message}")]
    Upstream {
        /// What failed, without secrets.
        message: String,
        /// Whether trying again later may help.
        retryable: bool,
    },
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

/// The one target the request names, as `kind` takes it; `None` for a kind that takes none (a
/// session, a reflection), which then needs the persona named.
fn target_of(kind: Kind, request: &TriggerRequest) -> Result<Option<Target>, OperatorError> {
    let named: Vec<Target> = [
        request.post_id.map(Target::Post),
        request.comment_id.map(Target::Comment),
        request.board_id.map(Target::Board),
    ]
    .into_iter()
    .flatten()
    .collect();
    if kind.target_fields().is_empty() {
        if let Some(t) = named.first() {
            return Err(OperatorError::BadRequest(format!(
                "{kind} takes no post_id, comment_id or board_id (it got {})",
                t.kind().field()
            )));
        }
        if request.persona_id.is_none() {
            return Err(OperatorError::BadRequest(format!("{kind} needs persona_id: it is a persona's own")));
        }
        return Ok(None);
    }
    let fields = kind.target_fields().join(" or ");
    let taken: Vec<Target> = named.iter().copied().filter(|t| kind.takes(t.kind())).collect();
    if taken.is_empty() {
        return Err(OperatorError::BadRequest(format!("{kind} needs {fields}")));
    }
    if let Some(refused) = named.iter().find(|t| !kind.takes(t.kind())) {
        return Err(OperatorError::BadRequest(format!("{kind} does not take {}", refused.kind().field())));
    }
    match taken.as_slice() {
        [one] => Ok(Some(*one)),
        _ => Err(OperatorError::BadRequest(format!("{kind} takes one of {fields}, not several"))),
    }
}

/// Why an operator cannot act on a target that is gone.
fn refusal(target: Target, gone: Gone) -> OperatorError {
    let (what, id) = match target {
        Target::Post(id) => ("post", id),
        Target::Comment(id) => ("comment", id),
        Target::Board(id) => ("board", id),
    };
    match gone {
        Gone::Missing(t) if t == target => OperatorError::NotFound(format!("{what} {id} not found")),
        Gone::Missing(_) => OperatorError::Conflict(format!("{what} {id}: {gone}")),
        Gone::CommentDeleted => OperatorError::Conflict(format!("comment {id} was deleted")),
        Gone::Locked => OperatorError::Conflict(format!("{what} {id}: its post is locked and takes no new activity")),
        Gone::NotPublished(status) => OperatorError::Conflict(format!(
            "{what} {id}: its post is not published (status {status}) and takes no new activity"
        )),
    }
}

/// Who acts on what: the request's target, validated (it must exist and still take activity, the
/// worker's own rule), and the named persona or one the selector picks. A paused persona is refused
/// unless `paused_ok` (a dry run previews a persona before it is resumed).
async fn resolve(
    engine: &Engine,
    kind: Kind,
    request: &TriggerRequest,
    paused_ok: bool,
) -> Result<(Uuid, Option<Target>), OperatorError> {
    let target = target_of(kind, request)?;
    let client = engine.pool.get().await?;
    let now = engine.clock.now();
    let c = &**client;
    let subject = match target {
        Some(target) => Some(target::live(c, target, 0).await?.map_err(|gone| refusal(target, gone))?.subject()),
        None => None,
    };
    let persona_id = match request.persona_id {
        Some(id) => {
            let persona = personas::find(c, id)
                .await?
                .ok_or_else(|| OperatorError::NotFound(format!("persona {id} not found")))?;
            if !persona.is_active && !paused_ok {
                return Err(OperatorError::Conflict(format!(
                    "persona {} is paused; resume it first (or preview it with a dry run)",
                    persona.username
                )));
            }
            id
        }
        None => {
            // Only a kind with a target gets here: `target_of` asks for the persona otherwise.
            let (Some(target), Some((topics, text, author))) = (target, subject) else {
                return Err(OperatorError::BadRequest(format!("{kind} needs persona_id")));
            };
            let (post, comment, _) = Target::columns(Some(target));
            let candidates = personas::candidates(c, now, post, comment).await?;
            let pool = Pool::new(&candidates, now);
            let subject = Subject::new(&topics, &text, author, kind.is_post());
            // Whoever already has this very task queued is not a choice: picking them would only
            // answer "already exists" to an operator who named no one.
            let busy: Vec<Uuid> =
                tasks::live_for_target(c, kind.name(), Some(target)).await?.iter().map(|t| t.persona_id).collect();
            let mut rng = ChaCha8Rng::from_os_rng();
            let picked = pool.select(&subject, &engine.settings.limits, 1, &mut rng, |id| busy.contains(&id));
            *picked.first().ok_or_else(|| {
                OperatorError::Conflict(
                    "no persona is available for this (all paused, asleep, over their limits, already engaged, \
                     or with this task already queued)"
                        .into(),
                )
            })?
        }
    };
    Ok((persona_id, target))
}

/// What the request's persona would publish for `kind` on its target, generated and checked but not
/// published: nothing is stored, no task is enqueued, no image is made. A paused persona may be
/// previewed; its hourly limits are not consulted.
pub async fn dry_run(engine: &Engine, kind: Kind, request: &TriggerRequest) -> Result<kinds::DryRun, OperatorError> {
    if request.instructions.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return Err(OperatorError::BadRequest(
            "a dry run takes no instructions: it shows what the persona writes on its own".into(),
        ));
    }
    let (persona_id, target) = resolve(engine, kind, request, true).await?;
    let now = engine.clock.now();
    let task = kind.task(persona_id, target, now).unsaved(now);
    let preview = kinds::dry_run(&engine.services(), &task).await.map_err(|e| match e {
        ActionError::Skip(reason) | ActionError::Reschedule { reason, .. } | ActionError::OverBudget { reason, .. } => {
            OperatorError::Conflict(reason)
        }
        ActionError::Unusable(_)
        | ActionError::Invalid(_)
        | ActionError::GaveUp(_)
        | ActionError::UnknownType { .. } => OperatorError::Unprocessable(e.to_string()),
        ActionError::Model(m) if m.disposition() == Disposition::Skip => OperatorError::Unprocessable(m.to_string()),
        ActionError::Model(m) => OperatorError::Upstream { retryable: m.is_retryable(), message: m.to_string() },
        ActionError::Media(m) => OperatorError::Upstream { retryable: m.is_retryable(), message: m.to_string() },
        ActionError::Storage(s) => OperatorError::Upstream { retryable: s.is_retryable(), message: s.to_string() },
        ActionError::Db(d) => OperatorError::Db(d),
        ActionError::Queue(q) => OperatorError::Queue(q),
    })?;
    // A preview is counted on the day's ledger like any model call (never held back by a budget).
    let micros = i64::try_from(preview.usage.cost_micros).unwrap_or(i64::MAX);
    let client = engine.pool.get().await?;
    database::spend::record(&**client, crate::spend::day_of(now), persona_id, "dry_run", micros, 1).await?;
    Ok(preview)
}

/// Enqueues `kind` on the request's target, due now: validated target, the named persona or one the
/// selector picks, the instructions recorded with it. Returns the task as enqueued.
pub async fn trigger(
    engine: &Engine,
    kind: Kind,
    request: &TriggerRequest,
    issuer: Issuer,
) -> Result<Task, OperatorError> {
    let instructions = instructions_of(request)?;
    if kind.needs_images() && !engine.model.makes_images() {
        return Err(OperatorError::Unprocessable(format!(
            "{kind} needs a provider that makes images (LLM_PROVIDER=gemini or offline; this one is {})",
            engine.model.provider_name()
        )));
    }
    let (persona_id, target) = resolve(engine, kind, request, false).await?;
    let mut client = engine.pool.get().await?;
    let now = engine.clock.now();

    let mut new = kind.task(persona_id, target, now);
    new.payload = serde_json::json!({ "forced": true });
    let tx = database::begin(&mut client).await?;
    let enqueued = engine.queue.enqueue(&tx, &[new]).await?;
    let Some(&task_id) = enqueued.inserted.first() else {
        tx.rollback().await?;
        let live = tasks::live_for_target(&**client, kind.name(), target).await?;
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
    let report = engine.run_task(&claimed).await;
    let client = engine.pool.get().await?;
    let task = engine.queue.get(&**client, task_id).await?;
    let published = match (&task.result_type, task.result_id) {
        (Some(kind), Some(id)) => content::published(&**client, kind, id).await?,
        _ => None,
    };
    Ok(RunNow { task, report, published })
}
