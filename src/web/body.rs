//! Request extractors with the API's error convention: malformed JSON is 400, well-formed
//! but invalid (missing or unknown field, bad enum) is 422 naming the field; a malformed query
//! string or path segment is 400. Always as JSON, never axum's plain-text rejections.

use super::Error;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Like `axum::Json`, with Beacon's JSON errors.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(JsonRejection::JsonDataError(e)) => {
                let message = e.body_text();
                Err(Error::Invalid {
                    field: field_of(&message),
                    message,
                })
            }
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(super::too_large())
            }
            Err(e) => Err(Error::BadRequest(e.body_text())),
        }
    }
}

/// Like `axum::extract::Query`, with a JSON 400 for a malformed query string.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| Error::BadRequest(e.body_text()))
    }
}

/// Like `axum::extract::Path`, with a JSON 400 for a segment that does not decode.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e| Error::BadRequest(e.body_text()))
    }
}

/// The field serde complains about (`missing field `title``, `unknown field `x``, or a
/// path like `channels.live-chat: unknown variant`), or `body`.
fn field_of(message: &str) -> String {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.split(marker).nth(1) {
            if let Some(field) = rest.split('`').next() {
                return field.to_owned();
            }
        }
    }
    message
        .split(": ")
        .nth(1)
        .filter(|p| !p.contains(' ') && !p.is_empty())
        .unwrap_or("body")
        .to_owned()
}
