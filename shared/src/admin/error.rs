//! The admin API's one error type: the caller's mistakes as 4xx with a message, our failures as 5xx
//! with a generic message (details go to the log, never to the response).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;
use crate::queue::QueueError;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `not_found`, `conflict`, `payload_too_large`, …
    pub error: &'static str,
    /// What was wrong, for a person.
    pub message: String,
}

/// An admin API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or names something invalid.
    #[error("{0}")]
    BadRequest(String),
    /// No or a wrong bearer token.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// `ADMIN_API_KEY` is not configured.
    #[error("the admin API is disabled: ADMIN_API_KEY is not set")]
    Disabled,
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// No such route.
    #[error("no route {0}")]
    NoRoute(String),
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but not possible with this configuration.
    #[error("{0}")]
    Unprocessable(String),
    /// The body is too large.
    #[error("the request body is larger than {} bytes", super::MAX_BODY_BYTES)]
    TooLarge,
    /// The body is not JSON.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// A dependency is down; try again.
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// A service we call (the model, storage) failed: 503 when trying later may help, else 502.
    #[error("{message}")]
    Upstream {
        /// What failed, without secrets.
        message: String,
        /// Whether trying again later may help.
        retryable: bool,
    },
    /// Our fault.
    #[error("internal error; the details are in the logs")]
    Internal,
}

impl ApiError {
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Disabled => (StatusCode::SERVICE_UNAVAILABLE, "admin_disabled"),
            Self::NotFound(_) | Self::NoRoute(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Upstream { retryable: true, .. } => (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable"),
            Self::Upstream { retryable: false, .. } => (StatusCode::BAD_GATEWAY, "upstream_failed"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = self.status();
        let mut response = (status, Json(ErrorBody { error, message: self.to_string() })).into_response();
        if matches!(self, Self::Unauthorized) {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if e.is_retryable() {
            tracing::warn!(error = %e, "admin request hit an unavailable database");
            Self::Unavailable
        } else {
            tracing::error!(error = %e, "admin request failed");
            Self::Internal
        }
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        DbError::from(e).into()
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::NotFound(_) => Self::NotFound(e.to_string()),
            QueueError::IllegalTransition { .. }
            | QueueError::Duplicate(_)
            | QueueError::PersonaBusy { .. }
            | QueueError::LostClaim(_) => Self::Conflict(e.to_string()),
            QueueError::Db(db) => db.into(),
        }
    }
}

impl From<crate::operator::OperatorError> for ApiError {
    fn from(e: crate::operator::OperatorError) -> Self {
        use crate::operator::OperatorError as E;
        match e {
            E::BadRequest(m) => Self::BadRequest(m),
            E::NotFound(m) => Self::NotFound(m),
            E::Conflict(m) => Self::Conflict(m),
            E::Unprocessable(m) => Self::Unprocessable(m),
            E::Db(e) => e.into(),
            E::Queue(e) => e.into(),
            E::Upstream { message, retryable } => Self::Upstream { message, retryable },
        }
    }
}

impl From<crate::studio::StudioError> for ApiError {
    fn from(e: crate::studio::StudioError) -> Self {
        use crate::studio::StudioError as E;
        let retryable = e.is_retryable();
        match e {
            E::BadRequest(m) => Self::BadRequest(m),
            E::Unusable(m) | E::Unshowable(m) => Self::Unprocessable(m),
            E::Conflict(m) => Self::Conflict(m),
            E::NotFound(m) => Self::NotFound(m),
            E::Model(m) if m.disposition() == crate::ai::Disposition::Skip => Self::Unprocessable(m.to_string()),
            E::Db(e) => e.into(),
            other => {
                tracing::warn!(error = %other, "persona studio call failed");
                Self::Upstream { message: other.to_string(), retryable }
            }
        }
    }
}
