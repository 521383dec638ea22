//! Text fields are bounded and NUL-free on every write path: the operator API answers 422
//! naming the field and stores nothing; the admin forms, which share the API's checks,
//! refuse the same; the OpenAPI document states the same limits.

mod common;

use common::admin::signed_in;
use common::{api, api_token, fast_config, Beacon, Upstream};
use reqwest::Method;
use serde_json::{json, Value};

/// What each refused body leaves behind: no incident, maintenance, ticket or rule.
async fn nothing_stored(beacon: &Beacon, token: &str) {
    for (path, key) in [
        ("/api/v1/incidents", "incidents"),
        ("/api/v1/maintenances", "incidents"),
        ("/api/v1/tickets", "tickets"),
    ] {
        let (status, list) = api(Method::GET, beacon.url(path), Some(token), None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(list[key], json!([]), "{path}: {list}");
    }
    let (_, rules) = api(
        Method::GET,
        beacon.url("/api/v1/maintenances/recurring"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(rules["recurring_maintenances"], json!([]));
}

#[tokio::test]
async fn overlong_and_nul_texts_are_refused_naming_the_field() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &up.url())], 1, 1)).await;
    let token = api_token(&beacon, "operator").await;
    let later = beacon::domain::Clock::now(&beacon::domain::SystemClock).plus_ms(3_600_000);
    let window = |extra: Value| {
        let mut body = json!({"title": "Upgrade", "scheduled_for": later.to_rfc3339(),
            "scheduled_until": later.plus_ms(3_600_000).to_rfc3339()});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let long_title = "t".repeat(201);
    let long_message = "m".repeat(20_001);
    let long_key = "k".repeat(201);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/api/v1/incidents",
            json!({"title": long_title, "impact": "minor"}),
            "title",
        ),
        (
            "/api/v1/incidents",
            json!({"title": "a\u{0}b", "impact": "minor"}),
            "title",
        ),
        (
            "/api/v1/incidents",
            json!({"title": "ok", "impact": "minor", "message": long_message}),
            "message",
        ),
        (
            "/api/v1/incidents",
            json!({"title": "ok", "impact": "minor", "message": "x\u{0}"}),
            "message",
        ),
        (
            "/api/v1/incidents",
            json!({"title": "ok", "impact": "minor", "channels": {long_key.clone(): "major_outage"}}),
            "channels",
        ),
        (
            "/api/v1/maintenances",
            window(json!({"title": long_title})),
            "title",
        ),
        (
            "/api/v1/maintenances",
            window(json!({"message": "\u{0}"})),
            "message",
        ),
        (
            "/api/v1/tickets",
            json!({"external_id": long_key, "severity": "high"}),
            "external_id",
        ),
        (
            "/api/v1/tickets",
            json!({"external_id": "a\u{0}", "severity": "high"}),
            "external_id",
        ),
        (
            "/api/v1/tickets",
            json!({"external_id": "T-1", "severity": "high", "subject": "s".repeat(1_001)}),
            "subject",
        ),
        (
            "/api/v1/tickets",
            json!({"external_id": "T-1", "severity": "high", "source": "\u{0}"}),
            "source",
        ),
        (
            "/api/v1/tickets",
            json!({"external_id": "T-1", "severity": "high", "channels": ["chat", long_key]}),
            "channels[1]",
        ),
        (
            "/api/v1/maintenances/recurring",
            json!({"title": long_title, "weekly": "sun 02:00", "duration": "1h"}),
            "title",
        ),
        (
            "/api/v1/maintenances/recurring",
            json!({"title": "Nightly", "message": long_message, "weekly": "sun 02:00", "duration": "1h"}),
            "message",
        ),
        (
            "/api/v1/maintenances/recurring",
            json!({"title": "Nightly", "weekly": "sun 02:00\u{0}", "duration": "1h"}),
            "weekly",
        ),
    ];
    for (path, body, field) in cases {
        let (status, answer) = api(Method::POST, beacon.url(path), Some(&token), Some(body)).await;
        assert_eq!(status, 422, "{path} {field}: {answer}");
        assert_eq!(answer["field"], field, "{path}: {answer}");
    }
    nothing_stored(&beacon, &token).await;

    // A ticket's event: its channels are bounded whatever the event type.
    let (status, ticket) = api(
        Method::POST,
        beacon.url("/api/v1/tickets"),
        Some(&token),
        Some(json!({"external_id": "T-9", "severity": "low"})),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    let events = format!(
        "/api/v1/tickets/{}/events",
        ticket["id"].as_str().expect("id")
    );
    for (kind, field) in [
        ("reopen", "channels[0]"),
        ("channels_change", "channels[0]"),
    ] {
        let (status, answer) = api(
            Method::POST,
            beacon.url(&events),
            Some(&token),
            Some(json!({"type": kind, "channels": ["a\u{0}"]})),
        )
        .await;
        assert_eq!(status, 422, "{kind}: {answer}");
        assert_eq!(answer["field"], field);
    }
    let (_, read) = api(
        Method::GET,
        beacon.url(&format!(
            "/api/v1/tickets/{}",
            ticket["id"].as_str().expect("id")
        )),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(read["events"], json!([]), "no event stored: {read}");

    // At the limit is fine: 200 characters of three bytes each, 20,000 of message.
    let (status, created) = api(
        Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "é".repeat(200), "impact": "minor", "message": "m".repeat(20_000)})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| created["id"].to_string());
    let (status, answer) = api(
        Method::POST,
        beacon.url(&format!("/api/v1/incidents/{id}/updates")),
        Some(&token),
        Some(json!({"status": "identified", "message": long_message})),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["field"], "message");
    beacon.stop().await;
}

#[tokio::test]
async fn the_document_states_the_limits() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &up.url())], 1, 1)).await;
    let doc = beacon.get_json("/api/v1/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    for (schema, field, max) in [
        ("IncidentBody", "title", 200),
        ("IncidentBody", "message", 20_000),
        ("MaintenanceBody", "title", 200),
        ("UpdateBody", "message", 20_000),
        ("TicketBody", "external_id", 200),
        ("TicketBody", "subject", 1_000),
        ("TicketBody", "source", 200),
        ("RuleBody", "title", 200),
        ("RuleBody", "duration", 200),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert_eq!(property["maxLength"], max, "{schema}.{field}: {property}");
        let pattern = property["pattern"].as_str().unwrap_or_default();
        assert!(
            pattern.contains(r"[^\u0000]"),
            "{schema}.{field}: {property}"
        );
    }
    assert_eq!(
        schemas["IncidentBody"]["properties"]["title"]["minLength"],
        1
    );
    beacon.stop().await;
}

#[tokio::test]
async fn the_admin_forms_refuse_the_same() {
    let (beacon, browser) = signed_in("olga", "operator").await;
    let long_title = "t".repeat(201);
    for (fields, error) in [
        (
            vec![
                ("title", long_title.as_str()),
                ("impact", "major"),
                ("status", "investigating"),
            ],
            "title-error",
        ),
        (
            vec![
                ("title", "Chat down"),
                ("impact", "major"),
                ("status", "investigating"),
                ("message", "with a \u{0} inside"),
            ],
            "message-error",
        ),
    ] {
        let refused = browser
            .submit("/admin/incidents/new", "/admin/incidents", &fields)
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(
            refused.body.contains(&format!("id=\"{error}\"")),
            "{}",
            refused.body
        );
    }
    let token = api_token(&beacon, "operator").await;
    let (_, list) = api(
        Method::GET,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(list["incidents"], json!([]));
    beacon.stop().await;
}
