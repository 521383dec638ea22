//! An empty body of no stated size, for 204 and 304 answers.
//!
//! axum writes `content-length` for any body whose size it knows, so `Body::empty()` would
//! put `content-length: 0` on a 304, where the header may only give the length of the
//! representation the client already holds (RFC 9110 section 8.6), and on a 204, where it
//! must not appear at all (section 8.6 too).

use axum::body::{Body, Bytes};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// See the module documentation.
pub(super) struct NoBody;

impl NoBody {
    /// As an axum body.
    pub(super) fn body() -> Body {
        Body::new(NoBody)
    }

    /// A 204 No Content without `content-length`.
    pub(super) fn no_content() -> axum::response::Response {
        let mut response = axum::response::Response::new(Self::body());
        *response.status_mut() = axum::http::StatusCode::NO_CONTENT;
        response
    }
}

impl http_body::Body for NoBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        true
    }
}
