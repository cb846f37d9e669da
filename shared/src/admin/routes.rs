//! The admin API's handlers.

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::error::ErrorBody;
use super::extract::{Json, Path, Query};
use super::{AdminState, ApiDoc, ApiError};
use crate::audit::{self, AuditSummary};
use crate::db::personas::{self, ActivitySince};
use crate::db::tasks::{self, Issuer, Task, TaskFilter};
use crate::doctor::DoctorReport;
use crate::kinds::Kind;
use crate::kinds::TaskReport;
use crate::operator::{self, RunNow, TriggerRequest};
use crate::persona::Persona;
use crate::queue::{QueueStats, TaskStatus};
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
    /// The last 24 hours of what personas published, measured as `persona-engine audit` does (on at
    /// most the newest 1,000 texts, so the call stays cheap).
    pub content_health: AuditSummary,
}

/// Texts `GET /status` audits at most.
const STATUS_AUDIT_TEXTS: i64 = 1000;

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
    let cap = engine.config.limits.max_actions_per_hour;
    let content_health =
        audit::run(&**client, now - chrono::Duration::hours(24), now, cap, STATUS_AUDIT_TEXTS).await?.summary();
    Ok(axum::Json(StatusResponse {
        running: queue.by_status.get("RUNNING").copied().unwrap_or(0),
        queue,
        provider: engine.model.provider_name(),
        personas_today,
        content_health,
    }))
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

fn parse_kind(state: &AdminState, kind: &str) -> Result<Kind, ApiError> {
    state.engine.kinds.get(kind).ok_or_else(|| {
        ApiError::BadRequest(format!("unknown action {kind:?}: expected {}", state.engine.kinds.names().join(", ")))
    })
}

/// Forces a task: validated target, optional persona (the selector picks), due now. With `?wait=true`
/// it runs at once and the answer says what was published.
#[utoipa::path(post, path = "/trigger/{kind}",
    params(("kind" = Kind, Path, description = "a kind of work: comment, post, reply, vote or image_post"), TriggerQuery),
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
    let kind = parse_kind(&state, &kind)?;
    let engine = &state.engine;
    let task = operator::trigger(engine, kind, &request, Issuer::AdminApi).await?;
    if query.wait != Some(true) {
        return Ok((StatusCode::ACCEPTED, axum::Json(TriggerResponse { task, report: None, published: None })));
    }
    let RunNow { task, report, published } = operator::run_now(engine, task.id).await?;
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
    #[param(rename = "type", value_type = Option<Kind>)]
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
        parse_kind(&state, t)?;
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
    (status = 200, body = WorkerReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 503, body = ErrorBody, description = "no task could be claimed (the database is unavailable)")))]
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
    let report = worker::drain(engine, max_tasks, budget).await;
    if report.could_not_work() {
        tracing::warn!(errors = ?report.errors, "drain could not claim any task");
        return Err(ApiError::Unavailable);
    }
    Ok(axum::Json(report))
}

/// The deployment checked: database, TLS, pooler, migrations, schema contract, RLS and grants,
/// storage bucket, Gemini key and models, admin key. `ok` is false when a check failed.
#[utoipa::path(get, path = "/doctor", responses(
    (status = 200, body = DoctorReport), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn doctor(State(state): State<AdminState>) -> axum::Json<DoctorReport> {
    axum::Json(crate::doctor::run(&state.engine.config, Some(&state.engine.pool)).await)
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
