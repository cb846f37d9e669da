//! The admin API: one axum `Router`, served by the admin Lambda behind a Function URL and by the local
//! runner. Every route but `/health` needs `Authorization: Bearer <ADMIN_API_KEY>` (compared in constant
//! time). Errors are JSON `{error, message}` with the right status; bodies are size-limited; unknown
//! fields are refused by name; no stack trace or secret ever reaches a response.

mod console;
mod error;
mod extract;
mod routes;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use utoipa::OpenApi;

use crate::config::AdminKey;
use crate::engine::Engine;

pub use error::ApiError;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The router's shared state.
#[derive(Clone)]
pub struct AdminState {
    engine: Engine,
    api_key_digest: Option<[u8; 32]>,
}

/// The admin router over `engine`; `api_key` is `ADMIN_API_KEY` (without one, only `/health` answers).
pub fn router(engine: Engine, api_key: Option<AdminKey>) -> Router {
    let state = AdminState { engine, api_key_digest: api_key.map(|k| digest(k.secret().expose_secret().as_bytes())) };
    let protected = Router::new()
        .route("/status", get(routes::status))
        .route("/kinds", get(routes::kinds))
        .route("/trigger/{kind}", post(routes::trigger))
        .route("/tasks", get(routes::list_tasks))
        .route("/tasks/{id}", get(routes::get_task))
        .route("/tasks/{id}/retry", post(routes::retry_task))
        .route("/tasks/{id}/cancel", post(routes::cancel_task))
        .route("/personas", post(routes::create_personas).get(routes::list_personas))
        .route("/personas/{id}", get(routes::get_persona).patch(routes::edit_persona))
        .route("/personas/{id}/pause", post(routes::pause_persona))
        .route("/personas/{id}/resume", post(routes::resume_persona))
        .route("/threads", get(routes::threads))
        .route("/trends", get(routes::trends))
        .route("/audit", get(routes::audit_trail))
        .route("/drain", post(routes::drain))
        .route("/doctor", get(routes::doctor))
        .route("/openapi.json", get(routes::openapi))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_key));
    Router::new()
        .route("/health", get(routes::health))
        .route("/console", get(console::page))
        .route("/console/console.js", get(console::script))
        .route("/console/console.css", get(console::style))
        .route("/console/media/{*key}", get(console::media))
        .merge(protected)
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(traced))
        .with_state(state)
}

/// Every request in a span of its own (method and path, never a header or the body), with one line
/// when it is answered: its status and how long it took. A trigger's task logs inside it.
async fn traced(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let span = tracing::info_span!("admin", method = %request.method(), path = %request.uri().path());
    async move {
        let started = std::time::Instant::now();
        let response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), millis = started.elapsed().as_millis() as u64, "answered");
        response
    }
    .instrument(span)
    .await
}

/// SHA-256 of a key: keys are compared by digest, in constant time, so neither their content nor their
/// length shows in how long a refusal takes.
fn digest(key: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, key).as_ref());
    out
}

/// What a handler adds to its call's audit entry: the persona, what it acted on, the fields it changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditNote {
    pub persona_id: Option<uuid::Uuid>,
    pub targets: serde_json::Value,
    pub changes: serde_json::Value,
}

/// Checks the bearer key, and keeps an audit entry (never the key; a fingerprint of it) for every
/// refused key and every call that changes something, with its outcome: in `persona_engine_audit`
/// (`GET /audit`) and as a log line.
async fn require_key(State(state): State<AdminState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(expected) = &state.api_key_digest else {
        return Err(ApiError::Disabled);
    };
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let client = client_address(&request);
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let fingerprint = presented.map(|key| fingerprint(key.as_bytes()));
    let accepted = presented.is_some_and(|key| bool::from(digest(key.as_bytes()).ct_eq(expected)));
    let mut entry = crate::db::trail::TrailEntry {
        id: uuid::Uuid::new_v4(),
        at: state.engine.clock.now(),
        key_fingerprint: fingerprint,
        client,
        method: method.to_string(),
        route: path.clone(),
        persona_id: persona_in(&path),
        targets: serde_json::json!({}),
        changes: serde_json::json!({}),
        outcome: String::new(),
        status: 401,
    };
    if !accepted {
        let why = if presented.is_some() { "wrong key" } else { "no bearer key" };
        tracing::warn!(target: "admin_audit", %method, %path, why, key = ?entry.key_fingerprint, client = ?entry.client,
                       "admin authentication failed");
        entry.outcome = format!("refused: {why}");
        keep(&state, &entry).await;
        return Err(ApiError::Unauthorized);
    }
    let mut response = next.run(request).await;
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        let status = response.status();
        if let Some(note) = response.extensions_mut().remove::<AuditNote>() {
            entry.persona_id = note.persona_id.or(entry.persona_id);
            if let (Some(targets), serde_json::Value::Object(more)) = (entry.targets.as_object_mut(), note.targets) {
                targets.extend(more);
            }
            entry.changes = note.changes;
        }
        entry.status = status.as_u16() as i16;
        entry.outcome = if status.is_success() {
            "ok".to_owned()
        } else {
            format!("error: {}", status.canonical_reason().unwrap_or("failed"))
        };
        tracing::info!(target: "admin_audit", %method, %path, status = status.as_u16(), key = ?entry.key_fingerprint,
                       persona = ?entry.persona_id, changes = %entry.changes, "admin call");
        keep(&state, &entry).await;
    }
    Ok(response)
}

/// Stores an audit entry; a database that cannot take it loses the entry, not the call (the log line
/// has it).
async fn keep(state: &AdminState, entry: &crate::db::trail::TrailEntry) {
    let stored = match state.engine.pool.get().await {
        Ok(client) => crate::db::trail::insert(&**client, entry).await.map_err(|e| e.to_string()),
        Err(e) => Err(crate::db::DbError::from(e).to_string()),
    };
    if let Err(error) = stored {
        tracing::warn!(target: "admin_audit", %error, "the audit entry could not be stored");
    }
}

/// The first 12 hex digits of a key's SHA-256: tells one key from another in the trail, and cannot be
/// turned back into the key.
fn fingerprint(key: &[u8]) -> String {
    digest(key).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The caller's address: the first `X-Forwarded-For` hop (the Function URL sets it), else the socket's.
fn client_address(request: &Request) -> Option<String> {
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().chars().filter(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':')).take(45).collect())
        .filter(|v: &String| !v.is_empty());
    forwarded.or_else(|| {
        request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string())
    })
}

/// The persona a `/personas/{id}…` path names.
fn persona_in(path: &str) -> Option<uuid::Uuid> {
    path.strip_prefix("/personas/")?.split('/').next().and_then(|id| uuid::Uuid::parse_str(id).ok())
}

/// The OpenAPI document of the admin API, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(title = "persona-engine admin API", description = "Force tasks, watch the queue, retry or cancel, make, review, edit and pause personas."),
    paths(
        routes::health,
        routes::status,
        routes::kinds,
        routes::trigger,
        routes::list_tasks,
        routes::get_task,
        routes::retry_task,
        routes::cancel_task,
        routes::create_personas,
        routes::list_personas,
        routes::get_persona,
        routes::edit_persona,
        routes::pause_persona,
        routes::resume_persona,
        routes::threads,
        routes::trends,
        routes::audit_trail,
        routes::drain,
        routes::doctor,
        console::page,
        routes::openapi
    ),
    components(schemas(crate::kinds::Kind, crate::queue::TaskStatus)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
