//! End to end: real upstreams switched up, down, slow and closed; Beacon's live state, its
//! stored rows and its pages follow them.

mod common;

use common::{fast_config, open_db, Beacon, Mode, Upstream};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_channel_goes_down_after_the_failure_threshold_and_back_up_after_the_success_threshold() {
    let upstream = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &upstream.url())], 3, 2)).await;
    beacon.wait_for_state("chat", "up", WITHIN).await;

    upstream.set(Mode::Down);
    let down = beacon.wait_for_state("chat", "down", WITHIN).await;
    assert_eq!(down["reason"], "HTTP 503");
    upstream.set(Mode::Up);
    let up = beacon.wait_for_state("chat", "up", WITHIN).await;
    assert_eq!(up["reason"], serde_json::Value::Null);

    let (db, _dir) = beacon.stop().await;
    let conn = open_db(&db);
    let outcomes: Vec<(i64, String)> = conn
        .prepare("SELECT at_ms, outcome FROM observations ORDER BY at_ms")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let first_failure = outcomes
        .iter()
        .position(|(_, o)| o == "down")
        .expect("a failure");
    let failures = outcomes[first_failure..]
        .iter()
        .take_while(|(_, o)| o == "down")
        .count();
    assert!(failures >= 3, "down needed 3 failures, saw {failures}");
    let first_success_after = first_failure + failures;

    // The outage starts at the first failed observation, the recovery at the first success.
    let transitions: Vec<(i64, String)> = conn
        .prepare(
            "SELECT at_ms, state FROM channel_transitions WHERE channel_id = 'chat' ORDER BY at_ms",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        transitions,
        vec![
            (outcomes[0].0, "up".to_owned()),
            (outcomes[first_failure].0, "down".to_owned()),
            (outcomes[first_success_after].0, "up".to_owned()),
        ]
    );
    assert_eq!(
        beacon_time(&down["since"]),
        outcomes[first_failure].0,
        "API `since` is the first failure"
    );
    assert_eq!(beacon_time(&up["since"]), outcomes[first_success_after].0);
}

#[tokio::test]
async fn slow_and_closed_upstreams_are_down_with_their_reason_and_delay_nobody_else() {
    let healthy = Upstream::start().await;
    let slow = Upstream::start().await;
    let mut closed = Upstream::start().await;
    slow.set(Mode::Slow);
    closed.close().await;
    let beacon = Beacon::start(&fast_config(
        &[
            ("healthy", &healthy.url()),
            ("slow", &slow.url()),
            ("closed", &closed.url()),
            ("tls", &format!("https://{}/health", healthy.addr)),
        ],
        2,
        1,
    ))
    .await;

    let slow_state = beacon.wait_for_state("slow", "down", WITHIN).await;
    assert_eq!(slow_state["reason"], "timeout after 80ms");
    let closed_state = beacon.wait_for_state("closed", "down", WITHIN).await;
    assert_eq!(closed_state["reason"], "connect: refused");
    beacon.wait_for_state("healthy", "up", WITHIN).await;
    let tls_state = beacon.wait_for_state("tls", "down", WITHIN).await;
    let reason = tls_state["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("tls: "),
        "https against plain HTTP: {reason}"
    );

    // A channel comes back when its upstream listens again.
    closed.reopen().await;
    beacon.wait_for_state("closed", "up", WITHIN).await;

    let (db, _dir) = beacon.stop().await;
    // The healthy probe kept its own 100 ms schedule while the slow one hung for 80 ms per
    // run: had they shared a task, the typical gap would be 180 ms. The median is immune to
    // a few late runs on a busy machine.
    let conn = open_db(&db);
    let times: Vec<i64> = conn
        .prepare(
            "SELECT o.at_ms FROM observations o JOIN probes p ON p.id = o.probe_id
             WHERE p.channel_id = 'healthy' ORDER BY o.at_ms",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(times.len() >= 3, "healthy probe ran {} times", times.len());
    let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    assert!(median < 150, "median gap {median} ms in {times:?}");
}

#[tokio::test]
async fn the_page_and_the_api_list_every_channel_with_its_state() {
    let up = Upstream::start().await;
    let down = Upstream::start().await;
    down.set(Mode::Down);
    let mut config = fast_config(&[("web-form", &up.url()), ("live-chat", &down.url())], 2, 1);
    config.push_str("\n[[channel]]\nid = \"product\"\nname = \"The product\"\ngroup = \"Product\"\nin_commitment = false\n");
    let beacon = Beacon::start(&config).await;
    beacon.wait_for_state("web-form", "up", WITHIN).await;
    beacon.wait_for_state("live-chat", "down", WITHIN).await;

    let status = beacon.status().await;
    assert_eq!(status["indicator"], "major");
    let ids: Vec<&str> = status["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["web-form", "live-chat", "product"]);
    let product = beacon.channel("product").await;
    assert_eq!(product["state"], "unknown", "declared-only: no probe");
    assert_eq!(product["in_commitment"], false);
    let time = status["channels"][0]["last_checked_at"].as_str().unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[19] == b'.',
        "RFC 3339 UTC with milliseconds: {time}"
    );

    beacon
        .wait_for_page("/", &["Major outage", "HTTP 503"], Duration::from_secs(5))
        .await;
    let page = reqwest::get(beacon.url("/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(page.headers().contains_key("cache-control"));
    let html = page.text().await.unwrap();
    for expected in [
        "Channel web-form",
        "Channel live-chat",
        "The product",
        "Operational",
        "Major outage",
        "HTTP 503",
        "Partial System Outage",
        "Declared by operators",
    ] {
        assert!(html.contains(expected), "page lacks {expected:?}");
    }
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(!html.contains("ago"), "absolute times only");

    let missing = reqwest::get(beacon.url("/api/v1/nothing")).await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "no such endpoint: /api/v1/nothing");
    let missing = reqwest::get(beacon.url("/nothing")).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    let post = reqwest::Client::new()
        .post(beacon.url("/api/v1/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET,HEAD");
    let body: serde_json::Value = post.json().await.unwrap();
    assert_eq!(body["error"], "method POST not allowed on /api/v1/status");

    let health = reqwest::get(beacon.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    beacon.stop().await;
}

#[tokio::test]
async fn a_restart_continues_from_the_stored_state() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Down);
    let config = fast_config(&[("chat", &upstream.url())], 2, 1);
    let beacon = Beacon::start(&config).await;
    let down = beacon.wait_for_state("chat", "down", WITHIN).await;
    let (db, dir) = beacon.stop().await;

    // Restarted within the coverage: still down, since the same instant, before any new run.
    let beacon = Beacon::start_on(&config, &db).await;
    let restored = beacon.channel("chat").await;
    assert_eq!(restored["state"], "down", "{restored}");
    assert_eq!(restored["since"], down["since"]);
    upstream.set(Mode::Up);
    beacon.wait_for_state("chat", "up", WITHIN).await;
    beacon.stop().await;
    drop(dir);
}

/// Parses an API time back to epoch milliseconds.
fn beacon_time(value: &serde_json::Value) -> i64 {
    beacon::domain::Timestamp::parse(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .millis()
}

/// A hanging upstream with the timeout equal to the interval: every run lasts its whole
/// timeout. Starts stay on their slots instead of each one beginning where the last ended
/// (which made them drift a few milliseconds later per run).
#[tokio::test]
async fn a_hanging_upstream_does_not_make_the_starts_drift() {
    let upstream = Upstream::start().await;
    upstream.set(Mode::Slow);
    let config = fast_config(&[("chat", &upstream.url())], 1, 1)
        .replace("timeout = \"80ms\"", "timeout = \"100ms\"");
    let beacon = Beacon::start(&config).await;
    let db = beacon.db.clone();
    common::wait_for(WITHIN, "40 runs", || {
        let db = db.clone();
        async move { (common::stored_observations(&db, "chat").len() >= 40).then_some(()) }
    })
    .await;
    let (db, _dir) = beacon.stop().await;
    let rows = common::stored_observations(&db, "chat");
    assert!(rows.iter().all(|r| r.outcome == "down"), "{rows:?}");
    let late: Vec<i64> = rows.iter().map(|r| r.lateness_ms).collect();
    // Drifting by even 1 ms a run would pass 30 ms within these 40 runs.
    assert!(
        late.iter().filter(|&&ms| ms > 30).count() <= 2,
        "starts drift: lateness {late:?}"
    );
    let scheduled: Vec<i64> = rows.iter().map(|r| r.at_ms - r.lateness_ms).collect();
    assert!(
        scheduled.windows(2).filter(|w| w[1] - w[0] != 100).count() <= 2,
        "scheduled starts 100 ms apart, not skipping slots: {scheduled:?}"
    );
}
