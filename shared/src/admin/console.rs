//! The operator console: one page and its script and style, embedded in the binary (nothing to build or
//! upload at deploy time), served without the key (they hold no data; the page asks for the key and
//! sends it to the API itself). A strict Content-Security-Policy allows only these files and this
//! server's API: no inline script, no other origin.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// The policy every console file is served with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data: https:; media-src 'self' https:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The console: the queue, spend against the budget, failures with their decisions, threads as readers
/// see them, each persona's day against its caps, the audit's figures; trigger, retry, cancel, pause
/// and resume. Needs no key to load; asks for it.
#[utoipa::path(get, path = "/console", security(()), responses(
    (status = 200, description = "the console page", content_type = "text/html")))]
pub async fn page() -> Response {
    file(PAGE, "text/html; charset=utf-8")
}

/// The console's script.
pub async fn script() -> Response {
    file(SCRIPT, "text/javascript; charset=utf-8")
}

/// A picture or clip from `MEDIA_DIR`, for the console's threads when media is stored locally (with
/// Supabase Storage the page fetches the bucket's public address instead). What personas publish is
/// public on the platform anyway; keys are checked so nothing outside the directory is reachable.
pub async fn media(
    axum::extract::State(state): axum::extract::State<super::AdminState>,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Response {
    use axum::http::StatusCode;
    let config = &state.engine.config;
    let unsafe_key = key.split('/').any(|part| part.is_empty() || part == "." || part == ".." || part.contains('\\'));
    if config.supabase.is_some() || unsafe_key {
        return StatusCode::NOT_FOUND.into_response();
    }
    let content_type = match key.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("mp4") => "video/mp4",
        Some("webp") => "image/webp",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match tokio::fs::read(config.image.local_dir.join(&key)).await {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
            response
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The console's style.
pub async fn style() -> Response {
    file(STYLE, "text/css; charset=utf-8")
}
