//! Extractors whose rejections are [`ApiError`]s: a malformed body, query or path is a 400 (or 413/415)
//! with serde's own words, which name unknown and missing fields.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON body. Text in it may not hold a NUL character (PostgreSQL cannot store one): the request is
/// refused naming the field, wherever in the body it is.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(request, state).await?;
        if let Some(field) = nul_field(&value, "") {
            return Err(ApiError::BadRequest(crate::operator::nul_in(&field)));
        }
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))
    }
}

/// The path of the first string (or key) holding a NUL character.
fn nul_field(value: &serde_json::Value, at: &str) -> Option<String> {
    let here = || if at.is_empty() { "body".to_owned() } else { at.to_owned() };
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(here),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| nul_field(v, &format!("{}[{i}]", here())))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if k.contains('\0') { Some(path) } else { nul_field(v, &path) }
        }),
        _ => None,
    }
}

/// Query parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Self::TooLarge
            }
            JsonRejection::JsonDataError(e) => Self::BadRequest(format!(
                "invalid body: {}",
                e.body_text().trim_start_matches("Failed to deserialize the JSON body into the target type: ")
            )),
            JsonRejection::JsonSyntaxError(e) => Self::BadRequest(format!(
                "body is not valid JSON: {}",
                e.body_text().trim_start_matches("Failed to parse the request body as JSON: ")
            )),
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!(
            "invalid query: {}",
            rejection.body_text().trim_start_matches("Failed to deserialize query string: ")
        ))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(format!("invalid path: {}", rejection.body_text().trim_start_matches("Invalid URL: ")))
    }
}
