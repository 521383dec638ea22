//! `beacon import observations`: history from another monitor, all or nothing, idempotent,
//! with timelines recomputed by the prober's own state machine.

mod common;

use common::open_db;
use std::path::Path;

/// One channel probed every minute with thresholds of 1, so each minute is its own state.
const CONFIG: &str = r#"
[service]
name = "Import test"

[[channel]]
id = "web-form"
name = "Web form"

  [[channel.probe]]
  name = "form"
  url = "https://example.test/form"
  every = "1m"
  timeout = "10s"
  failure_threshold = 1
  success_threshold = 1

[[channel]]
id = "live-chat"
name = "Live chat"

  [[channel.probe]]
  name = "health"
  url = "https://example.test/chat"
  every = "1m"
"#;

fn run(dir: &Path, file: &Path) -> (i32, String, String) {
    common::beacon_in(
        dir,
        [
            std::ffi::OsStr::new("import"),
            "observations".as_ref(),
            file.as_os_str(),
        ],
    )
}

/// September 2026 minute by minute: down for `down_minutes` from 10:00 on the 14th.
fn september(down_minutes: i64) -> String {
    let start = beacon::domain::Timestamp::parse("2026-09-01T00:00:00Z")
        .unwrap()
        .millis();
    let outage = beacon::domain::Timestamp::parse("2026-09-14T10:00:00Z")
        .unwrap()
        .millis();
    let mut text = String::new();
    for minute in 0..30 * 24 * 60 {
        let at = start + minute * 60_000;
        let down = at >= outage && at < outage + down_minutes * 60_000;
        let outcome = if down { "down" } else { "up" };
        text.push_str(&format!(
            "{{\"channel\":\"web-form\",\"probe\":\"form\",\"time\":{at},\"outcome\":\"{outcome}\",\"response_time_ms\":120}}\n"
        ));
    }
    text
}

#[test]
fn bad_lines_are_named_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("history.csv");
    std::fs::write(
        &file,
        "channel,probe,time,outcome,response_time_ms,status\n\
         web-form,form,2026-09-01T00:00:00Z,up,120,200\n\
         nowhere,,2026-09-01T00:01:00Z,up,,\n\
         web-form,0,yesterday,up,,\n\
         web-form,,2026-09-01T00:03:00Z,sideways,,\n\
         live-chat,chat,2026-09-01T00:04:00Z,up,,\n",
    )
    .unwrap();
    let (code, _, stderr) = run(dir.path(), &file);
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "line 3: unknown channel \"nowhere\"",
        "line 4: time \"yesterday\" is not RFC 3339 or epoch milliseconds",
        "line 5: outcome \"sideways\" is not up, degraded or down",
        "line 6: channel \"live-chat\" has no probe \"chat\"",
        "nothing imported",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("line 2:"), "line 2 is fine:\n{stderr}");
    assert!(
        !dir.path().join("beacon.db").exists() || {
            let n: i64 = open_db(&dir.path().join("beacon.db"))
                .query_row("SELECT count(*) FROM observations", [], |r| r.get(0))
                .unwrap();
            n == 0
        }
    );
}

#[test]
fn a_month_imports_once_and_its_outage_starts_at_the_first_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("september.jsonl");
    std::fs::write(&file, september(216)).unwrap();

    let (code, stdout, stderr) = run(dir.path(), &file);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("imported 43200 new observations"),
        "{stdout}"
    );
    let (code, stdout, _) = run(dir.path(), &file);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("imported 0 new observations"),
        "re-import adds nothing: {stdout}"
    );

    let db = dir.path().join("beacon.db");
    let conn = open_db(&db);
    let count: i64 = conn
        .query_row("SELECT count(*) FROM observations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 43200);
    let transitions: Vec<(String, String)> = conn
        .prepare("SELECT at_ms, state FROM channel_transitions WHERE channel_id = 'web-form' ORDER BY at_ms")
        .unwrap()
        .query_map([], |r| {
            Ok((
                beacon::domain::Timestamp(r.get(0)?).to_rfc3339(),
                r.get(1)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        transitions,
        [
            ("2026-09-01T00:00:00.000Z".to_owned(), "up".to_owned()),
            ("2026-09-14T10:00:00.000Z".to_owned(), "down".to_owned()),
            ("2026-09-14T13:36:00.000Z".to_owned(), "up".to_owned()),
        ]
    );
    let interval: i64 = conn
        .query_row("SELECT DISTINCT interval_ms FROM observations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(interval, 60_000, "interval from probes.toml");
}

#[tokio::test]
async fn pruning_drops_old_observations_and_keeps_state_intervals() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("september.jsonl");
    std::fs::write(&file, september(216)).unwrap();
    let (code, _, stderr) = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || run(&dir, &file)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");

    let db = dir.path().join("beacon.db");
    let store = beacon::store::Store::open(&db).unwrap();
    let before = beacon::domain::Timestamp::parse("2026-09-15T00:00:00Z").unwrap();
    let deleted = store.prune_observations(before).await.unwrap();
    assert_eq!(deleted, 14 * 24 * 60);
    store.close().await.unwrap();
    let conn = open_db(&db);
    let (left, transitions): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM channel_transitions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(left, 16 * 24 * 60);
    assert_eq!(transitions, 3, "state intervals are kept for ever");
}

fn report(dir: &Path, args: &[&str]) -> (i32, String, String) {
    common::beacon_in(dir, std::iter::once("report").chain(args.iter().copied()))
}

/// Imports September with an outage of `down_minutes` and returns the JSON report.
fn september_report(down_minutes: i64) -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("september.jsonl");
    std::fs::write(&file, september(down_minutes)).unwrap();
    let (code, _, stderr) = run(dir.path(), &file);
    assert_eq!(code, 0, "{stderr}");
    let (code, json, stderr) = report(dir.path(), &["--month", "2026-09", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let value = serde_json::from_str(&json).unwrap();
    (dir, value)
}

fn channel<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[test]
fn a_216_minute_outage_in_30_days_is_exactly_995_and_met() {
    let (_dir, report) = september_report(216);
    assert_eq!(report["month"], "2026-09");
    assert_eq!(report["commitment"], 0.995);
    assert_eq!(report["settings"]["partial_weight"], 0.3);
    let web = channel(&report, "web-form");
    let expected = serde_json::json!({
        "total_ms": 2_592_000_000i64, "up_ms": 2_579_040_000i64, "degraded_ms": 0, "partial_ms": 0,
        "down_ms": 12_960_000, "maintenance_ms": 0, "unknown_ms": 0,
        "availability": 0.995, "coverage": 1.0, "met": true,
        "allowed_downtime_ms": 12_960_000, "budget_remaining_ms": 0,
        "outages": 1, "longest_outage_ms": 12_960_000, "mttr_ms": 12_960_000,
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&web[key], value, "web-form {key}");
    }
    let days = web["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[13]["date"], "2026-09-14");
    assert_eq!(days[13]["down_ms"], 12_960_000);
    assert_eq!(days[0]["availability"], 1.0);

    // The chat channel was never measured: a valid report with no availability, not 100%.
    let chat = channel(&report, "live-chat");
    assert_eq!(chat["availability"], serde_json::Value::Null);
    assert_eq!(chat["coverage"], 0.0);
    assert_eq!(chat["met"], serde_json::Value::Null);
    assert_eq!(chat["unknown_ms"], 2_592_000_000i64);

    // Overall leaves out unknown channels at each instant, so it follows web-form here.
    assert_eq!(report["overall"]["availability"], 0.995);
    assert_eq!(report["overall"]["met"], true);
    assert_eq!(
        report["overall"]["all_channels_met"], false,
        "live-chat was not measured"
    );
}

#[test]
fn one_more_minute_of_outage_misses_the_commitment() {
    let (dir, report) = september_report(217);
    let web = channel(&report, "web-form");
    assert_eq!(web["met"], false);
    assert_eq!(web["down_ms"], 13_020_000);
    assert_eq!(web["budget_remaining_ms"], -60_000);

    let (code, csv, _) = report_text(dir.path(), "csv");
    assert_eq!(code, 0);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("month,id,name,in_commitment,availability_percent"));
    let web_row = lines.find(|l| l.contains(",web-form,")).unwrap();
    assert!(web_row.starts_with("2026-09,web-form,Web form,true,99.498,99.500,no,216.0,217.0,-1.0,100.000,1,217.0,217.0,0.0,0.0"), "{web_row}");
    assert!(csv
        .lines()
        .any(|l| l.starts_with("2026-09,overall,Support services,")));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("month,severity,received,responded,met,breached")),
        "ticket table"
    );

    let (code, html, _) = report_text(dir.path(), "html");
    assert_eq!(code, 0);
    assert!(html.contains("@page { size: A4"));
    assert_eq!(
        html.matches("<rect ").count(),
        60,
        "30 daily bars for each of 2 channels"
    );
    assert!(html.contains("2026-09-14: 84.931% available, 217.0 min down"));
    assert!(
        html.contains("Coverage 0.000%"),
        "a warning for the unmeasured channel"
    );
}

fn report_text(dir: &Path, format: &str) -> (i32, String, String) {
    report(dir, &["--month", "2026-09", "--format", format])
}

#[test]
fn malformed_and_future_months_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    for (month, message) in [
        (
            "2026-13",
            "error: invalid month \"2026-13\": expected YYYY-MM, e.g. 2026-09",
        ),
        (
            "Sept",
            "error: invalid month \"Sept\": expected YYYY-MM, e.g. 2026-09",
        ),
        ("2999-01", "error: month 2999-01 has not started yet"),
    ] {
        let (code, _, stderr) = report(dir.path(), &["--month", month, "--format", "json"]);
        assert_eq!(code, 2, "{month}");
        assert_eq!(stderr.trim(), message);
    }
}
