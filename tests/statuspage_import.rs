//! `beacon import incidents`: Statuspage history keeps its publication times, is marked
//! imported, is all or nothing and never imported twice.

mod common;

use std::path::Path;

const SAMPLE: &str = include_str!("data/statuspage_incidents.json");
const CONFIG: &str = r#"
[[channel]]
id = "live-chat"
name = "Live chat"

[[channel]]
id = "helpdesk"
name = "Helpdesk portal"
"#;

fn import(dir: &Path, file: &Path, map: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "import".into(),
        "incidents".into(),
        file.as_os_str().to_owned(),
    ];
    for m in map {
        args.extend(["--map".into(), std::ffi::OsString::from(m)]);
    }
    common::beacon_in(dir, args)
}

#[tokio::test]
async fn statuspage_history_keeps_its_publication_times() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("incidents.json");
    std::fs::write(&file, SAMPLE).unwrap();

    // "Knowledge base" is no channel's name: refused, nothing imported, the fix suggested.
    let (code, _, stderr) = import(dir.path(), &file, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("incidents[1]: component \"Knowledge base\" matches no channel (use --map \"Knowledge base=CHANNEL_ID\")"), "{stderr}");
    assert!(stderr.contains("nothing imported"));

    let (code, stdout, stderr) = import(dir.path(), &file, &["Knowledge base=helpdesk"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "imported 2 new incidents and maintenance windows (0 already present)"
    );
    let (_, stdout, _) = import(dir.path(), &file, &["Knowledge base=helpdesk"]);
    assert_eq!(
        stdout.trim(),
        "imported 0 new incidents and maintenance windows (2 already present)"
    );

    let store = beacon::store::Store::open(&dir.path().join("beacon.db")).unwrap();
    let incidents = store.incidents().await.unwrap();
    let audit = store.audit_log(10).await.unwrap();
    store.close().await.unwrap();
    assert_eq!(incidents.len(), 2);
    let chat = incidents
        .iter()
        .find(|i| i.title == "Live chat unavailable")
        .unwrap();
    assert_eq!(chat.origin, "imported");
    assert_eq!(
        chat.published_at.unwrap().to_rfc3339(),
        "2026-10-01T10:02:11.000Z",
        "the first public update's time"
    );
    assert_eq!(
        chat.started_at.unwrap().to_rfc3339(),
        "2026-10-01T09:50:00.000Z"
    );
    let statuses: Vec<&str> = chat.updates.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(statuses, ["investigating", "resolved"], "oldest first");
    assert_eq!(
        chat.updates[0].affected.as_ref().unwrap()["live-chat"],
        beacon::domain::DeclaredStatus::MajorOutage
    );
    assert!(
        chat.updates[1].affected.as_ref().unwrap().is_empty(),
        "operational again"
    );
    let search = incidents
        .iter()
        .find(|i| i.title == "Slow helpdesk search")
        .unwrap();
    assert_eq!(
        search.updates[0].affected.as_ref().unwrap()["helpdesk"],
        beacon::domain::DeclaredStatus::PartialOutage
    );
    assert!(
        audit.iter().any(|a| a.action == "import incidents"),
        "imports are audited"
    );
}

#[test]
fn a_malformed_file_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    for (text, expected) in [
        ("{\"incidents\": [{\"id\": \"a\", \"impact\": \"major\", \"created_at\": \"2026-10-01T00:00:00Z\", \"incident_updates\": []}]}", "incidents[0]: missing name"),
        ("{\"incidents\": [{\"id\": \"a\", \"name\": \"x\", \"impact\": \"huge\"}]}", "incidents[0]: impact \"huge\" is not none, minor, major or critical"),
        ("{\"incidents\": [{\"id\": \"a\", \"name\": \"x\", \"impact\": \"minor\", \"created_at\": \"2026-10-01T00:00:00Z\", \"incident_updates\": [{\"status\": \"investigating\", \"created_at\": \"yesterday\"}]}]}", "incidents[0]: incident_updates[0]: created_at \"yesterday\" is not an RFC 3339 time"),
        ("[1, 2]", "not a Statuspage incidents.json"),
    ] {
        let file = dir.path().join("bad.json");
        std::fs::write(&file, text).unwrap();
        let (code, _, stderr) = import(dir.path(), &file, &[]);
        assert_eq!(code, 2, "{text}");
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
    }
    assert!(
        !dir.path().join("beacon.db").exists(),
        "nothing written for a bad file"
    );
}

const ROUNDTRIP: &str = include_str!("data/statuspage_roundtrip.json");
const ROUNDTRIP_CONFIG: &str = r#"
[[channel]]
id = "live-chat"
name = "Live chat"

[[channel]]
id = "email"
name = "Email Gateway"

[[channel]]
id = "helpdesk"
name = "Helpdesk portal"

[[channel]]
id = "web-form"
name = "Web form"
"#;

/// Milliseconds of an RFC 3339 time (any offset), or None for null.
fn ms(value: &serde_json::Value) -> Option<i64> {
    value.as_str().map(|t| {
        beacon::domain::Timestamp::parse(t)
            .unwrap_or_else(|| panic!("not a time: {t}"))
            .millis()
    })
}

/// Channel ids of Statuspage component names: by name (case-insensitive) or the --map.
fn channel_of(name: &str) -> &'static str {
    match name.to_lowercase().as_str() {
        "live chat" => "live-chat",
        "email gateway" => "email",
        "knowledge base" => "helpdesk",
        "web form" => "web-form",
        other => panic!("unmapped component {other}"),
    }
}

/// Imports a realistic Statuspage `incidents.json`, then reads Beacon's own
/// `/api/v2/incidents.json`: every incident comes back with its name, status, impact, times
/// to the millisecond, updates and components. A Critical ticket from the helpdesk history
/// that the imported acknowledgement waives says the acknowledgement was imported.
#[tokio::test]
async fn a_statuspage_history_round_trips_through_beacons_v2_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), ROUNDTRIP_CONFIG).unwrap();
    let file = dir.path().join("incidents.json");
    std::fs::write(&file, ROUNDTRIP).unwrap();
    let (code, stdout, stderr) = import(dir.path(), &file, &["Knowledge base=helpdesk"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "imported 4 new incidents and maintenance windows (0 already present)"
    );
    let tickets = dir.path().join("tickets.csv");
    std::fs::write(
        &tickets,
        "external_id,source,severity,channels,subject,received_at,first_reply_at\n\
         HD-1,helpdesk,critical,live-chat,Chat does not open,2026-10-01T10:05:00Z,\n\
         HD-2,helpdesk,critical,live-chat,Chat is down,2026-10-01T09:59:00Z,2026-10-01T10:30:00Z\n",
    )
    .unwrap();
    let (code, _, stderr) = common::beacon_in(
        dir.path(),
        [
            std::ffi::OsStr::new("import"),
            "tickets".as_ref(),
            tickets.as_os_str(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");

    let beacon = common::Beacon::start_on(ROUNDTRIP_CONFIG, &dir.path().join("beacon.db")).await;
    let v2: serde_json::Value = reqwest::get(beacon.url("/api/v2/incidents.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let original: serde_json::Value = serde_json::from_str(ROUNDTRIP).unwrap();
    let originals = original["incidents"].as_array().unwrap();
    let ours = v2["incidents"].as_array().unwrap();
    assert_eq!(ours.len(), originals.len());
    for theirs in originals {
        let name = theirs["name"].as_str().unwrap();
        let mine = ours
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {v2}"));
        for field in ["status", "impact"] {
            assert_eq!(mine[field], theirs[field], "{name}: {field}");
        }
        for field in ["created_at", "updated_at", "monitoring_at", "resolved_at"] {
            assert_eq!(ms(&mine[field]), ms(&theirs[field]), "{name}: {field}");
        }
        if !theirs["started_at"].is_null() {
            assert_eq!(ms(&mine["started_at"]), ms(&theirs["started_at"]), "{name}");
        }
        let components = |list: &serde_json::Value, key: &str| -> Vec<String> {
            let mut ids: Vec<String> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[key].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        };
        let expected: Vec<String> = components(&theirs["components"], "name")
            .iter()
            .map(|n| channel_of(n).to_owned())
            .collect();
        assert_eq!(
            components(&mine["components"], "id"),
            expected,
            "{name}: components"
        );

        // Updates: newest first on both sides, same bodies, statuses and times.
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
            let text = m["created_at"].as_str().unwrap();
            assert!(
                text.ends_with('Z') && text.len() == 24,
                "UTC with milliseconds: {text}"
            );
            // The components the update changed, mapped to channels: those it put in a
            // non-operational status and those it gave back ("operational").
            if let Some(list) = t["affected_components"].as_array() {
                let declared: Vec<(String, String)> = list
                    .iter()
                    .map(|a| {
                        let id = channel_of(a["name"].as_str().unwrap());
                        (id.to_owned(), a["new_status"].as_str().unwrap().to_owned())
                    })
                    .collect();
                let got: Vec<(String, String)> = m["affected_components"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}: {m}"))
                    .iter()
                    .map(|a| {
                        (
                            a["code"].as_str().unwrap().to_owned(),
                            a["new_status"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                assert_eq!(got, declared, "{name}: {}", t["body"]);
            }
        }
    }
    // Components named only on the incident: its first update covers them, with the status
    // its impact stands for (critical: major outage), under the channel's name.
    let web_form = ours
        .iter()
        .find(|i| i["name"] == "Web form submissions failing")
        .unwrap();
    let first = web_form["incident_updates"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(
        first["affected_components"],
        serde_json::json!([{"code": "web-form", "name": "Web form", "old_status": "operational", "new_status": "major_outage"}])
    );

    // The Critical ticket received after the imported acknowledgement is waived, and says
    // the acknowledgement was imported; the one received before it is not.
    let token = common::api_token(&beacon, "operator").await;
    let (code, list) = common::api(
        reqwest::Method::GET,
        beacon.url("/api/v1/tickets"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 200, "{list}");
    let ticket = |external: &str| {
        list["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["external_id"] == external)
            .cloned()
            .unwrap_or_else(|| panic!("{external} missing: {list}"))
    };
    let chat = ours
        .iter()
        .find(|i| i["name"] == "Live chat unavailable")
        .unwrap();
    let waived = ticket("HD-1");
    assert_eq!(waived["state"], "waived", "{waived}");
    assert_eq!(waived["waived_by"], chat["id"]);
    assert_eq!(waived["ack_origin"], "imported");
    assert_eq!(
        ms(&waived["ack_published_at"]),
        ms(&serde_json::json!("2026-10-01T10:02:11.123Z"))
    );
    assert_eq!(
        waived["explanation"],
        format!(
            "Waived: incident {} \"Live chat unavailable\" (imported from the previous status page) \
             was published at 10:02:11 UTC, 2 minutes 48 seconds before this ticket was received.",
            chat["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        ticket("HD-2")["state"],
        "met",
        "received before the acknowledgement"
    );
    beacon.stop().await;
}
