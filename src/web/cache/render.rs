//! Rendering the cached documents, and the task that keeps them fresh.

use super::{Document, Pages};
use crate::incident::PublicChanged;
use crate::probe::ProbeEvent;
use crate::web::{badges, feeds, history, page, v2, AppState, Error};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Without a change, pages are rendered again this often, for details such as the last
/// check; the design allows a cached page to be at most this old.
pub(super) const REFRESH: Duration = Duration::from_secs(10);

/// A change waits this long for others before the render starts, so a burst (an operator's
/// script posting several updates, many channels failing together) renders once.
const DEBOUNCE: Duration = Duration::from_millis(50);

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Brotli quality 9 of 11: within a few percent of 11's size on these pages at a tenth of
/// the time (11 takes hundreds of milliseconds on the page with 90-day bars, every render).
const BROTLI_QUALITY: u32 = 9;
/// Brotli window, 2^22 bytes: larger than any page.
const BROTLI_WINDOW: u32 = 22;

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";
/// The pages and the v2 JSON are rendered at most [`REFRESH`] apart.
const PAGE_CACHE: &str = "public, max-age=10";

/// One document before compression.
struct Source {
    path: &'static str,
    content_type: &'static str,
    cache_control: &'static str,
    cors: bool,
    /// A Content-Security-Policy other than the site's default (the page with an off-site logo).
    csp: Option<String>,
    body: Vec<u8>,
}

impl Source {
    fn new(path: &'static str, content_type: &'static str, body: impl Into<Vec<u8>>) -> Source {
        Source {
            path,
            content_type,
            cache_control: PAGE_CACHE,
            cors: false,
            csp: None,
            body: body.into(),
        }
    }
}

/// Renders every cached document from the store and the live view, compresses them off the
/// async workers, and swaps them in together. On an error the previous documents stay, and
/// the cache notes since when it is stale (`/healthz` says so: a node that lost its database
/// keeps serving the last page it rendered).
pub async fn render_once(app: &AppState) -> Result<(), Error> {
    let outcome = render_all(app).await;
    let now = app.clock.now();
    match &outcome {
        Ok(()) => app.pages.rendered(now),
        Err(e) => app.pages.failed(now, e.to_string()),
    }
    outcome
}

async fn render_all(app: &AppState) -> Result<(), Error> {
    let mut sources = vec![
        Source {
            csp: crate::web::branding::content_security_policy(&app.config().page),
            ..Source::new("/", HTML, page::index(app).await?)
        },
        Source::new("/history", HTML, history::history(app, 1).await?),
        Source {
            cache_control: "public, max-age=60",
            ..Source::new("/uptime", HTML, history::uptime(app).await?)
        },
    ];
    let (atom, rss) = feeds::documents(app).await?;
    sources.push(Source {
        cache_control: feeds::CACHE,
        ..Source::new("/history.atom", "application/atom+xml; charset=utf-8", atom)
    });
    sources.push(Source {
        cache_control: feeds::CACHE,
        ..Source::new("/history.rss", "application/rss+xml; charset=utf-8", rss)
    });
    sources.push(Source {
        cache_control: badges::CACHE,
        ..Source::new(
            "/badge/status.svg",
            "image/svg+xml; charset=utf-8",
            badges::overall(app).await?,
        )
    });
    for (path, value) in v2::documents(app).await? {
        let body =
            serde_json::to_vec(&value).map_err(|e| Error::Unavailable(format!("{path}: {e}")))?;
        sources.push(Source {
            cors: true,
            ..Source::new(path, JSON, body)
        });
    }
    let pages = tokio::task::spawn_blocking(move || {
        sources
            .into_iter()
            .map(|s| {
                let document =
                    Document::new(s.body, s.content_type, s.cache_control, s.cors, s.csp);
                (s.path, Arc::new(document))
            })
            .collect::<Pages>()
    })
    .await
    .map_err(|e| Error::Unavailable(format!("rendering the pages: {e}")))?;
    app.pages.replace(pages);
    Ok(())
}

/// Keeps the cache fresh until `stop`: renders at once (after [`DEBOUNCE`]) when public data
/// changes (a poke of `app.public`: an incident, a state change from the prober through
/// [`forward_state_changes`], another node's change notice; a configuration reload) and at
/// UTC midnight (the 90-day bars move on), and otherwise every [`REFRESH`].
pub fn spawn(app: AppState, stop: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(keep_fresh(app, stop))
}

/// The prober's confirmed state changes are public changes (for as long as that prober
/// runs: the app starts one forwarder per prober).
pub async fn forward_state_changes(
    mut states: broadcast::Receiver<ProbeEvent>,
    public: PublicChanged,
    stop: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = states.recv() => event,
        };
        match event {
            Ok(ProbeEvent::ChannelState { .. }) | Err(broadcast::error::RecvError::Lagged(_)) => {
                public.poke();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn keep_fresh(app: AppState, stop: CancellationToken) {
    let mut requests = app.public.requests();
    let mut config = app.config.clone();
    loop {
        let until_midnight = DAY_MS - app.clock.now().millis().rem_euclid(DAY_MS);
        let wait = REFRESH.min(Duration::from_millis(
            u64::try_from(until_midnight).unwrap_or(0),
        ));
        let changed = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => false,
            r = requests.changed() => r.is_ok(),
            r = config.changed() => r.is_ok(),
        };
        if changed {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(DEBOUNCE) => {}
            }
        }
        // Read before rendering: the render then includes every change up to this number.
        let number = *requests.borrow_and_update();
        config.borrow_and_update();
        // The whole render (reports, templates, JSON, compression: tens of milliseconds of
        // CPU) runs on a blocking-pool thread, never on the workers answering requests, where
        // it would stall every connection queued behind it.
        let started = std::time::Instant::now();
        let runtime = tokio::runtime::Handle::current();
        let rendering = app.clone();
        let rendered =
            tokio::task::spawn_blocking(move || runtime.block_on(render_once(&rendering))).await;
        match rendered {
            Ok(Ok(())) => tracing::debug!(
                elapsed_ms = started.elapsed().as_millis(),
                "rendered the cached pages"
            ),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "rendering the cached pages failed; the previous ones stay")
            }
            Err(e) => tracing::error!(error = %e, "the page render task failed"),
        }
        // Also after a failure: a writer waiting for its change must not wait in vain.
        app.public.mark_applied(number);
    }
}

/// `body` gzipped at the best level (done once per render, read many times).
pub(super) fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::best(),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// `body` brotli-compressed at [`BROTLI_QUALITY`].
pub(super) fn brotli(body: &[u8]) -> Option<Vec<u8>> {
    let out = Vec::with_capacity(body.len() / 5);
    let mut writer = brotli::CompressorWriter::new(out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
    writer.write_all(body).ok()?;
    // Finishes the stream.
    Some(writer.into_inner())
}
