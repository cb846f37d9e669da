//! The admin API's handlers.

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use chrono::{TimeZone, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::error::ErrorBody;
use super::extract::{Json, Path, Query};
use super::{AdminState, ApiDoc, ApiError};
use crate::actions::{self, TaskReport};
use crate::db::content;
use crate::db::personas::{self, ActivitySince};
use crate::db::tasks::{self, Task, TaskFilter};
use crate::persona::Persona;
use crate::persona::selector::{Pool, Target};
use crate::queue::{NewTask, QueueStats, Target as TaskTarget, TaskStatus, TaskType};
use crate::worker::{self, Budget, WorkerReport};

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    /// The build's version.
    pub version: &'static str,
}

/// Liveness; needs no key.
#[utoipa::path(get, path = "/health", security(()), responses((status = 200, body = Health)))]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// `GET /status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// Counts by status and type, oldest due age, the last day's failures and tokens.
    pub queue: QueueStats,
    /// Tasks running now.
    pub running: i64,
    /// The model provider in use.
    pub provider: &'static str,
    /// Each persona's actions since midnight UTC.
    pub personas_today: Vec<ActivitySince>,
}

/// Queue counts, running tasks, the last day's failures and tokens, and per-persona activity today.
#[utoipa::path(get, path = "/status", responses(
    (status = 200, body = StatusResponse),
    (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn status(State(state): State<AdminState>) -> Result<axum::Json<StatusResponse>, ApiError> {
    let engine = &state.engine;
    let client = engine.pool.get().await?;
    let queue = engine.queue.stats(&**client).await?;
    let now = engine.clock.now();
    let midnight = Utc.from_utc_datetime(&now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default());
    let personas_today = personas::activity_since(&**client, midnight, now).await?;
    Ok(axum::Json(StatusResponse {
        running: queue.by_status.get("RUNNING").copied().unwrap_or(0),
        queue,
        provider: engine.model.provider_name(),
        personas_today,
    }))
}

/// `POST /trigger/{kind}` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
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
    pub instructions: Option<String>,
}

/// `POST /trigger/{kind}` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TriggerQuery {
    /// Run the task now and answer with what it published.
    pub wait: Option<bool>,
}

/// What a trigger created (and, with `?wait=true`, did).
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerResponse {
    /// The task as it stands.
    pub task: Task,
    /// The run, with `?wait=true`.
    pub report: Option<TaskReport>,
    /// What was published, with `?wait=true`.
    #[schema(value_type = Option<Object>)]
    pub published: Option<serde_json::Value>,
}

fn parse_kind(kind: &str) -> Result<TaskType, ApiError> {
    TaskType::parse(kind).ok_or_else(|| {
        ApiError::BadRequest(format!("unknown action {kind:?}: expected comment, post, reply, vote or image_post"))
    })
}

fn require(value: Option<Uuid>, field: &str, kind: TaskType) -> Result<Uuid, ApiError> {
    value.ok_or_else(|| ApiError::BadRequest(format!("{kind} needs {field}")))
}

fn forbid(value: Option<Uuid>, field: &str, kind: TaskType) -> Result<(), ApiError> {
    match value {
        Some(_) => Err(ApiError::BadRequest(format!("{kind} does not take {field}"))),
        None => Ok(()),
    }
}

/// Forces a task: validated target, optional persona (the selector picks), due now. With `?wait=true`
/// it runs at once and the answer says what was published.
#[utoipa::path(post, path = "/trigger/{kind}",
    params(("kind" = TaskType, Path, description = "comment, post, reply, vote or image_post"), TriggerQuery),
    request_body = TriggerRequest,
    responses(
        (status = 200, body = TriggerResponse, description = "ran (?wait=true)"),
        (status = 202, body = TriggerResponse, description = "queued"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn trigger(
    State(state): State<AdminState>,
    Path(kind): Path<String>,
    Query(query): Query<TriggerQuery>,
    Json(request): Json<TriggerRequest>,
) -> Result<(StatusCode, axum::Json<TriggerResponse>), ApiError> {
    let kind = parse_kind(&kind)?;
    let engine = &state.engine;
    if let Some(instructions) = &request.instructions
        && instructions.chars().count() > 500
    {
        return Err(ApiError::BadRequest("instructions must be at most 500 characters".into()));
    }
    if kind == TaskType::ImagePost && !engine.model.makes_images() {
        return Err(ApiError::Unprocessable(format!(
            "image posts need a provider that makes images (LLM_PROVIDER=gemini or offline; this one is {})",
            engine.model.provider_name()
        )));
    }
    let client = engine.pool.get().await?;
    let c = &**client;
    let now = engine.clock.now();

    // The target must exist and still take this action.
    let (target, topics, text, author) = match kind {
        TaskType::Comment | TaskType::Vote if request.comment_id.is_none() => {
            let post_id = require(request.post_id, "post_id", kind)?;
            forbid(request.board_id, "board_id", kind)?;
            let post = content::find_post(c, post_id)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("post {post_id} not found")))?;
            if !post.status.eq_ignore_ascii_case("PUBLISHED") || post.locked {
                return Err(ApiError::Conflict(format!(
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
                .ok_or_else(|| ApiError::NotFound(format!("comment {comment_id} not found")))?;
            if comment.deleted_at.is_some() {
                return Err(ApiError::Conflict(format!("comment {comment_id} was deleted")));
            }
            let post = content::find_post(c, comment.post_id)
                .await?
                .ok_or_else(|| ApiError::NotFound("the comment's post is gone".into()))?;
            (
                TaskTarget { comment_id: Some(comment_id), ..TaskTarget::default() },
                post.board_topics,
                comment.view.body,
                comment.view.author.persona_id(),
            )
        }
        TaskType::Comment => return Err(ApiError::BadRequest("comment does not take comment_id (use reply)".into())),
        TaskType::Post | TaskType::ImagePost => {
            let board_id = require(request.board_id, "board_id", kind)?;
            forbid(request.post_id, "post_id", kind)?;
            forbid(request.comment_id, "comment_id", kind)?;
            let board = content::board(c, board_id, 0)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("board {board_id} not found")))?;
            (TaskTarget { board_id: Some(board_id), ..TaskTarget::default() }, board.topics, String::new(), None)
        }
    };

    let persona_id = match request.persona_id {
        Some(id) => {
            let persona =
                personas::find(c, id).await?.ok_or_else(|| ApiError::NotFound(format!("persona {id} not found")))?;
            if !persona.is_active {
                return Err(ApiError::Conflict(format!("persona {} is paused; resume it first", persona.username)));
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
                ApiError::Conflict(
                    "no persona is available for this (all paused, asleep, over their limits, already engaged, \
                     or with this task already queued)"
                        .into(),
                )
            })?
        }
    };

    let payload = serde_json::json!({ "forced": true, "instructions": request.instructions });
    let new = NewTask { id: None, persona_id, task_type: kind, target, scheduled_at: now, payload };
    let enqueued = engine.queue.enqueue(c, &[new]).await?;
    let Some(&task_id) = enqueued.inserted.first() else {
        let live = tasks::live_for_target(c, kind.as_str(), target.post_id, target.comment_id, target.board_id).await?;
        let existing = live.into_iter().find(|t| t.persona_id == persona_id);
        return Err(ApiError::Conflict(format!(
            "a pending or running {kind} task for this persona and target already exists{}",
            existing.map(|t| format!(" ({})", t.id)).unwrap_or_default()
        )));
    };

    if query.wait != Some(true) {
        let task = engine.queue.get(c, task_id).await?;
        return Ok((StatusCode::ACCEPTED, axum::Json(TriggerResponse { task, report: None, published: None })));
    }
    let claimed = engine.queue.claim_by_id(c, task_id).await?;
    drop(client);
    let report = actions::run_task(engine, &claimed).await;
    let client = engine.pool.get().await?;
    let task = engine.queue.get(&**client, task_id).await?;
    let published = match (&task.result_type, task.result_id) {
        (Some(kind), Some(id)) => content::published(&**client, kind, id).await?,
        _ => None,
    };
    Ok((StatusCode::OK, axum::Json(TriggerResponse { task, report: Some(report), published })))
}

/// `GET /tasks` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// PENDING, RUNNING, DONE, FAILED or SKIPPED.
    #[param(value_type = Option<TaskStatus>)]
    pub status: Option<String>,
    /// comment, post, reply, vote or image_post.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<TaskType>)]
    pub task_type: Option<String>,
    /// Only this persona's tasks.
    pub persona_id: Option<Uuid>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^([0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")]
    pub cursor: Option<String>,
}

/// A page of tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPage {
    /// Newest first.
    pub tasks: Vec<Task>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

fn parse_cursor(cursor: &str) -> Result<(chrono::DateTime<Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest(format!("invalid cursor {cursor:?}"));
    let (micros, id) = cursor.split_once('.').ok_or_else(bad)?;
    let at = Utc.timestamp_micros(micros.parse().map_err(|_| bad())?).single().ok_or_else(bad)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

/// Tasks, newest first, filtered and paginated.
#[utoipa::path(get, path = "/tasks", params(ListQuery), responses(
    (status = 200, body = TaskPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_tasks(
    State(state): State<AdminState>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<TaskPage>, ApiError> {
    let status = match &query.status {
        Some(s) => Some(TaskStatus::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!("status must be PENDING, RUNNING, DONE, FAILED or SKIPPED, not {s:?}"))
        })?),
        None => None,
    };
    if let Some(t) = &query.task_type {
        parse_kind(t)?;
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit must be between 1 and 200, not {limit}")));
    }
    // `cursor=` (empty) is the first page, as clients that always send the parameter expect.
    let before = query.cursor.as_deref().filter(|c| !c.is_empty()).map(parse_cursor).transpose()?;
    let filter = TaskFilter { status, task_type: query.task_type.clone(), persona_id: query.persona_id, before };
    let client = state.engine.pool.get().await?;
    let tasks = tasks::list(&**client, &filter, limit).await?;
    let next_cursor = (tasks.len() as i64 == limit)
        .then(|| tasks.last().and_then(|t| t.created_at.map(|at| format!("{}.{}", at.timestamp_micros(), t.id))))
        .flatten();
    Ok(axum::Json(TaskPage { tasks, next_cursor }))
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Task), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_task(State(state): State<AdminState>, Path(id): Path<Uuid>) -> Result<axum::Json<Task>, ApiError> {
    let client = state.engine.pool.get().await?;
    Ok(axum::Json(state.engine.queue.get(&**client, id).await?))
}

/// Makes a PENDING, FAILED or SKIPPED task due now, retries reset.
#[utoipa::path(post, path = "/tasks/{id}/retry", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Task), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retry_task(State(state): State<AdminState>, Path(id): Path<Uuid>) -> Result<axum::Json<Task>, ApiError> {
    let client = state.engine.pool.get().await?;
    Ok(axum::Json(state.engine.queue.retry_now(&**client, id).await?))
}

/// Cancels a PENDING or RUNNING task (→ SKIPPED); a running one's effect is rolled back.
#[utoipa::path(post, path = "/tasks/{id}/cancel", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Task), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_task(State(state): State<AdminState>, Path(id): Path<Uuid>) -> Result<axum::Json<Task>, ApiError> {
    let client = state.engine.pool.get().await?;
    Ok(axum::Json(state.engine.queue.cancel(&**client, id, "cancelled by an operator").await?))
}

async fn set_active(state: &AdminState, id: Uuid, active: bool) -> Result<axum::Json<Persona>, ApiError> {
    let client = state.engine.pool.get().await?;
    personas::set_active(&**client, id, active)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("persona {id} not found")))
}

/// Pauses a persona: its tasks are skipped, the planner gives it none.
#[utoipa::path(post, path = "/personas/{id}/pause", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Persona), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pause_persona(
    State(state): State<AdminState>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Persona>, ApiError> {
    set_active(&state, id, false).await
}

/// Resumes a paused persona.
#[utoipa::path(post, path = "/personas/{id}/resume", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Persona), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn resume_persona(
    State(state): State<AdminState>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Persona>, ApiError> {
    set_active(&state, id, true).await
}

/// `POST /drain` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DrainQuery {
    /// At most this many tasks, 1–100 (default `MAX_TASKS_PER_TICK`).
    #[param(minimum = 1, maximum = 100)]
    pub max_tasks: Option<usize>,
}

/// Runs one worker batch now.
#[utoipa::path(post, path = "/drain", params(DrainQuery), responses(
    (status = 200, body = WorkerReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn drain(
    State(state): State<AdminState>,
    Query(query): Query<DrainQuery>,
    lambda: Option<Extension<lambda_http::Context>>,
) -> Result<axum::Json<WorkerReport>, ApiError> {
    let engine = &state.engine;
    let max_tasks = query.max_tasks.unwrap_or(engine.settings.scheduler.max_tasks_per_tick);
    if !(1..=100).contains(&max_tasks) {
        return Err(ApiError::BadRequest(format!("max_tasks must be between 1 and 100, not {max_tasks}")));
    }
    let budget = match lambda {
        Some(Extension(context)) => {
            worker::budget_from_deadline(context.deadline(), engine.settings.scheduler.local_budget)
        }
        None => Budget::Unbounded,
    };
    Ok(axum::Json(worker::drain(engine, max_tasks, budget).await))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "the OpenAPI document"), (status = 401, body = ErrorBody)))]
pub async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

pub(super) async fn not_found(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

pub(super) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
