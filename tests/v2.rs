//! The Statuspage-compatible v2 JSON, in Statuspage's field layout.

mod common;

use common::{fast_config, Beacon, Mode, Upstream};
use serde_json::{json, Value};
use std::time::Duration;

async fn get(beacon: &Beacon, path: &str) -> (reqwest::header::HeaderMap, Value) {
    let response = reqwest::get(beacon.url(path)).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    (headers, response.json().await.unwrap())
}

#[tokio::test]
async fn summary_and_friends_follow_the_statuspage_layout() {
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
    let token = common::api_token(&beacon, "operator").await;
    let client = reqwest::Client::new();
    let created: Value = client
        .post(beacon.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "Chat down", "impact": "major", "message": "Looking", "channels": {"live-chat": "major_outage"}}))
        .send().await.unwrap().json().await.unwrap();
    let later = beacon::domain::Clock::now(&beacon::domain::SystemClock).plus_ms(3_600_000);
    let maintenance: Value = client
        .post(beacon.url("/api/v1/maintenances"))
        .bearer_auth(&token)
        .json(&json!({"title": "Upgrade", "scheduled_for": later.to_rfc3339(), "scheduled_until": later.plus_ms(3_600_000).to_rfc3339(), "channels": ["web-form"]}))
        .send().await.unwrap().json().await.unwrap();

    let (headers, summary) = get(&beacon, "/api/v2/summary.json").await;
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(summary["page"]["name"], "Test support");
    assert_eq!(summary["page"]["time_zone"], "Etc/UTC");
    assert_eq!(
        summary["status"],
        json!({"indicator": "major", "description": "Partial System Outage"})
    );
    let components = summary["components"].as_array().unwrap();
    let by_id = |id: &str| components.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(by_id("web-form")["status"], "operational");
    assert_eq!(by_id("live-chat")["status"], "major_outage");
    assert_eq!(by_id("live-chat")["group_id"], "support-channels");
    let group = by_id("support-channels");
    assert_eq!(group["group"], true);
    assert_eq!(group["components"], json!(["web-form", "live-chat"]));
    assert_eq!(group["status"], "major_outage");
    for field in [
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
        "showcase",
    ] {
        assert!(
            by_id("web-form").get(field).is_some(),
            "component field {field}"
        );
    }
    let incident = &summary["incidents"][0];
    assert_eq!(incident["id"], created["id"]);
    assert_eq!(incident["name"], "Chat down");
    assert_eq!(incident["impact"], "major");
    assert_eq!(incident["status"], "investigating");
    assert_eq!(incident["incident_updates"][0]["body"], "Looking");
    assert_eq!(
        incident["incident_updates"][0]["affected_components"][0]["new_status"],
        "major_outage"
    );
    assert_eq!(incident["components"][0]["id"], "live-chat");
    for field in [
        "created_at",
        "updated_at",
        "monitoring_at",
        "resolved_at",
        "shortlink",
        "started_at",
        "page_id",
    ] {
        assert!(incident.get(field).is_some(), "incident field {field}");
    }
    let scheduled = &summary["scheduled_maintenances"][0];
    assert_eq!(scheduled["id"], maintenance["id"]);
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(scheduled["impact"], "maintenance");
    assert!(scheduled["scheduled_for"].is_string());

    assert_eq!(
        get(&beacon, "/api/v2/status.json").await.1["status"]["indicator"],
        "major"
    );
    assert_eq!(
        get(&beacon, "/api/v2/components.json").await.1["components"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        get(&beacon, "/api/v2/incidents.json").await.1["incidents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&beacon, "/api/v2/incidents/unresolved.json").await.1["incidents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&beacon, "/api/v2/scheduled-maintenances.json").await.1["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&beacon, "/api/v2/scheduled-maintenances/upcoming.json")
            .await
            .1["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&beacon, "/api/v2/scheduled-maintenances/active.json")
            .await
            .1["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    beacon.stop().await;
}

/// A real third-party Statuspage client (PyPI `statuspage-prometheus-exporter`, installed by
/// `.ci/run`) reads Beacon's summary.json unchanged.
#[cfg(external_tests)]
#[tokio::test]
async fn a_real_statuspage_client_reads_the_summary() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("web-form", &up.url())], 2, 1)).await;
    beacon
        .wait_for_state("web-form", "up", Duration::from_secs(10))
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("services.json"),
        json!({"beacon": {"url": beacon.url("/api/v2/summary.json"), "name": "Beacon"}})
            .to_string(),
    )
    .unwrap();
    let out_file = dir.path().join("out.prom");
    let dir_path = dir.path().to_owned();
    let out_path = out_file.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("statuspage-prometheus-exporter")
            .current_dir(&dir_path)
            .env("RUN_MODE", "once")
            .env("METRICS_TEXTFILE_PATH", &out_path)
            .output()
            .expect("statuspage-prometheus-exporter must be installed (by .ci/run)")
    })
    .await
    .unwrap();
    let metrics = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert!(
        metrics.contains("statuspage_probe_check{service_name=\"Beacon\"} 1.0"),
        "exporter output:\n{metrics}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    beacon.stop().await;
}

/// Components carry the time their channel was first stored; a group's key in an incident
/// names the group's channels, each update says each component's status before and after.
#[tokio::test]
async fn components_have_real_creation_times_and_updates_name_their_components() {
    let before = beacon::domain::Clock::now(&beacon::domain::SystemClock);
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(
        &[("web-form", &up.url()), ("live-chat", &up.url())],
        2,
        1,
    ))
    .await;
    let token = common::api_token(&beacon, "operator").await;
    let client = reqwest::Client::new();
    let created: Value = client
        .post(beacon.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "Support degraded", "impact": "minor",
            "channels": {"group:support-channels": "partial_outage"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let response = client
        .post(beacon.url(&format!("/api/v1/incidents/{id}/updates")))
        .bearer_auth(&token)
        .json(&json!({"status": "identified", "channels": {"live-chat": "major_outage"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response = client
        .post(beacon.url(&format!("/api/v1/incidents/{id}/updates")))
        .bearer_auth(&token)
        .json(&json!({"status": "monitoring", "message": "Keeps the set"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let (_, components) = get(&beacon, "/api/v2/components.json").await;
    let after = beacon::domain::Clock::now(&beacon::domain::SystemClock);
    let components = components["components"].as_array().unwrap().clone();
    assert_eq!(components.len(), 3);
    let mut channel_times = Vec::new();
    for c in &components {
        let at = beacon::domain::Timestamp::parse(c["created_at"].as_str().unwrap()).unwrap();
        assert!(
            before.plus_ms(-1_000) <= at && at <= after,
            "{}: created_at {} not when it was first stored (between {} and {})",
            c["id"],
            c["created_at"],
            before.to_rfc3339(),
            after.to_rfc3339()
        );
        if c["group"] == false {
            channel_times.push(at);
        }
    }
    let group = components.iter().find(|c| c["group"] == true).unwrap();
    let group_at = beacon::domain::Timestamp::parse(group["created_at"].as_str().unwrap());
    assert_eq!(
        group_at,
        channel_times.iter().min().copied(),
        "since its first channel"
    );

    let (_, incidents) = get(&beacon, "/api/v2/incidents.json").await;
    let incident = &incidents["incidents"][0];
    let mut ids: Vec<&str> = incident["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["live-chat", "web-form"],
        "the group's channels, not the group"
    );
    let updates = incident["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 3);
    let sorted = |v: &Value| {
        let mut list = v.as_array().unwrap().clone();
        list.sort_by(|a, b| a["code"].as_str().cmp(&b["code"].as_str()));
        Value::Array(list)
    };
    // Newest first: monitoring kept the set, identified changed it, investigating declared it.
    assert_eq!(updates[0]["status"], "monitoring");
    assert_eq!(updates[0]["affected_components"], Value::Null);
    assert_eq!(
        sorted(&updates[1]["affected_components"]),
        json!([
            {"code": "live-chat", "name": "Channel live-chat", "old_status": "partial_outage", "new_status": "major_outage"},
            {"code": "web-form", "name": "Channel web-form", "old_status": "partial_outage", "new_status": "operational"},
        ])
    );
    assert_eq!(
        sorted(&updates[2]["affected_components"]),
        json!([
            {"code": "live-chat", "name": "Channel live-chat", "old_status": "operational", "new_status": "partial_outage"},
            {"code": "web-form", "name": "Channel web-form", "old_status": "operational", "new_status": "partial_outage"},
        ])
    );
    beacon.stop().await;
}
