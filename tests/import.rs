//! `beacon import observations`: history from another monitor, all or nothing, idempotent,
//! with timelines recomputed by the prober's own state machine.

mod common;

use common::open_db;
use std::path::Path;
use std::process::Command;

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

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
    let out = Command::new(BEACON)
        .args(["import", "observations"])
        .arg(file)
        .arg("--config")
        .arg(dir.join("probes.toml"))
        .arg("--db")
        .arg(dir.join("beacon.db"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
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
