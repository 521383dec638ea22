//! API errors: every failure becomes a status code and `{"error": ..., "field": ...}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Well-formed but invalid input; `field` names the offending field.
    #[error("{message}")]
    Invalid { message: String, field: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// Refused for what one field says (an observation for a probe or location the token
    /// may not post for); `field` names it.
    #[error("{message}")]
    ForbiddenField { message: String, field: String },
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Unavailable(String),
    /// The request body is larger than `[server] max_body_bytes`.
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

impl Error {
    pub(super) fn status_code(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Forbidden(_) | Error::ForbiddenField { .. } => StatusCode::FORBIDDEN,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Store(crate::store::Error::NotFound) => StatusCode::NOT_FOUND,
            Error::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let field = match &self {
            Error::Invalid { field, .. } | Error::ForbiddenField { field, .. } => {
                Some(field.clone())
            }
            _ => None,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            error: message,
            field,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The body of every API error, as the OpenAPI document describes it.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ErrorBody {
    /// What went wrong, in one sentence.
    error: String,
    /// The offending field for 422 (`title`, `channels[0]`, `status`) and for a 403 about one
    /// field (`observations[3].probe`); null otherwise.
    field: Option<String>,
}

/// 401 and 403: every operator endpoint answers these before looking at the request.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: the responses are built from `Error`
pub(super) enum AuthErrors {
    /// No bearer token, or an invalid or revoked one (with `WWW-Authenticate: Bearer`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The token's role may not do this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// 400 and 422 for a JSON body or a query string.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: the responses are built from `Error`
pub(super) enum InputErrors {
    /// Malformed JSON or query string (`field` is null).
    #[response(status = 400)]
    Malformed(ErrorBody),
    /// Well-formed but invalid: a missing or unknown field, a bad enum value or time, an
    /// unknown channel; `field` names it.
    #[response(status = 422)]
    Invalid(ErrorBody),
}

/// 404 for an unknown id.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: the responses are built from `Error`
pub(super) enum NotFoundError {
    /// No such incident, maintenance, ticket, channel, push token or prober location.
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// 413 for a body over `[server] max_body_bytes`, or a batch with too many items.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: the responses are built from `Error`
pub(super) enum TooLargeError {
    /// The body is larger than the server takes, or holds more items than one batch may.
    #[response(status = 413)]
    TooLarge(ErrorBody),
}
