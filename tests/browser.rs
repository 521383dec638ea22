//! The status page in a real browser (Debian's headless Chromium): it renders every channel,
//! and the strict Content-Security-Policy blocks nothing the page needs.
//! Compiled only with `BEACON_EXTERNAL_TESTS=1` (set by `.ci/run`, which installs Chromium).
#![cfg(external_tests)]

mod common;

use common::{fast_config, Beacon, Mode, Upstream};
use std::process::Command;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{CHROMIUM} must be installed for this test: {e}"));
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_renders_every_channel_without_csp_violations() {
    let up = Upstream::start().await;
    let down = Upstream::start().await;
    down.set(Mode::Down);
    let beacon = Beacon::start(&fast_config(
        &[("web-form", &up.url()), ("live-chat", &down.url())],
        2,
        1,
    ))
    .await;
    beacon
        .wait_for_state("web-form", "up", Duration::from_secs(10))
        .await;
    beacon
        .wait_for_state("live-chat", "down", Duration::from_secs(10))
        .await;
    beacon
        .wait_for_page(
            "/",
            &["Operational", "Major outage"],
            Duration::from_secs(5),
        )
        .await;

    let url = beacon.url("/");
    let (dom, log) = tokio::task::spawn_blocking(move || chromium(&["--dump-dom", &url]))
        .await
        .unwrap();
    for expected in [
        "Channel web-form",
        "Channel live-chat",
        "Operational",
        "Major outage",
        "HTTP 503",
    ] {
        assert!(
            dom.contains(expected),
            "rendered DOM lacks {expected:?}:\n{dom}"
        );
    }
    assert!(
        !log.contains("Content Security Policy"),
        "the page's own resources were blocked:\n{log}"
    );

    let shot = tempfile::tempdir().unwrap();
    let png = shot.path().join("page.png");
    let url = beacon.url("/");
    let arg = format!("--screenshot={}", png.display());
    tokio::task::spawn_blocking(move || chromium(&[&arg, "--window-size=390,844", &url]))
        .await
        .unwrap();
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        bytes.starts_with(b"\x89PNG"),
        "a PNG of the phone-sized page"
    );
    beacon.stop().await;
}

/// axe-core (npm `@axe-core/cli`, installed by `.ci/run`, driving Debian's chromium through
/// chromedriver) finds no WCAG 2 A/AA violation on the page, the history, an incident page
/// and the monthly uptime page. A screenshot of the page is kept under `target/screenshots`.
#[tokio::test(flavor = "multi_thread")]
async fn axe_finds_no_accessibility_violations() {
    let up = Upstream::start().await;
    let down = Upstream::start().await;
    down.set(Mode::Down);
    let beacon = Beacon::start(&fast_config(
        &[("web-form", &up.url()), ("live-chat", &down.url())],
        2,
        1,
    ))
    .await;
    beacon
        .wait_for_state("live-chat", "down", Duration::from_secs(10))
        .await;
    let token = common::api_token(&beacon, "operator").await;
    let (code, incident) = common::api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(serde_json::json!({"title": "Live chat unavailable", "impact": "major", "message": "We are **investigating**.", "channels": {"live-chat": "major_outage"}})),
    )
    .await;
    assert_eq!(code, 201);
    let pages: Vec<String> = [
        "/".to_owned(),
        "/history".to_owned(),
        format!("/incidents/{}", incident["id"].as_str().unwrap()),
        "/uptime".to_owned(),
    ]
    .iter()
    .map(|p| beacon.url(p))
    .collect();
    let report = run_axe(pages).await;
    assert_eq!(report.matches("0 violations found").count(), 4, "{report}");

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("status-page.png");
    let url = beacon.url("/");
    let arg = format!("--screenshot={}", png.display());
    tokio::task::spawn_blocking(move || chromium(&[&arg, "--window-size=1000,1400", &url]))
        .await
        .unwrap();
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    beacon.stop().await;
}

/// The admin as a logged-in operator sees it: each page is fetched with a session, then
/// served as-is (with the stylesheet) from a local server for axe, which cannot log in.
/// Forms with errors are included: their messages must be tied to their fields.
#[tokio::test(flavor = "multi_thread")]
async fn axe_finds_no_accessibility_violations_in_the_admin() {
    use common::admin::{add_user, AdminClient, AUTH, PASSWORD};
    let config = format!(
        "{}{AUTH}",
        fast_config(&[("web-form", "http://127.0.0.1:9/")], 1, 1)
    );
    let beacon = Beacon::start(&config).await;
    add_user(&beacon, "ada", "admin").await;
    let browser = AdminClient::new(&beacon);
    let mut pages: Vec<(String, String)> = vec![(
        "/admin/login".into(),
        browser.get("/admin/login").await.body,
    )];
    assert_eq!(browser.login("ada", PASSWORD).await.status, 303);
    let created = browser
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", "Web form down"),
                ("impact", "major"),
                ("status", "investigating"),
                ("ch:web-form", "major_outage"),
                ("publish", "no"),
            ],
        )
        .await;
    let incident = created.location().to_owned();
    for path in [
        "/admin",
        "/admin/incidents",
        "/admin/incidents/new",
        incident.as_str(),
        "/admin/maintenance",
        "/admin/tickets",
        "/admin/users",
        "/admin/tokens",
        "/admin/audit",
        "/admin/notifications",
    ] {
        let answer = browser.get(path).await;
        assert_eq!(answer.status, 200, "{path}");
        pages.push((path.to_owned(), answer.body));
    }
    let refused = browser
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", ""),
                ("impact", "major"),
                ("status", "investigating"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    pages.push(("/admin/refused-form".into(), refused.body));
    let css = beacon.get_text("/static/style.css").await;
    let snapshot = serve_snapshot(pages.clone(), css).await;
    let urls: Vec<String> = pages
        .iter()
        .map(|(p, _)| format!("{snapshot}{p}"))
        .collect();
    let report = run_axe(urls).await;
    assert_eq!(
        report.matches("0 violations found").count(),
        pages.len(),
        "{report}"
    );
    beacon.stop().await;
}

/// Serves fixed pages (and the stylesheet) on 127.0.0.1; returns the base URL.
async fn serve_snapshot(pages: Vec<(String, String)>, css: String) -> String {
    use axum::response::IntoResponse;
    let pages = std::sync::Arc::new(pages);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let pages = pages.clone();
        let css = css.clone();
        async move {
            if uri.path() == "/static/style.css" {
                return ([("content-type", "text/css")], css).into_response();
            }
            match pages.iter().find(|(p, _)| p == uri.path()) {
                Some((_, body)) => axum::response::Html(body.clone()).into_response(),
                None => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Runs axe-core's CLI over `urls` in headless Chromium; panics on any violation.
async fn run_axe(urls: Vec<String>) -> String {
    let output = tokio::task::spawn_blocking(move || {
        Command::new("axe")
            .args(&urls)
            .args([
                "--chromedriver-path",
                "/usr/bin/chromedriver",
                "--chrome-path",
                CHROMIUM,
                "--chrome-options=headless=new,no-sandbox,disable-gpu,disable-background-networking,disable-component-update,disable-sync,no-first-run",
                "--tags",
                "wcag2a,wcag2aa",
                "--exit",
            ])
            .output()
            .unwrap_or_else(|e| panic!("axe (npm @axe-core/cli) must be installed by .ci/run: {e}"))
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "axe found violations:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}
