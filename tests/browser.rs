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
