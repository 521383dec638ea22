//! `beacon import incidents` with Statuspage's `scheduled-maintenances.json`: every window
//! comes back from Beacon's `/api/v2/scheduled-maintenances.json` as Statuspage had it, its
//! planned times, updates and components to the millisecond, so a migration keeps its
//! maintenance history.

mod common;

use serde_json::{json, Value};

const MAINTENANCES: &str = include_str!("data/statuspage_scheduled_maintenances.json");
const CONFIG: &str = r#"
[[channel]]
id = "live-chat"
name = "Live chat"

[[channel]]
id = "email"
name = "Email Gateway"

[[channel]]
id = "helpdesk"
name = "Helpdesk portal"
"#;

/// Milliseconds of an RFC 3339 time (any offset), or None for null.
fn ms(value: &Value) -> Option<i64> {
    value.as_str().map(|t| {
        beacon::domain::Timestamp::parse(t)
            .unwrap_or_else(|| panic!("not a time: {t}"))
            .millis()
    })
}

/// Statuspage component names to the channel ids of [`CONFIG`] (one through `--map`).
fn channel_of(name: &str) -> &'static str {
    match name {
        "Live chat" => "live-chat",
        "Email Gateway" => "email",
        "Knowledge base" => "helpdesk",
        other => panic!("unmapped component {other}"),
    }
}

fn import(dir: &std::path::Path, file: &std::path::Path) -> (i32, String, String) {
    common::beacon_in(
        dir,
        [
            std::ffi::OsStr::new("import"),
            "incidents".as_ref(),
            file.as_os_str(),
            "--map".as_ref(),
            "Knowledge base=helpdesk".as_ref(),
        ],
    )
}

#[tokio::test]
async fn scheduled_maintenances_round_trip_through_beacons_v2_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("scheduled-maintenances.json");
    std::fs::write(&file, MAINTENANCES).unwrap();
    let (code, stdout, stderr) = import(dir.path(), &file);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "imported 3 new incidents and maintenance windows (0 already present)"
    );
    let (code, stdout, _) = import(dir.path(), &file);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        "imported 0 new incidents and maintenance windows (3 already present)",
        "never twice"
    );

    let beacon = common::Beacon::start_on(CONFIG, &dir.path().join("beacon.db")).await;
    let v2: Value = reqwest::get(beacon.url("/api/v2/scheduled-maintenances.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let incidents: Value = reqwest::get(beacon.url("/api/v2/incidents.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        incidents["incidents"],
        json!([]),
        "windows are no incidents"
    );
    let original: Value = serde_json::from_str(MAINTENANCES).unwrap();
    let originals = original["scheduled_maintenances"].as_array().unwrap();
    let ours = v2["scheduled_maintenances"].as_array().unwrap();
    assert_eq!(ours.len(), originals.len(), "{v2}");
    for theirs in originals {
        let name = theirs["name"].as_str().unwrap();
        let mine = ours
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {v2}"));
        assert_eq!(mine["status"], theirs["status"], "{name}");
        assert_eq!(mine["impact"], "maintenance", "{name}");
        for field in [
            "created_at",
            "updated_at",
            "monitoring_at",
            "resolved_at",
            "started_at",
            "scheduled_for",
            "scheduled_until",
        ] {
            assert_eq!(ms(&mine[field]), ms(&theirs[field]), "{name}: {field}");
        }
        let ids = |list: &Value, key: &str, map: fn(&str) -> &str| -> Vec<String> {
            let mut ids: Vec<String> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|c| map(c[key].as_str().unwrap()).to_owned())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            ids(&mine["components"], "id", |id| id),
            ids(&theirs["components"], "name", channel_of),
            "{name}: components"
        );

        // Updates: newest first on both sides, same bodies, statuses, times and components.
        let (their_updates, my_updates) = (
            theirs["incident_updates"].as_array().unwrap(),
            mine["incident_updates"].as_array().unwrap(),
        );
        assert_eq!(my_updates.len(), their_updates.len(), "{name}");
        for (t, m) in their_updates.iter().zip(my_updates) {
            assert_eq!(m["body"], t["body"], "{name}");
            assert_eq!(m["status"], t["status"], "{name}");
            for field in ["created_at", "display_at", "updated_at"] {
                assert_eq!(ms(&m[field]), ms(&t[field]), "{name}: update {field}");
            }
            if let Some(list) = t["affected_components"].as_array() {
                let expected: Vec<Value> = list
                    .iter()
                    .map(|a| {
                        json!([
                            channel_of(a["name"].as_str().unwrap()),
                            a["old_status"],
                            a["new_status"]
                        ])
                    })
                    .collect();
                let got: Vec<Value> = m["affected_components"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}: {m}"))
                    .iter()
                    .map(|a| json!([a["code"], a["old_status"], a["new_status"]]))
                    .collect();
                assert_eq!(got, expected, "{name}: {}", t["body"]);
            }
        }
    }
    // Components named only on the window: its first update puts them under maintenance.
    let email = ours
        .iter()
        .find(|i| i["name"] == "Email gateway certificate rotation")
        .unwrap();
    let first = email["incident_updates"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(
        first["affected_components"],
        json!([{"code": "email", "name": "Email Gateway", "old_status": "operational", "new_status": "under_maintenance"}])
    );
    beacon.stop().await;
}

#[test]
fn a_malformed_window_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let window = |extra: &str| {
        format!(
            "{{\"scheduled_maintenances\": [{{\"id\": \"a\", \"name\": \"x\", \"impact\": \"maintenance\", \
             \"created_at\": \"2026-10-01T00:00:00Z\", {extra}}}]}}"
        )
    };
    for (text, expected) in [
        (
            window("\"scheduled_until\": \"2026-10-02T00:00:00Z\", \"incident_updates\": [{\"status\": \"scheduled\", \"created_at\": \"2026-10-01T00:00:00Z\"}]"),
            "scheduled_maintenances[0]: missing scheduled_for",
        ),
        (
            window("\"scheduled_for\": \"2026-10-02T00:00:00Z\", \"scheduled_until\": \"2026-10-01T00:00:00Z\", \"incident_updates\": [{\"status\": \"scheduled\", \"created_at\": \"2026-10-01T00:00:00Z\"}]"),
            "scheduled_maintenances[0]: scheduled_until must be after scheduled_for",
        ),
        (
            window("\"scheduled_for\": \"2026-10-02T00:00:00Z\", \"scheduled_until\": \"2026-10-03T00:00:00Z\", \"incident_updates\": [{\"status\": \"investigating\", \"created_at\": \"2026-10-01T00:00:00Z\"}]"),
            "scheduled_maintenances[0]: incident_updates[0]: status \"investigating\" is not a maintenance status",
        ),
        (
            "{\"page\": {}}".to_owned(),
            "neither `incidents` nor `scheduled_maintenances` is there",
        ),
    ] {
        let file = dir.path().join("bad.json");
        std::fs::write(&file, &text).unwrap();
        let (code, _, stderr) = import(dir.path(), &file);
        assert_eq!(code, 2, "{text}");
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
    }
    assert!(
        !dir.path().join("beacon.db").exists(),
        "nothing written for a bad file"
    );
}
