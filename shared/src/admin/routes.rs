//! The admin API's handlers.

use axum::extract::{Extension, State};
use axum::http::{StatusCode, Uri};
use chrono::{DurationRound, TimeZone, Utc};
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
use crate::studio::{self, CreateRequest, Created, PersonaPatch};
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
    /// The model each class of work goes to (decision, writing, vision, image, video).
    pub models: std::collections::BTreeMap<&'static str, String>,
    /// Each persona's actions since midnight UTC.
    pub personas_today: Vec<ActivitySince>,
    /// Posts, comments and votes by personas and by people in each of the last 72 hours, oldest first,
    /// the hour in progress last.
    pub actions_per_hour: Vec<crate::db::activity::HourActivity>,
    /// The last 24 hours of what personas published, measured as `persona-engine audit` does (on at
    /// most the newest 1,000 texts, so the call stays cheap).
    pub content_health: AuditSummary,
    /// Spend today and over the last seven days, by persona and by kind, and the budgets.
    pub spend: crate::spend::SpendReport,
    /// Each persona's caps (what `personas_today` is measured against).
    pub limits: Limits,
}

/// The per-persona caps.
#[derive(Debug, Serialize, ToSchema)]
pub struct Limits {
    /// `PERSONA_MAX_ACTIONS_PER_HOUR`.
    pub actions_per_hour: u32,
    /// `PERSONA_MAX_POSTS_PER_DAY`.
    pub posts_per_day: u32,
}

/// A kind of work this engine runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct KindInfo {
    /// Its name, as in `/trigger/{kind}` and a task's `task_type`.
    pub name: &'static str,
    /// The fields a trigger names its target with (`post_id`, `comment_id`, `board_id`); empty for work
    /// on no target.
    pub targets: Vec<&'static str>,
    /// Whether it is an original post (held to the daily post limit).
    pub is_post: bool,
    /// Whether it is held to the hourly action cap.
    pub is_action: bool,
    /// Whether it needs a provider that makes images.
    pub needs_images: bool,
    /// The word a session chooses it by, when sessions may.
    pub session_word: Option<&'static str>,
}

/// The kinds of work this engine runs, in its registry's order: what `/trigger/{kind}` and a task's
/// `type` accept.
#[utoipa::path(get, path = "/kinds", responses(
    (status = 200, body = Vec<KindInfo>), (status = 401, body = ErrorBody)))]
pub async fn kinds(State(state): State<AdminState>) -> axum::Json<Vec<KindInfo>> {
    axum::Json(
        state
            .engine
            .kinds
            .all()
            .iter()
            .map(|k| KindInfo {
                name: k.name(),
                targets: k.target_fields(),
                is_post: k.is_post(),
                is_action: k.is_action(),
                needs_images: k.needs_images(),
                session_word: k.verb().map(|v| v.word),
            })
            .collect(),
    )
}

/// Texts `GET /status` audits at most.
const STATUS_AUDIT_TEXTS: i64 = 1000;

/// Hours of activity `GET /status` lists: three days, the console's chart.
const ACTIVITY_HOURS: i32 = 72;

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
    let spend = crate::spend::report(&**client, &engine.config.budget, now).await?;
    // The last three days to the end of this hour, the hour in progress last.
    let this_hour = now.duration_trunc(chrono::Duration::hours(1)).unwrap_or(now);
    let from = this_hour - chrono::Duration::hours(i64::from(ACTIVITY_HOURS) - 1);
    let actions_per_hour = crate::db::activity::per_hour(&**client, from, ACTIVITY_HOURS).await?;
    Ok(axum::Json(StatusResponse {
        running: queue.by_status.get("RUNNING").copied().unwrap_or(0),
        queue,
        provider: engine.model.provider_name(),
        models: crate::routing::ModelClass::ALL
            .into_iter()
            .map(|class| (class.name(), engine.model.model_for(class).to_owned()))
            .collect(),
        personas_today,
        actions_per_hour,
        content_health,
        spend,
        limits: Limits {
            actions_per_hour: engine.config.limits.max_actions_per_hour,
            posts_per_day: engine.config.limits.max_posts_per_day,
        },
    }))
}

/// `POST /trigger/{kind}` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TriggerQuery {
    /// Run the task now and answer with what it published.
    pub wait: Option<bool>,
    /// Generate what the persona would publish and answer with it, publishing nothing and enqueuing
    /// nothing (a paused persona may be previewed). Takes no instructions; not with `wait`.
    pub dry_run: Option<bool>,
}

/// What `POST /trigger/{kind}` answers: the task (queued or run), or with `?dry_run=true` the preview.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TriggerAnswer {
    /// The task, and with `?wait=true` what it published.
    Task(Box<TriggerResponse>),
    /// `?dry_run=true`: what would be published.
    DryRun(crate::kinds::DryRun),
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

/// A listing's `limit`: `default` when absent, else 1 to `most`.
fn page_size(limit: Option<i64>, default: i64, most: i64) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=most).contains(&limit) {
        return Err(ApiError::BadRequest(format!("limit must be between 1 and {most}, not {limit}")));
    }
    Ok(limit)
}

fn parse_kind(state: &AdminState, kind: &str) -> Result<Kind, ApiError> {
    state.engine.kinds.get(kind).ok_or_else(|| {
        ApiError::BadRequest(format!("unknown action {kind:?}: expected {}", state.engine.kinds.names().join(", ")))
    })
}

/// Forces a task: validated target, optional persona (the selector picks), due now. With `?wait=true`
/// it runs at once and the answer says what was published; with `?dry_run=true` nothing is enqueued or
/// published and the answer is what the persona would write.
#[utoipa::path(post, path = "/trigger/{kind}",
    params(("kind" = Kind, Path, description = "a kind of work (`GET /kinds` lists this engine's, with the target each takes)"), TriggerQuery),
    request_body = TriggerRequest,
    responses(
        (status = 200, body = TriggerAnswer, description = "ran (?wait=true), or previewed (?dry_run=true)"),
        (status = 202, body = TriggerResponse, description = "queued"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn trigger(
    State(state): State<AdminState>,
    Path(kind): Path<String>,
    Query(query): Query<TriggerQuery>,
    Json(request): Json<TriggerRequest>,
) -> Result<(StatusCode, axum::Json<TriggerAnswer>), ApiError> {
    let kind = parse_kind(&state, &kind)?;
    let engine = &state.engine;
    if query.dry_run == Some(true) {
        if query.wait == Some(true) {
            return Err(ApiError::BadRequest(
                "dry_run and wait exclude each other: a dry run publishes nothing".into(),
            ));
        }
        let preview = operator::dry_run(engine, kind, &request).await?;
        return Ok((StatusCode::OK, axum::Json(TriggerAnswer::DryRun(preview))));
    }
    let task = operator::trigger(engine, kind, &request, Issuer::AdminApi).await?;
    if query.wait != Some(true) {
        let queued = TriggerResponse { task, report: None, published: None };
        return Ok((StatusCode::ACCEPTED, axum::Json(TriggerAnswer::Task(Box::new(queued)))));
    }
    let RunNow { task, report, published } = operator::run_now(engine, task.id).await?;
    let ran = TriggerResponse { task, report: Some(report), published };
    Ok((StatusCode::OK, axum::Json(TriggerAnswer::Task(Box::new(ran)))))
}

/// `GET /tasks` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// PENDING, RUNNING, DONE, FAILED or SKIPPED.
    #[param(value_type = Option<TaskStatus>)]
    pub status: Option<String>,
    /// A kind of work (`GET /kinds` lists them).
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

/// Pages newest first by `(at, id)`: the cursor is the last row's, `<micros>.<id>`.
mod paging {
    use chrono::{DateTime, TimeZone, Utc};
    use uuid::Uuid;

    use super::ApiError;

    /// Where the page starts: before the row the cursor names. `cursor=` (empty) is the first page, as
    /// clients that always send the parameter expect.
    pub(super) fn before(cursor: Option<&str>) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
        let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        let bad = || ApiError::BadRequest(format!("invalid cursor {cursor:?}"));
        let (micros, id) = cursor.split_once('.').ok_or_else(bad)?;
        let at = Utc.timestamp_micros(micros.parse().map_err(|_| bad())?).single().ok_or_else(bad)?;
        Ok(Some((at, Uuid::parse_str(id).map_err(|_| bad())?)))
    }

    /// The cursor of the next page: the last row's, when the page is full (a shorter page is the last).
    pub(super) fn next<T>(rows: &[T], limit: i64, key: impl Fn(&T) -> Option<(DateTime<Utc>, Uuid)>) -> Option<String> {
        (rows.len() as i64 == limit)
            .then(|| rows.last().and_then(&key).map(|(at, id)| format!("{}.{id}", at.timestamp_micros())))
            .flatten()
    }
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
    let limit = page_size(query.limit, 50, 200)?;
    let before = paging::before(query.cursor.as_deref())?;
    let filter = TaskFilter { status, task_type: query.task_type.clone(), persona_id: query.persona_id, before };
    let client = state.engine.pool.get().await?;
    let tasks = tasks::list(&**client, &filter, limit).await?;
    let next_cursor = paging::next(&tasks, limit, |t| t.created_at.map(|at| (at, t.id)));
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

/// Makes personas from a brief: one structured call for each profile, an avatar (512 px square, stored
/// like image posts) and a character reference from one look at it. All are made or none is. They start
/// paused for review unless `active` is true.
#[utoipa::path(post, path = "/personas", request_body = CreateRequest, responses(
    (status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    (status = 422, body = ErrorBody, description = "no usable profile came out of the brief"),
    (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_personas(
    State(state): State<AdminState>,
    Json(request): Json<CreateRequest>,
) -> Result<(StatusCode, axum::Json<Created>), ApiError> {
    if request.count.is_some_and(|n| !(1..=MAX_API_COUNT).contains(&n)) {
        return Err(ApiError::BadRequest(format!(
            "count must be between 1 and {MAX_API_COUNT} here (each persona takes three model calls; the CLI makes \
             up to {})",
            studio::MAX_COUNT
        )));
    }
    Ok((StatusCode::CREATED, axum::Json(studio::create(&state.engine, &request).await?)))
}

/// Personas one `POST /personas` makes at most: three model calls each must fit the admin function's
/// two minutes.
const MAX_API_COUNT: usize = 3;

/// `GET /personas` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonaListQuery {
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page (a handle).
    pub after: Option<String>,
}

/// A page of personas.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaPage {
    /// In handle order.
    pub personas: Vec<Persona>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<String>,
}

/// Every persona, in handle order, paginated.
#[utoipa::path(get, path = "/personas", params(PersonaListQuery), responses(
    (status = 200, body = PersonaPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
pub async fn list_personas(
    State(state): State<AdminState>,
    Query(query): Query<PersonaListQuery>,
) -> Result<axum::Json<PersonaPage>, ApiError> {
    let limit = page_size(query.limit, 100, 500)?;
    let after = query.after.as_deref().filter(|a| !a.is_empty());
    if let Some(after) = after {
        operator::check_text("after", after).map_err(ApiError::BadRequest)?;
    }
    let client = state.engine.pool.get().await?;
    let personas = personas::list(&**client, after, limit).await?;
    let next_after = (personas.len() as i64 == limit).then(|| personas.last().map(|p| p.username.clone())).flatten();
    Ok(axum::Json(PersonaPage { personas, next_after }))
}

/// One persona for review: its profile (voice bank, avatar, character reference) and what it wrote last.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaDetail {
    /// The profile.
    pub persona: Persona,
    /// Its newest published posts, comments and replies, newest first.
    pub recent: Vec<personas::Written>,
}

/// One persona, with what it wrote last.
#[utoipa::path(get, path = "/personas/{id}", params(("id" = Uuid, Path)), responses(
    (status = 200, body = PersonaDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_persona(
    State(state): State<AdminState>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<PersonaDetail>, ApiError> {
    let client = state.engine.pool.get().await?;
    let persona =
        personas::find(&**client, id).await?.ok_or_else(|| ApiError::NotFound(format!("persona {id} not found")))?;
    let recent = personas::recent_texts(&**client, id, 10).await?;
    Ok(axum::Json(PersonaDetail { persona, recent }))
}

/// Edits a persona: only the fields given change, each checked as a new profile's would be (a voice
/// bank of 3–8 texts of clearly different lengths without the marks of machine text, a real time zone,
/// a free handle).
#[utoipa::path(patch, path = "/personas/{id}", params(("id" = Uuid, Path)), request_body = PersonaPatch, responses(
    (status = 200, body = Persona), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
    (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn edit_persona(
    State(state): State<AdminState>,
    Path(id): Path<Uuid>,
    Json(patch): Json<PersonaPatch>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (before, after) = studio::edit_from(&state.engine, id, &patch).await?;
    // A persona always serialises; an empty object would only lose the changes, never the edit.
    let (old, new) =
        (serde_json::to_value(&before).unwrap_or_default(), serde_json::to_value(&after).unwrap_or_default());
    let mut changes = serde_json::Map::new();
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        for (field, value) in new {
            if old.get(field) != Some(value) {
                changes.insert(field.clone(), serde_json::json!({ "old": old.get(field), "new": value }));
            }
        }
    }
    let mut response = axum::Json(after).into_response();
    response.extensions_mut().insert(super::AuditNote {
        persona_id: Some(id),
        targets: serde_json::json!({}),
        changes: serde_json::Value::Object(changes),
    });
    Ok(response)
}

/// The audit trail's query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only calls about this persona.
    pub persona_id: Option<Uuid>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^([0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")]
    pub cursor: Option<String>,
}

/// A page of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<crate::db::trail::TrailEntry>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The audit trail: every state-changing call and every refused key, newest first (the key is shown
/// only as a fingerprint).
#[utoipa::path(get, path = "/audit", params(AuditQuery), responses(
    (status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn audit_trail(
    State(state): State<AdminState>,
    Query(query): Query<AuditQuery>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    let limit = page_size(query.limit, 50, 200)?;
    let before = paging::before(query.cursor.as_deref())?;
    let client = state.engine.pool.get().await?;
    let entries = crate::db::trail::list(&**client, query.persona_id, before, limit).await?;
    let next_cursor = paging::next(&entries, limit, |e| Some((e.at, e.id)));
    Ok(axum::Json(AuditPage { entries, next_cursor }))
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

/// `GET /threads` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ThreadsQuery {
    /// Posts, 1–50 (default 10).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

/// The newest published posts with their comments.
#[derive(Debug, Serialize, ToSchema)]
pub struct Threads {
    /// Newest first; each post's comments oldest first (at most 200).
    pub threads: Vec<crate::db::content::Thread>,
}

/// The newest threads as readers see them, each post and comment with its author (a persona or a person).
#[utoipa::path(get, path = "/threads", params(ThreadsQuery), responses(
    (status = 200, body = Threads), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 503, body = ErrorBody)))]
pub async fn threads(
    State(state): State<AdminState>,
    Query(query): Query<ThreadsQuery>,
) -> Result<axum::Json<Threads>, ApiError> {
    let limit = page_size(query.limit, 10, 50)?;
    let client = state.engine.pool.get().await?;
    Ok(axum::Json(Threads { threads: crate::db::content::recent_threads(&**client, limit, 200).await? }))
}

/// `GET /trends`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Trends {
    /// What a persona's vote or comment counts for beside a person's (`TREND_PERSONA_WEIGHT`).
    pub persona_weight: f64,
    /// What is trending, fastest first, as the planner's latest tick computed it (empty before the first).
    pub trends: Vec<crate::db::trends::Trend>,
}

/// What is trending: each topic's velocity, its posts, and people's engagement beside personas'.
#[utoipa::path(get, path = "/trends", responses(
    (status = 200, body = Trends), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn trends(State(state): State<AdminState>) -> Result<axum::Json<Trends>, ApiError> {
    let client = state.engine.pool.get().await?;
    Ok(axum::Json(Trends {
        persona_weight: state.engine.config.trends.persona_weight,
        trends: crate::db::trends::current(&**client).await?,
    }))
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
