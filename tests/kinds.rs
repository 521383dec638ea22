//! Every probe kind and the condition language, end to end against real local servers: an
//! in-process Beacon probes them every 100-300 ms and the tests read its live state
//! (`/api/v1/status`), its push endpoint and its stored rows.

mod common;

use beacon::domain::{Clock, ProbeKey, SystemClock};
use beacon::store::Store;
use common::dns::DnsResponder;
use common::raw::{closed_port, RawServer};
use common::scripted::{Reply, Scripted};
use common::tls::TlsServer;
use common::{open_db, probes_config, stored_observations, wait_for, Beacon, Upstream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(5);

/// Probe keys for a fast http-style probe: every 100 ms, one observation confirms.
fn fast(target: &str, extra: &str) -> String {
    format!(
        "{target}\nevery = \"100ms\"\ntimeout = \"80ms\"\nfailure_threshold = 1\nsuccess_threshold = 1\n{extra}"
    )
}

fn reason(channel: &serde_json::Value) -> &str {
    channel["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason in {channel}"))
}

#[tokio::test]
async fn http_conditions_judge_the_status_and_the_json_body() {
    let upstream = Scripted::start().await;
    upstream.set("/api", Reply::json(r#"{"status":"ok","items":[1,2]}"#));
    let probe = fast(
        &format!("url = \"{}\"", upstream.url("/api")),
        r#"conditions = ["[STATUS] == 200", "[BODY].status == ok", "len([BODY].items) > 0"]"#,
    );
    let beacon = Beacon::start(&probes_config("", &[("api", probe)])).await;
    beacon.wait_for_state("api", "up", WITHIN).await;

    upstream.set("/api", Reply::json(r#"{"status":"degraded","items":[]}"#));
    let down = beacon.wait_for_state("api", "down", WITHIN).await;
    // The first failing condition, with the value seen.
    assert_eq!(reason(&down), "[BODY].status (degraded) == ok");

    upstream.set("/api", Reply::json(r#"{"status":"ok","items":[]}"#));
    wait_for(WITHIN, "the len() condition to be the reason", || async {
        let channel = beacon.channel("api").await;
        (channel["reason"] == "len([BODY].items) (0) > 0").then_some(())
    })
    .await;
    assert_eq!(beacon.channel("api").await["state"], "down");

    upstream.set("/api", Reply::json(r#"{"status":"ok","items":[3]}"#));
    let up = beacon.wait_for_state("api", "up", WITHIN).await;
    assert_eq!(up["reason"], serde_json::Value::Null);
    beacon.stop().await;
}

#[tokio::test]
async fn a_slow_success_is_degraded_by_degraded_if_and_up_again_once_fast() {
    let upstream = Scripted::start().await;
    upstream.set("/slow", Reply::ok("ok").after(Duration::from_millis(100)));
    let probe = format!(
        "url = \"{}\"\nevery = \"200ms\"\ntimeout = \"180ms\"\nfailure_threshold = 1\n\
         success_threshold = 1\ndegraded_if = [\"[RESPONSE_TIME] > 50\"]",
        upstream.url("/slow")
    );
    let beacon = Beacon::start(&probes_config("", &[("slow", probe)])).await;
    let degraded = beacon.wait_for_state("slow", "degraded", WITHIN).await;
    let why = reason(&degraded);
    let shown: u64 = why
        .strip_prefix("degraded: [RESPONSE_TIME] (")
        .and_then(|rest| rest.strip_suffix(") > 50"))
        .unwrap_or_else(|| panic!("unexpected reason {why:?}"))
        .parse()
        .expect("milliseconds");
    assert!(
        (100..180).contains(&shown),
        "response time {shown} ms for a 100 ms upstream"
    );

    upstream.set("/slow", Reply::ok("ok"));
    let up = beacon.wait_for_state("slow", "up", WITHIN).await;
    assert_eq!(up["reason"], serde_json::Value::Null);
    beacon.stop().await;
}

#[tokio::test]
async fn http_method_headers_body_and_the_redirect_policy_are_applied() {
    let upstream = Scripted::start().await;
    upstream.set("/echo", Reply::ok("pong"));
    upstream.set("/moved-a", Reply::redirect("/target-a"));
    upstream.set("/target-a", Reply::ok("a"));
    upstream.set("/moved-b", Reply::redirect("/target-b"));
    upstream.set("/target-b", Reply::ok("b"));
    let post = fast(
        &format!("url = \"{}\"", upstream.url("/echo")),
        "method = \"POST\"\nbody = '{\"ping\":1}'\n\
         headers = { \"X-Api-Key\" = \"secret\", \"Content-Type\" = \"application/json\" }",
    );
    let no_follow = fast(
        &format!("url = \"{}\"", upstream.url("/moved-a")),
        "follow_redirects = false",
    );
    let follow = fast(&format!("url = \"{}\"", upstream.url("/moved-b")), "");
    let beacon = Beacon::start(&probes_config(
        "",
        &[("post", post), ("no-follow", no_follow), ("follow", follow)],
    ))
    .await;

    beacon.wait_for_state("post", "up", WITHIN).await;
    let no_follow = beacon.wait_for_state("no-follow", "down", WITHIN).await;
    assert_eq!(reason(&no_follow), "HTTP 302");
    beacon.wait_for_state("follow", "up", WITHIN).await;
    beacon.stop().await;

    let received = upstream.received();
    let echo = received
        .iter()
        .find(|r| r.path == "/echo")
        .expect("the POST probe reached the upstream");
    assert_eq!(echo.method, "POST");
    assert_eq!(echo.body, r#"{"ping":1}"#);
    assert_eq!(echo.headers["x-api-key"], "secret");
    assert_eq!(echo.headers["content-type"], "application/json");
    assert!(
        echo.headers["user-agent"].starts_with("Beacon/"),
        "{:?}",
        echo.headers
    );
    let paths: Vec<(&str, &str)> = received
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert!(
        paths.iter().all(|(_, p)| *p != "/target-a"),
        "follow_redirects = false never follows: {paths:?}"
    );
    assert!(
        paths.contains(&("GET", "/target-b")),
        "redirects are followed by default: {paths:?}"
    );
}

#[tokio::test]
async fn tcp_probes_read_the_banner_send_a_line_and_report_refusals() {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let heard = lines.clone();
    let banner = RawServer::start(move |mut conn| {
        let heard = heard.clone();
        async move {
            conn.send(b"220 ready\r\n").await;
            let got = conn.read_rest().await;
            if !got.is_empty() {
                heard
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&got).into_owned());
            }
        }
    })
    .await;
    let url = format!("url = \"tcp://{}\"", banner.addr);
    let closed = format!("url = \"tcp://127.0.0.1:{}\"", closed_port().await);
    let beacon = Beacon::start(&probes_config(
        "",
        &[
            (
                "smtp",
                fast(&url, "expect = \"220\"\nsend = \"HELO beacon\\r\\n\""),
            ),
            ("wrong", fast(&url, "expect = \"250\"")),
            ("closed", fast(&closed, "")),
        ],
    ))
    .await;

    beacon.wait_for_state("smtp", "up", WITHIN).await;
    let wrong = beacon.wait_for_state("wrong", "down", WITHIN).await;
    assert_eq!(reason(&wrong), r#"expect: "250" not in "220 ready""#);
    let closed = beacon.wait_for_state("closed", "down", WITHIN).await;
    assert_eq!(reason(&closed), "connect: refused");
    wait_for(WITHIN, "the banner server to receive the sent line", || {
        let lines = lines.clone();
        async move {
            lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l == "HELO beacon\r\n")
                .then_some(())
        }
    })
    .await;
    beacon.stop().await;
}

#[tokio::test]
async fn tls_verifies_the_issuer_and_https_conditions_read_the_certificate_expiry() {
    let day = time::Duration::days(1);
    let valid = TlsServer::start(-day, day * 10).await;
    let expired = TlsServer::start(-day * 10, -day).await;
    let condition = "insecure = true\nconditions = [\"[CERTIFICATE_EXPIRATION] > 24h\"]";
    let beacon = Beacon::start(&probes_config(
        "",
        &[
            (
                "tls",
                fast(
                    &format!("url = \"tls://127.0.0.1:{}\"", valid.addr.port()),
                    "",
                ),
            ),
            (
                "valid",
                fast(&format!("url = \"https://{}/\"", valid.addr), condition),
            ),
            (
                "expired",
                fast(&format!("url = \"https://{}/\"", expired.addr), condition),
            ),
        ],
    ))
    .await;

    let tls = beacon.wait_for_state("tls", "down", WITHIN).await;
    let why = reason(&tls);
    assert!(
        why.starts_with("tls: invalid peer certificate") && why.contains("UnknownIssuer"),
        "self-signed: {why}"
    );
    beacon.wait_for_state("valid", "up", WITHIN).await;
    let expired = beacon.wait_for_state("expired", "down", WITHIN).await;
    let why = reason(&expired);
    let ms: i64 = why
        .strip_prefix("[CERTIFICATE_EXPIRATION] (")
        .and_then(|rest| rest.strip_suffix(") > 24h"))
        .unwrap_or_else(|| panic!("unexpected reason {why:?}"))
        .parse()
        .expect("milliseconds");
    // Expired one day ago (notAfter has whole seconds; the check ran after the server started).
    let one_day = 86_400_000;
    assert!(
        (-one_day - 60_000..=-one_day + 1_000).contains(&ms),
        "expired a day ago: {ms}"
    );
    beacon.stop().await;
}

#[tokio::test]
async fn dns_probes_report_the_response_code_and_conditions_can_expect_nxdomain() {
    let dns = DnsResponder::start().await;
    let ns = format!("nameserver = \"{}\"", dns.addr);
    let probe =
        |name: &str, extra: &str| fast(&format!("dns = \"{name}\""), &format!("{ns}\n{extra}"));
    let beacon = Beacon::start(&probes_config(
        "",
        &[
            ("ok", probe("ok.test", "")),
            ("missing", probe("missing.test", "")),
            ("broken", probe("broken.test", "")),
            (
                "gone",
                probe("missing.test", "conditions = [\"[DNS_RCODE] == NXDOMAIN\"]"),
            ),
            (
                "answer",
                probe("ok.test", "conditions = [\"[IP] == 127.0.0.1\"]"),
            ),
        ],
    ))
    .await;

    beacon.wait_for_state("ok", "up", WITHIN).await;
    beacon.wait_for_state("answer", "up", WITHIN).await;
    let missing = beacon.wait_for_state("missing", "down", WITHIN).await;
    assert_eq!(reason(&missing), "dns: NXDOMAIN");
    let broken = beacon.wait_for_state("broken", "down", WITHIN).await;
    assert_eq!(reason(&broken), "dns: SERVFAIL");
    // Conditions replace the default rule: NXDOMAIN is what this probe wants.
    beacon.wait_for_state("gone", "up", WITHIN).await;
    beacon.stop().await;
    assert!(dns.queries() >= 5, "every probe asked the local responder");
}

/// A Beacon with one push probe `job`/`p` (thresholds 1) whose token is set up as an operator
/// would before starting: stored as its hash. Returns the token and the database's folder.
async fn push_beacon(every: &str, grace: &str) -> (Beacon, String, tempfile::TempDir) {
    let config = probes_config(
        "",
        &[(
            "job",
            format!(
                "push = true\nevery = \"{every}\"\ngrace = \"{grace}\"\nfailure_threshold = 1\n\
                 success_threshold = 1"
            ),
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("beacon.db");
    let parsed = beacon::config::parse("test.toml", &config).unwrap();
    let (token, hash) = beacon::probe::new_token().unwrap();
    let store = Store::open(&db).unwrap();
    store.sync_config(&parsed, SystemClock.now()).await.unwrap();
    let key = ProbeKey {
        channel: "job".into(),
        probe: "p".into(),
    };
    store
        .set_push_token(key, hash, SystemClock.now())
        .await
        .unwrap();
    store.close().await.unwrap();
    (Beacon::start_on(&config, &db).await, token, dir)
}

/// A push probe (here once a minute, as a cron job would push) counts a push when it arrives,
/// by GET as Uptime Kuma's push URLs are called, not at its next scheduled evaluation.
#[tokio::test]
async fn a_push_counts_at_once_and_get_works_like_post() {
    let (beacon, token, _dir) = push_beacon("60s", "10s").await;
    assert_eq!(beacon.channel("job").await["state"], "unknown");
    let receipt = reqwest::get(beacon.url(&format!("/api/v1/push/{token}")))
        .await
        .unwrap();
    assert_eq!(receipt.status(), 200, "GET pushes like POST");
    wait_for(
        Duration::from_secs(3),
        "the push to count at once",
        || async { (beacon.channel("job").await["state"] == "up").then_some(()) },
    )
    .await;
    let down = reqwest::Client::new()
        .post(beacon.url(&format!(
            "/api/v1/push/{token}?status=down&msg=backup%20failed"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), 200);
    let down = wait_for(
        Duration::from_secs(3),
        "a down push to count at once",
        || async {
            let channel = beacon.channel("job").await;
            (channel["state"] == "down").then_some(channel)
        },
    )
    .await;
    assert_eq!(down["reason"], "push: down: backup failed");
    beacon.stop().await;
}

#[tokio::test]
async fn push_probes_follow_heartbeats_down_pushes_and_silence() {
    let (beacon, token, dir) = push_beacon("300ms", "200ms").await;
    let client = reqwest::Client::new();
    let push = |query: &str| {
        let request = client.post(beacon.url(&format!("/api/v1/push/{token}{query}")));
        async move { request.send().await.unwrap() }
    };

    let receipt = push("").await;
    assert_eq!(receipt.status(), 200);
    let receipt: serde_json::Value = receipt.json().await.unwrap();
    assert_eq!(
        (&receipt["channel"], &receipt["probe"]),
        (&"job".into(), &"p".into())
    );
    assert_eq!(receipt["status"], "up");
    // Heartbeats every 100 ms until the scheduled evaluation sees one.
    wait_for(WITHIN, "the push probe to be up", || async {
        push("").await;
        (beacon.channel("job").await["state"] == "up").then_some(())
    })
    .await;

    let down = wait_for(WITHIN, "a down push to take the probe down", || async {
        push("?status=down&msg=disk%20full").await;
        let channel = beacon.channel("job").await;
        (channel["state"] == "down").then_some(channel)
    })
    .await;
    assert_eq!(reason(&down), "push: down: disk full");

    // Silence: the next evaluation after every + grace finds no push.
    let silent = wait_for(WITHIN, "silence to be the reason", || async {
        let channel = beacon.channel("job").await;
        (channel["state"] == "down"
            && channel["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("push: none within 300ms + 200ms grace")))
        .then_some(channel)
    })
    .await;
    assert!(reason(&silent).contains("(last at "), "{silent}");

    let unknown = client
        .post(beacon.url("/api/v1/push/not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "unknown push token");
    let sideways = push("?status=sideways").await;
    assert_eq!(sideways.status(), 422);
    let body: serde_json::Value = sideways.json().await.unwrap();
    assert_eq!(body["field"], "status");
    assert_eq!(
        body["error"],
        r#"status must be up or down, not "sideways""#
    );
    beacon.stop().await;
    drop(dir);
}

#[tokio::test]
async fn a_cron_probe_runs_on_whole_seconds_and_stores_its_interval() {
    let upstream = Upstream::start().await;
    let probe = format!(
        "url = \"{}\"\ncron = \"* * * * * *\"\ntimeout = \"500ms\"\nfailure_threshold = 1\n\
         success_threshold = 1",
        upstream.url()
    );
    let beacon = Beacon::start(&probes_config("", &[("cron", probe)])).await;
    let db = beacon.db.clone();
    wait_for(Duration::from_secs(6), "two cron runs", || {
        let db = db.clone();
        async move { (stored_observations(&db, "cron").len() >= 2).then_some(()) }
    })
    .await;
    let (db, _dir) = beacon.stop().await;

    let rows = stored_observations(&db, "cron");
    assert!(rows.len() >= 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.outcome == "up"), "{rows:?}");
    assert!(rows.iter().all(|r| r.interval_ms == 1000), "{rows:?}");
    // Scheduled start = actual start - lateness: a whole second plus this probe's stable
    // offset (under 100 ms for a 1 s cron), and consecutive runs one second apart.
    let scheduled: Vec<i64> = rows.iter().map(|r| r.at_ms - r.lateness_ms).collect();
    let phase = scheduled[0] % 1000;
    assert!(phase < 100, "offset {phase} ms in {rows:?}");
    assert!(scheduled.iter().all(|s| s % 1000 == phase), "{rows:?}");
    for pair in rows.windows(2) {
        assert_eq!(
            pair[1].at_ms - pair[1].lateness_ms - (pair[0].at_ms - pair[0].lateness_ms),
            1000,
            "{rows:?}"
        );
        let gap = pair[1].at_ms - pair[0].at_ms;
        assert!((800..=1200).contains(&gap), "runs {gap} ms apart: {rows:?}");
    }
}

#[tokio::test]
async fn failures_while_the_prober_is_offline_are_unknown_never_down() {
    let offline = closed_port().await;
    let target = closed_port().await;
    let probe = fast(&format!("url = \"http://127.0.0.1:{target}/\""), "");
    let beacon = Beacon::start(&probes_config(
        &format!("connectivity_check = \"http://127.0.0.1:{offline}/\""),
        &[("cut", probe)],
    ))
    .await;
    let db = beacon.db.clone();
    // Several failed runs; with failure_threshold = 1 any of them would have been an outage.
    let states = Mutex::new(Vec::new());
    wait_for(WITHIN, "three failed runs", || async {
        let state = beacon.channel("cut").await["state"].clone();
        states.lock().unwrap().push(state);
        (stored_observations(&db, "cut").len() >= 3).then_some(())
    })
    .await;
    let state = beacon.channel("cut").await["state"].clone();
    let mut states = states.into_inner().unwrap();
    states.push(state);
    assert!(states.iter().all(|s| s == "unknown"), "{states:?}");
    let (db, _dir) = beacon.stop().await;

    let rows = stored_observations(&db, "cut");
    assert!(rows.len() >= 3, "{rows:?}");
    for row in &rows {
        assert_eq!(row.outcome, "unknown", "{row:?}");
        let why = row.reason.as_deref().unwrap_or_default();
        assert!(
            why.starts_with(&format!(
                "prober offline (connectivity check http://127.0.0.1:{offline}/ failed:"
            )) && why.ends_with("; not counted: connect: refused"),
            "{why}"
        );
    }
    let transitions: Vec<String> = open_db(&db)
        .prepare("SELECT state FROM channel_transitions WHERE channel_id = 'cut'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        transitions.iter().all(|s| s != "down"),
        "no outage recorded: {transitions:?}"
    );
}
