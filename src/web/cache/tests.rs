use super::*;
use crate::domain::{Clock, SystemClock};
use crate::probe::Prober;
use crate::store::Store;
use std::io::Read;
use tokio::sync::watch;

const CONFIG: &str = "[service]\nname = \"Cache test\"\n\n\
    [[channel]]\nid = \"live-chat\"\nname = \"Live chat\"\ngroup = \"Support\"\n";

/// A real `AppState` on a temporary database, with a prober that has nothing to probe (the
/// one channel is declared-only), so nothing but the test reads the store.
async fn app(dir: &std::path::Path) -> (AppState, Prober) {
    let config = Arc::new(crate::config::parse("test.toml", CONFIG).expect("valid config"));
    let store = Store::open(&dir.join("beacon.db")).expect("open store");
    store
        .sync_config(
            &config,
            crate::domain::Clock::now(&crate::domain::SystemClock),
        )
        .await
        .expect("sync config");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let handles = crate::probe::ProbeHandles::new(&config, store.clone(), clock.clone());
    let prober = Prober::start(
        config.clone(),
        store.clone(),
        clock.clone(),
        handles.clone(),
        true,
    )
    .await
    .expect("prober");
    let state = AppState {
        published: tokio::sync::broadcast::channel(4).0,
        config: watch::channel(config).1,
        reload_error: watch::channel(None).1,
        store,
        live: handles.live.clone(),
        heartbeat: handles.heartbeat.clone(),
        jobs: watch::channel("here (epoch 0)".to_owned()).1,
        metrics: handles.metrics.clone(),
        clock,
        pages: Arc::new(PageCache::default()),
        public: crate::incident::PublicChanged::default(),
        server: Arc::default(),
        ingest: handles.ingest.clone(),
        probers: crate::web::ProberRegistry::default(),
    };
    (state, prober)
}

#[tokio::test]
async fn cached_paths_are_served_without_reading_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, prober) = app(dir.path()).await;
    render_once(&app).await.expect("render");
    assert_eq!(
        app.pages.paths().len(),
        paths().count(),
        "every path rendered"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = crate::web::router(app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let reads_before = app.store.reads_started();
    for path in paths() {
        for accept in ["", "gzip", "br", "gzip, br;q=0.5"] {
            let response = client
                .get(format!("http://{addr}{path}"))
                .header("accept-encoding", accept)
                .send()
                .await
                .expect("GET");
            assert_eq!(response.status(), 200, "{path} ({accept:?})");
            let etag = response.headers()["etag"].clone();
            let again = client
                .get(format!("http://{addr}{path}"))
                .header("accept-encoding", accept)
                .header("if-none-match", etag)
                .send()
                .await
                .expect("GET again");
            assert_eq!(again.status(), 304, "{path} ({accept:?})");
        }
    }
    assert_eq!(
        app.store.reads_started(),
        reads_before,
        "a cached answer read the store"
    );
    // The control: a page that is not cached does read it.
    let older = client
        .get(format!("http://{addr}/history?page=2"))
        .send()
        .await
        .expect("GET older history");
    assert_eq!(older.status(), 200);
    assert!(app.store.reads_started() > reads_before);

    server.abort();
    prober.stop().await;
    app.store.close().await.expect("close");
}

fn decode(variant: &Variant) -> Vec<u8> {
    let mut out = Vec::new();
    match variant
        .full
        .get(header::CONTENT_ENCODING)
        .map(HeaderValue::as_bytes)
    {
        None => out.extend_from_slice(&variant.body),
        Some(b"gzip") => {
            flate2::read::GzDecoder::new(&variant.body[..])
                .read_to_end(&mut out)
                .expect("gunzip");
        }
        Some(b"br") => {
            brotli::Decompressor::new(&variant.body[..], 4096)
                .read_to_end(&mut out)
                .expect("brotli");
        }
        Some(other) => panic!("unexpected coding {other:?}"),
    }
    out
}

#[test]
fn every_variant_decodes_to_the_identity_bytes_with_its_own_etag() {
    let page: Vec<u8> = (0..2000)
        .flat_map(|i| format!("<li>channel {i} is up</li>\n").into_bytes())
        .collect();
    let document = Document::new(
        page.clone(),
        "text/html; charset=utf-8",
        "public, max-age=10",
        true,
        None,
    );
    let mut etags = Vec::new();
    for (coding, variant) in Coding::ALL.iter().zip(&document.variants) {
        assert_eq!(decode(variant), page, "{coding:?}");
        assert!(variant.body.len() <= page.len());
        assert_eq!(variant.full[header::VARY], "accept-encoding");
        assert_eq!(variant.full[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(
            variant.full[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(variant.not_modified.get(header::CONTENT_TYPE).is_none());
        assert_eq!(variant.not_modified[header::ETAG], variant.etag);
        etags.push(variant.etag.clone());
    }
    etags.dedup();
    assert_eq!(etags.len(), 3, "one strong ETag per variant: {etags:?}");
    assert!(etags.iter().all(|e| e.as_bytes().starts_with(b"\"")));
}

#[test]
fn a_tiny_document_is_never_sent_bigger_than_it_is() {
    let document = Document::new(
        b"{}".to_vec(),
        "application/json",
        "public, max-age=10",
        false,
        None,
    );
    for variant in &document.variants {
        assert_eq!(&variant.body[..], b"{}");
        assert!(variant.full.get(header::CONTENT_ENCODING).is_none());
        assert!(variant
            .full
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        assert_eq!(variant.etag, document.variants[0].etag);
    }
}
