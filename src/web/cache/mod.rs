//! The page cache: the public pages (`/`, the first page of `/history`, `/uptime`), every
//! Statuspage v2 document, the feeds and the overall badge are rendered ahead of time into
//! bytes, with gzip and brotli variants and all their headers, and requests are answered from
//! memory. A request for them never touches SQLite, so a traffic spike during an outage (when
//! everyone refreshes) costs a lookup and a copy, and cannot slow down the store the prober
//! writes to.
//!
//! [`render`] re-renders everything at once when public data changes (the prober's state
//! changes, incident and maintenance writes through [`PublicChanged`], a configuration
//! reload, UTC midnight), debounced so that a burst renders once, and otherwise every
//! [`render::REFRESH`] for details such as the last check. Answers carry a strong `ETag` per
//! variant (`If-None-Match` gives 304), `Vary: Accept-Encoding` and a short `Cache-Control`.
//!
//! [`PublicChanged`]: crate::incident::PublicChanged

pub(super) mod negotiate;
mod render;

pub use render::{forward_state_changes, render_once, spawn};

use super::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use negotiate::{choose, not_modified, Coding};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Every rendered document, swapped whole after each render so that a reader sees one
/// consistent set (the page and the v2 JSON from the same moment).
#[derive(Default)]
pub struct PageCache {
    pages: RwLock<Arc<Pages>>,
    freshness: std::sync::Mutex<Freshness>,
}

/// When the documents were last rendered, and since when rendering fails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freshness {
    pub rendered_at: Option<crate::domain::Timestamp>,
    /// The first failure since the last success, and the latest error.
    pub failing: Option<(crate::domain::Timestamp, String)>,
}

impl Freshness {
    /// `/healthz`'s word for it: `ok`, or how stale the served pages are and why.
    pub fn describe(&self) -> String {
        match (&self.rendered_at, &self.failing) {
            (Some(_), None) => "ok".to_owned(),
            (None, None) => "not rendered yet".to_owned(),
            (Some(at), Some((since, error))) => format!(
                "stale: serving the pages rendered at {}; rendering fails since {}: {error}",
                at.to_rfc3339(),
                since.to_rfc3339()
            ),
            (None, Some((since, error))) => {
                format!(
                    "not rendered: rendering fails since {}: {error}",
                    since.to_rfc3339()
                )
            }
        }
    }
}

type Pages = HashMap<&'static str, Arc<Document>>;

impl PageCache {
    /// The cached document at `path`, if it was rendered.
    fn get(&self, path: &str) -> Option<Arc<Document>> {
        // A poisoned lock only means a render panicked mid-swap; the map itself is whole.
        let pages = match self.pages.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        pages.get(path).cloned()
    }

    /// How fresh the served documents are.
    pub fn freshness(&self) -> Freshness {
        self.lock_freshness().clone()
    }

    fn rendered(&self, at: crate::domain::Timestamp) {
        *self.lock_freshness() = Freshness {
            rendered_at: Some(at),
            failing: None,
        };
    }

    fn failed(&self, at: crate::domain::Timestamp, error: String) {
        let mut freshness = self.lock_freshness();
        let since = freshness.failing.as_ref().map_or(at, |(since, _)| *since);
        freshness.failing = Some((since, error));
    }

    fn lock_freshness(&self) -> std::sync::MutexGuard<'_, Freshness> {
        // Poisoned only by a panic mid-assignment of plain values: the value is whole.
        self.freshness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces every document at once.
    fn replace(&self, pages: Pages) {
        let pages = Arc::new(pages);
        match self.pages.write() {
            Ok(mut p) => *p = pages,
            Err(poisoned) => *poisoned.into_inner() = pages,
        }
    }

    /// The paths that have a rendered document (for tests and logs).
    pub fn paths(&self) -> Vec<&'static str> {
        let mut paths: Vec<_> = self.get_all().keys().copied().collect();
        paths.sort_unstable();
        paths
    }

    fn get_all(&self) -> Arc<Pages> {
        match self.pages.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// One cached answer in each coding.
struct Document {
    variants: [Variant; 3],
}

/// One coding of a document, with everything an answer needs precomputed.
struct Variant {
    body: Bytes,
    etag: HeaderValue,
    /// Headers of a 200 answer.
    full: HeaderMap,
    /// Headers of a 304 answer: validators and caching, no representation metadata
    /// (RFC 9110 section 15.4.5).
    not_modified: HeaderMap,
}

/// The HTML, feed and badge paths the cache serves; with [`super::v2::PATHS`], every path
/// (the renderer fills them all).
const PAGE_PATHS: [&str; 6] = [
    "/",
    "/history",
    "/uptime",
    "/history.atom",
    "/history.rss",
    "/badge/status.svg",
];

/// Every path the cache serves.
pub(super) fn paths() -> impl Iterator<Item = &'static str> {
    PAGE_PATHS.into_iter().chain(super::v2::PATHS)
}

/// What the cached routes share: cloning it per request is one reference count.
struct Shared {
    pages: Arc<PageCache>,
    app: AppState,
}

/// The routes answered from the cache.
pub(super) fn router(app: AppState) -> Router<AppState> {
    let shared = Arc::new(Shared {
        pages: app.pages.clone(),
        app,
    });
    let mut router = Router::new();
    for path in paths() {
        router = if path == "/history" {
            router.route(path, get(history))
        } else {
            router.route(
                path,
                get(
                    move |State(s): State<Arc<Shared>>, request: Request| async move {
                        serve(&s.pages, path, request.headers())
                    },
                ),
            )
        };
    }
    router.with_state(shared)
}

/// `/history`: the first page from the cache, older pages from the store.
async fn history(State(s): State<Arc<Shared>>, request: Request) -> Response {
    match Query::<super::history::HistoryQuery>::try_from_uri(request.uri()) {
        Ok(Query(q)) if q.page.unwrap_or(1) <= 1 => serve(&s.pages, "/history", request.headers()),
        Ok(q) => super::history::history_page(State(s.app.clone()), q)
            .await
            .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// The cached answer for `path` in the coding the request accepts best, or 304 when the
/// request already holds it.
fn serve(pages: &PageCache, path: &str, request: &HeaderMap) -> Response {
    let Some(document) = pages.get(path) else {
        // Only before the first render finished (Beacon renders before it listens) or when
        // it failed; the client may simply retry.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "the page is being rendered; retry in a second",
        )
            .into_response();
    };
    let coding = choose(
        request
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let variant = &document.variants[coding as usize];
    let unchanged = not_modified(
        request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .map(HeaderValue::as_bytes),
        variant.etag.as_bytes(),
    );
    if unchanged {
        let mut response = Response::new(super::no_body::NoBody::body());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        *response.headers_mut() = variant.not_modified.clone();
        response
    } else {
        let mut response = Response::new(Body::from(variant.body.clone()));
        *response.headers_mut() = variant.full.clone();
        response
    }
}

impl Document {
    /// Builds the three variants of `identity` with their headers. `compress` is CPU work:
    /// the renderer calls this off the async workers.
    fn new(
        identity: Vec<u8>,
        content_type: &'static str,
        cache_control: &'static str,
        cors: bool,
        csp: Option<String>,
    ) -> Document {
        let csp = csp
            .and_then(|c| HeaderValue::try_from(c).ok())
            .unwrap_or_else(|| HeaderValue::from_static(super::CSP));
        let digest = ring::digest::digest(&ring::digest::SHA256, &identity);
        let tag: String = digest.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let gzip = render::gzip(&identity);
        let brotli = render::brotli(&identity);
        // A tiny document may grow when compressed: then every client gets identity.
        let smaller = |c: Option<Vec<u8>>| c.filter(|c| c.len() < identity.len()).map(Bytes::from);
        let (gzip, brotli) = (smaller(gzip), smaller(brotli));
        let identity = Bytes::from(identity);
        let variants = Coding::ALL.map(|coding| {
            let compressed = match coding {
                Coding::Identity => None,
                Coding::Gzip => gzip.clone().map(|b| (b, "-gzip", "gzip")),
                Coding::Brotli => brotli.clone().map(|b| (b, "-br", "br")),
            };
            let (body, suffix, encoding) = match compressed {
                Some((b, suffix, encoding)) => (b, suffix, Some(encoding)),
                None => (identity.clone(), "", None),
            };
            let etag = HeaderValue::try_from(format!("\"{tag}{suffix}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
            let mut not_modified = HeaderMap::new();
            not_modified.insert(header::ETAG, etag.clone());
            not_modified.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            not_modified.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            );
            if cors {
                super::cors::add_read_headers(&mut not_modified);
            }
            // The router's layers would add these; present already, they are left alone.
            not_modified.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
            not_modified.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            let mut full = not_modified.clone();
            full.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            if let Some(encoding) = encoding {
                full.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            }
            Variant {
                body,
                etag,
                full,
                not_modified,
            }
        });
        Document { variants }
    }
}

#[cfg(test)]
mod tests;
