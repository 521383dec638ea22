//! The incident endpoints serve incidents and the maintenance endpoints maintenance, each
//! with its own statuses, and the OpenAPI document says exactly that, so a schema-valid body
//! is never refused for the other kind's status.

mod common;

use common::{api, api_token, fast_config, Beacon, Upstream};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn each_kind_is_served_by_its_own_endpoints_only() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &up.url())], 1, 1)).await;
    let token = api_token(&beacon, "operator").await;
    let call = |method: Method, path: String, body: Option<Value>| {
        let token = token.clone();
        let url = beacon.url(&path);
        async move { api(method, url, Some(&token), body).await }
    };
    let (code, incident) = call(
        Method::POST,
        "/api/v1/incidents".into(),
        Some(json!({"title": "Chat down", "impact": "major", "publish": false})),
    )
    .await;
    assert_eq!(code, 201, "{incident}");
    let later = beacon::domain::Clock::now(&beacon::domain::SystemClock).plus_ms(3_600_000);
    let (code, window) = call(
        Method::POST,
        "/api/v1/maintenances".into(),
        Some(json!({"title": "Upgrade", "publish": false,
            "scheduled_for": later.to_rfc3339(),
            "scheduled_until": later.plus_ms(3_600_000).to_rfc3339()})),
    )
    .await;
    assert_eq!(code, 201, "{window}");
    let incident = incident["id"].as_str().expect("id").to_owned();
    let window = window["id"].as_str().expect("id").to_owned();

    // The other kind's id is unknown to each kind's endpoints.
    for (kind, id, other) in [
        ("maintenances", &incident, "incident"),
        ("incidents", &window, "maintenance"),
    ] {
        let (code, answer) = call(Method::GET, format!("/api/v1/{kind}/{id}"), None).await;
        assert_eq!(code, 404, "GET /{kind}/ of a {other}: {answer}");
        let status = if kind == "incidents" {
            "identified"
        } else {
            "in_progress"
        };
        let (code, answer) = call(
            Method::POST,
            format!("/api/v1/{kind}/{id}/updates"),
            Some(json!({"status": status})),
        )
        .await;
        assert_eq!(code, 404, "update under /{kind}/ of a {other}: {answer}");
        let (code, _) = call(Method::POST, format!("/api/v1/{kind}/{id}/publish"), None).await;
        assert_eq!(code, 404, "publish under /{kind}/ of a {other}");
        let (code, _) = call(Method::DELETE, format!("/api/v1/{kind}/{id}"), None).await;
        assert_eq!(code, 404, "hide under /{kind}/ of a {other}");
    }
    // Nothing changed: both are still drafts with their one update.
    for (kind, id) in [("incidents", &incident), ("maintenances", &window)] {
        let (code, answer) = call(Method::GET, format!("/api/v1/{kind}/{id}"), None).await;
        assert_eq!(code, 200, "{answer}");
        assert_eq!(answer["published_at"], Value::Null, "{answer}");
        assert_eq!(answer["updates"].as_array().map(Vec::len), Some(1));
    }

    // Each kind's own endpoints: publish, update, hide.
    let (code, published) = call(
        Method::POST,
        format!("/api/v1/maintenances/{window}/publish"),
        None,
    )
    .await;
    assert_eq!(code, 200, "{published}");
    assert!(published["published_at"].is_string(), "{published}");
    let (code, updated) = call(
        Method::POST,
        format!("/api/v1/maintenances/{window}/updates"),
        Some(json!({"status": "in_progress", "message": "Started early"})),
    )
    .await;
    assert_eq!(code, 201, "{updated}");
    let (code, refused) = call(
        Method::POST,
        format!("/api/v1/maintenances/{window}/updates"),
        Some(json!({"status": "identified"})),
    )
    .await;
    assert_eq!(code, 422, "an incident status on maintenance: {refused}");
    assert_eq!(refused["field"], "status");
    let deleted = reqwest::Client::new()
        .delete(beacon.url(&format!("/api/v1/maintenances/{window}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    assert!(
        deleted.headers().get("content-length").is_none(),
        "a 204 states no length (RFC 9110 8.6)"
    );
    // Deleted: the API serves it no more (its record stays for the SLA and the admin).
    for (method, path) in [
        (Method::GET, format!("/api/v1/maintenances/{window}")),
        (Method::DELETE, format!("/api/v1/maintenances/{window}")),
        (
            Method::POST,
            format!("/api/v1/maintenances/{window}/publish"),
        ),
    ] {
        let (code, body) = call(method.clone(), path.clone(), None).await;
        assert_eq!(code, 404, "{method} {path} after delete: {body}");
    }
    let (_, listed) = call(Method::GET, "/api/v1/maintenances".to_owned(), None).await;
    assert!(
        listed["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != window),
        "{listed}"
    );
    let (code, _) = call(
        Method::POST,
        format!("/api/v1/incidents/{incident}/publish"),
        None,
    )
    .await;
    assert_eq!(code, 200);
    beacon.stop().await;
}

#[tokio::test]
async fn the_document_gives_each_kind_its_own_statuses() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &up.url())], 1, 1)).await;
    let doc = beacon.get_json("/api/v1/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    let incident = json!([
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "postmortem"
    ]);
    let maintenance = json!(["scheduled", "in_progress", "verifying", "completed"]);
    assert_eq!(
        schemas["IncidentBody"]["properties"]["status"]["enum"],
        incident
    );
    assert_eq!(
        schemas["UpdateBody"]["properties"]["status"]["enum"],
        incident
    );
    assert_eq!(
        schemas["MaintenanceUpdateBody"]["properties"]["status"]["enum"],
        maintenance
    );
    let body_of = |path: &str| {
        doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .clone()
    };
    assert_eq!(
        body_of("/api/v1/maintenances/{id}/updates"),
        "#/components/schemas/MaintenanceUpdateBody"
    );
    assert_eq!(
        body_of("/api/v1/incidents/{id}/updates"),
        "#/components/schemas/UpdateBody"
    );
    // Every status the document offers an incident is accepted, and likewise for maintenance.
    let token = api_token(&beacon, "operator").await;
    let (_, created) = api(
        Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "t", "impact": "minor"})),
    )
    .await;
    let id = created["id"].as_str().expect("id");
    for status in incident.as_array().expect("list") {
        let (code, answer) = api(
            Method::POST,
            beacon.url(&format!("/api/v1/incidents/{id}/updates")),
            Some(&token),
            Some(json!({"status": status})),
        )
        .await;
        assert_eq!(code, 201, "{status}: {answer}");
    }
    beacon.stop().await;
}
