//! HTTP: the public status page, the JSON API and the health check.
//!
//! Owns: routes, status codes, headers, HTML (maud) and JSON shapes. May use every module
//! below it. The only module that knows axum, HTTP status codes or maud. Handlers stay three
//! steps: extract, one call into the layer below, render.

mod admin;
mod api;
mod auth;
mod badges;
mod body;
mod branding;
mod cache;
mod cors;
mod error;
mod feeds;
mod history;
mod incident_checks;
mod incident_view;
mod incidents;
mod live;
mod markdown;
mod metrics;
mod no_body;
mod observation_checks;
pub mod openapi;
mod openapi_config;
mod page;
mod prober_api;
mod probers;
mod push;
mod recurring;
mod reports;
mod seen_from;
mod server;
mod text;
mod ticket_events;
mod tickets;
mod v2;

pub use cache::{
    forward_state_changes, render_once as render_pages, spawn as spawn_page_cache, PageCache,
};
pub use error::Error;
pub use incident_view::IncidentView;
pub use probers::{ProberRegistry, ProberSeen, ProberStatus};
pub use server::{listen, raise_fd_limit, serve, ServerReading, ServerStats};

use crate::domain::{Clock, Config};
use crate::probe::{Heartbeat, LiveView};
use crate::store::Store;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;

/// Everything a handler may need; cloned per request (all fields are handles).
#[derive(Clone)]
pub struct AppState {
    /// Incidents just published or updated in public, for notifications.
    pub published: tokio::sync::broadcast::Sender<crate::domain::Incident>,
    /// The configuration in force; replaced on a successful reload.
    pub config: watch::Receiver<Arc<Config>>,
    /// Why the latest reload was refused, if it was (shown on `/healthz`).
    pub reload_error: watch::Receiver<Option<String>>,
    pub store: Store,
    pub live: LiveView,
    pub heartbeat: Heartbeat,
    /// Where the jobs run, as `/healthz` tells it ("here (epoch 3)", "another node", ...).
    pub jobs: watch::Receiver<String>,
    /// The prober's counters and histograms, read by `/metrics`.
    pub metrics: crate::probe::ProbeMetrics,
    pub clock: Arc<dyn Clock>,
    /// The rendered public pages and v2 JSON, served without touching the store.
    pub pages: Arc<PageCache>,
    /// Poked by every writer of public data so the page cache renders again at once.
    pub public: crate::incident::PublicChanged,
    /// The HTTP server's connection counts, shown on `/healthz`.
    pub server: Arc<ServerStats>,
    /// Where batches from prober nodes go: the server's recorder.
    pub ingest: crate::probe::Ingest,
    /// What each prober node last said of itself, for `/healthz` and the admin.
    pub probers: ProberRegistry,
}

impl AppState {
    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Says public data changed and waits (a bounded time) until the cached pages show it,
    /// so an operator who reloads the page after a write sees it.
    pub async fn public_changed(&self) {
        if !self.public.poke_and_wait(PUBLIC_WAIT).await {
            tracing::warn!("the cached pages did not show a change within {PUBLIC_WAIT:?}; they will at the next render");
        }
    }
}

/// How long a write waits for the page cache to show it.
const PUBLIC_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Strict policy: no scripts at all, styles only from our own stylesheet.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What a node without the web role serves: `/healthz` and `/metrics` only (its load
/// balancer and monitoring still see it); everything else is 404.
pub fn health_router(state: AppState) -> Router {
    api::router()
        .merge(metrics::router())
        .fallback(not_found)
        .with_state(state)
}

/// The whole application router. `/api/v1` comes from [`openapi::documented`], and the route
/// layer [`openapi::only_documented`] refuses any `/api/v1` route the document does not list.
pub fn router(state: AppState) -> Router {
    let max_body = state.config().server.max_body_bytes;
    let (api_v1, document) = openapi::documented().split_for_parts();
    let documented = openapi::Documented::of(&document);
    Router::new()
        .merge(api_v1)
        .merge(cache::router(state.clone()))
        .merge(page::router())
        .merge(history::router())
        .merge(api::router())
        .merge(reports::router())
        .merge(badges::router())
        .merge(metrics::router())
        .route_layer(axum::middleware::from_fn_with_state(
            documented,
            openapi::only_documented,
        ))
        .merge(admin::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(cors::public_json))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // A body over the limit is 413: at once when its length is declared, and when the
        // JSON extractor reaches the limit otherwise (chunked bodies).
        .layer(axum::middleware::from_fn_with_state(
            max_body,
            refuse_large_bodies,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// The 413 answer for a body over `[server] max_body_bytes`.
fn too_large() -> Error {
    Error::TooLarge("request body too large".to_owned())
}

/// Answers 413 before reading a body whose declared length is over the limit (JSON under
/// `/api/`, plain text elsewhere), so no handler ever buffers it.
async fn refuse_large_bodies(
    axum::extract::State(max_body): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        let message = format!("request body too large: the limit is {max_body} bytes");
        return if request.uri().path().starts_with("/api/") {
            Error::TooLarge(message).into_response()
        } else {
            (StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
        };
    }
    next.run(request).await
}

/// 405 for an undeclared method; axum adds the `Allow` header itself.
async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("method {method} not allowed on {}", uri.path());
    if uri.path().starts_with("/api/") {
        Error::MethodNotAllowed(message).into_response()
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, message).into_response()
    }
}

/// 404: JSON under `/api/`, a small HTML page elsewhere.
async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        Error::NotFound(format!("no such endpoint: {}", uri.path())).into_response()
    } else {
        page::not_found(uri.path()).into_response()
    }
}
