//! Recurring maintenance: a rule from `probes.toml` publishes scheduled windows that start and
//! end by themselves, never twice across a restart; rules through the operator API.

mod common;

use common::{api, api_token, open_db, wait_for, Beacon};
use serde_json::{json, Value};
use std::time::Duration;

const CONFIG: &str = r#"
[service]
name = "Recurring test"

[[channel]]
id = "chat"
name = "Live chat"
group = "Support channels"

[[maintenance]]
id = "tick"
title = "Chat restart"
message = "The chat restarts."
channels = ["chat"]
cron = "*/3 * * * * *"
duration = "1s"
"#;

/// The maintenance windows titled `title`, as the operator API lists them.
async fn windows(beacon: &Beacon, token: &str, title: &str) -> Vec<Value> {
    let (code, body) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/maintenances"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    body["incidents"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|w| w["title"] == title)
        .cloned()
        .collect()
}

/// Starts that more than one window was published for.
fn duplicated_starts(db: &std::path::Path) -> Vec<i64> {
    open_db(db)
        .prepare(
            "SELECT scheduled_for_ms FROM incidents WHERE kind = 'maintenance'
             GROUP BY title, scheduled_for_ms HAVING count(*) > 1",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn a_configured_rule_publishes_windows_that_start_and_end_by_themselves() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;

    let published = wait_for(Duration::from_secs(10), "windows published", || async {
        let w = windows(&beacon, &token, "Chat restart").await;
        (!w.is_empty()).then_some(w)
    })
    .await;
    assert_eq!(published.len(), 20, "at most 20 ahead per rule");
    let first = published.last().expect("oldest is last");
    assert!(first["published_at"].is_string(), "published: {first}");
    assert_eq!(first["updates"][0]["message"], "The chat restarts.");
    assert_eq!(
        first["updates"][0]["channels"],
        json!({"chat": "under_maintenance"})
    );
    let (from, until) = (
        beacon::domain::Timestamp::parse(first["scheduled_for"].as_str().unwrap()).unwrap(),
        beacon::domain::Timestamp::parse(first["scheduled_until"].as_str().unwrap()).unwrap(),
    );
    assert_eq!(until.millis() - from.millis(), 1_000);
    assert_eq!(from.millis() % 3_000, 0, "on the cron's 3-second marks");

    // The window moves on without an operator: scheduled -> in progress -> completed.
    let id = first["id"].as_str().unwrap().to_owned();
    let done = wait_for(Duration::from_secs(10), "the window completed", || async {
        let (_, w) = api(
            reqwest::Method::GET,
            beacon.url(&format!("/api/v1/maintenances/{id}")),
            Some(&token),
            None,
        )
        .await;
        (w["status"] == "completed").then_some(w)
    })
    .await;
    let statuses: Vec<&str> = done["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["scheduled", "in_progress", "completed"]);

    // A restart publishes the windows that came into reach, never one twice.
    let before = windows(&beacon, &token, "Chat restart").await.len();
    let (db, dir) = beacon.stop().await;
    let beacon = Beacon::start_on(CONFIG, &db).await;
    wait_for(
        Duration::from_secs(10),
        "new windows after the restart",
        || async { (windows(&beacon, &token, "Chat restart").await.len() > before).then_some(()) },
    )
    .await;
    assert_eq!(duplicated_starts(&db), Vec::<i64>::new());
    beacon.stop().await;
    drop(dir);
}

#[tokio::test]
async fn operators_manage_rules_through_the_api() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;
    let url = beacon.url("/api/v1/maintenances/recurring");
    let rule = json!({"title": "Weekly database upgrade", "message": "Read-only.", "channels": ["group:support-channels"],
                      "weekly": "sun 02:00", "duration": "2h", "auto_end": false});

    for credentials in [None, Some("not-a-token")] {
        let (code, error) = api(
            reqwest::Method::POST,
            url.clone(),
            credentials,
            Some(rule.clone()),
        )
        .await;
        assert_eq!(code, 401, "{error}");
    }
    for (bad, field) in [
        (json!({"title": "x", "duration": "1h"}), "cron"),
        (
            json!({"title": "x", "weekly": "sun 2am", "duration": "1h"}),
            "weekly",
        ),
        (
            json!({"title": "x", "cron": "0 2 * * SUN", "weekly": "sun 02:00", "duration": "1h"}),
            "weekly",
        ),
        (
            json!({"title": "x", "cron": "nope", "duration": "1h"}),
            "cron",
        ),
        (
            json!({"title": "x", "weekly": "sun 02:00", "duration": "0s"}),
            "duration",
        ),
        (
            json!({"title": "x", "cron": "0 * * * *", "duration": "2h"}),
            "duration",
        ),
        (
            json!({"title": "x", "weekly": "sun 02:00", "duration": "1h", "channels": ["chat", "nope"]}),
            "channels[1]",
        ),
        (
            json!({"title": " ", "weekly": "sun 02:00", "duration": "1h"}),
            "title",
        ),
        (json!({"title": "x", "weekly": "sun 02:00"}), "duration"),
        (
            json!({"title": "x", "weekly": "sun 02:00", "duration": "1h", "every": 1}),
            "every",
        ),
    ] {
        let (code, error) = api(
            reqwest::Method::POST,
            url.clone(),
            Some(&token),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(code, 422, "{bad}: {error}");
        assert_eq!(error["field"], field, "{bad}: {error}");
        assert!(error["error"].is_string());
    }

    let (code, created) = api(reqwest::Method::POST, url.clone(), Some(&token), Some(rule)).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["source"], "api");
    assert_eq!(created["weekly"], "sun 02:00");
    assert_eq!(created["duration"], "2h");
    assert_eq!(created["auto_end"], false);
    let upcoming = created["upcoming"].as_array().unwrap();
    assert_eq!(upcoming.len(), 2, "two Sundays within 14 days: {created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // Its windows are published at once, as ordinary scheduled maintenance.
    let published = windows(&beacon, &token, "Weekly database upgrade").await;
    let mut starts: Vec<&Value> = published.iter().map(|w| &w["scheduled_for"]).collect();
    starts.reverse();
    assert_eq!(starts, upcoming.iter().collect::<Vec<_>>());
    assert!(published
        .iter()
        .all(|w| w["status"] == "scheduled" && w["published_at"].is_string()));

    let (code, list) = api(reqwest::Method::GET, url.clone(), Some(&token), None).await;
    assert_eq!(code, 200);
    let ids: Vec<&str> = list["recurring_maintenances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["config:tick", id.as_str()],
        "the file's rules, then the API's"
    );

    let (code, error) = api(
        reqwest::Method::DELETE,
        format!("{url}/config:tick"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (code, error["field"].as_str()),
        (422, Some("id")),
        "{error}"
    );
    let (code, _) = api(reqwest::Method::DELETE, format!("{url}/{id}"), None, None).await;
    assert_eq!(code, 401);
    let (code, _) = api(
        reqwest::Method::DELETE,
        format!("{url}/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 204);
    let (code, _) = api(
        reqwest::Method::DELETE,
        format!("{url}/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 404, "already deleted");

    // The rule is gone; the windows it published stay as history.
    let (_, list) = api(reqwest::Method::GET, url.clone(), Some(&token), None).await;
    assert_eq!(list["recurring_maintenances"].as_array().unwrap().len(), 1);
    assert_eq!(
        windows(&beacon, &token, "Weekly database upgrade")
            .await
            .len(),
        2
    );
    let (db, _dir) = beacon.stop().await;
    let actions: Vec<String> = open_db(&db)
        .prepare(
            "SELECT action FROM audit_log WHERE target LIKE 'recurring maintenance %' ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        actions,
        [
            "create recurring maintenance",
            "delete recurring maintenance"
        ]
    );
}
