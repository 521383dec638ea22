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
    let output = tokio::task::spawn_blocking(move || {
        Command::new("axe")
            .args(&pages)
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
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "axe found violations:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
