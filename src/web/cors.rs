//! CORS for the public read-only JSON (`/api/v2/*`, `/api/v1/status`, the OpenAPI document):
//! any origin may read it, so a status widget on another site can `fetch` it, with a JSON
//! content type (which makes the browser send a preflight) and `If-None-Match` (which needs
//! `ETag` exposed). The operator API gets none of this: a browser on another origin can
//! neither preflight nor read it.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Response headers a cross-origin script may read besides the safelisted ones.
pub(super) const EXPOSE_HEADERS: &str = "ETag, Retry-After, Vary";
/// Methods a preflight admits.
const ALLOW_METHODS: &str = "GET, HEAD, OPTIONS";
/// Request headers a preflight admits: what a reader of cached JSON sends.
const ALLOW_HEADERS: &str =
    "Accept, Accept-Language, Cache-Control, Content-Type, If-Modified-Since, If-None-Match";
/// How long a browser may keep a preflight's answer (one day, in seconds).
const MAX_AGE: &str = "86400";

/// Whether `path` is public read-only JSON that any origin may read.
pub(super) fn is_public_json(path: &str) -> bool {
    path.starts_with("/api/v2/") || matches!(path, "/api/v1/status" | "/api/v1/openapi.json")
}

/// Adds the headers of a CORS answer (`*` and the exposed headers), leaving any present.
pub(super) fn add_read_headers(headers: &mut HeaderMap) {
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
}

/// Layer over the whole router: answers the preflight (`OPTIONS`) of public JSON with 204,
/// before routing would answer 405, and marks its other answers readable by any origin.
/// Every other path passes untouched.
pub(super) async fn public_json(request: Request, next: Next) -> Response {
    if !is_public_json(request.uri().path()) {
        return next.run(request).await;
    }
    if request.method() == Method::OPTIONS {
        return preflight();
    }
    let mut response = next.run(request).await;
    add_read_headers(response.headers_mut());
    response
}

/// 204 with what a browser's preflight asks for.
fn preflight() -> Response {
    let mut response = Response::new(super::no_body::NoBody::body());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    add_read_headers(headers);
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS),
        (header::ACCESS_CONTROL_MAX_AGE, MAX_AGE),
        (header::ALLOW, ALLOW_METHODS),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_public_read_only_json_is_cross_origin() {
        for (path, public) in [
            ("/api/v2/status.json", true),
            ("/api/v2/incidents.json", true),
            ("/api/v1/status", true),
            ("/api/v1/openapi.json", true),
            ("/api/v1/incidents", false),
            ("/api/v1/tickets", false),
            ("/api/v1/status/x", false),
            ("/api/v2", false),
            ("/admin", false),
            ("/", false),
        ] {
            assert_eq!(is_public_json(path), public, "{path}");
        }
    }
}
