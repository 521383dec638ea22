//! Operators: incidents and maintenance through the API with bearer tokens; the
//! acknowledgement time that no path can change; windows that run by themselves; and the
//! exact effect of declarations and maintenance on the monthly report.

mod common;

use common::{api, api_token, Beacon};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
[service]
name = "Incident test"

[[channel]]
id = "chat"
name = "Live chat"
group = "Support channels"

[[channel]]
id = "product"
name = "The product"
group = "Product"
in_commitment = false
"#;

#[tokio::test]
async fn every_write_needs_a_valid_token() {
    let beacon = Beacon::start(CONFIG).await;
    let good = api_token(&beacon, "operator").await;
    let incident = json!({"title": "t", "impact": "minor", "channels": {"chat": "partial_outage"}});
    let (code, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&good),
        Some(incident.clone()),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let maintenance = json!({"title": "m", "scheduled_for": "2030-01-01T00:00:00Z", "scheduled_until": "2030-01-01T01:00:00Z"});
    let writes = [
        (
            reqwest::Method::POST,
            "/api/v1/incidents".to_owned(),
            Some(incident),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/incidents/{id}/updates"),
            Some(json!({"status": "identified"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/incidents/{id}/publish"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/incidents/{id}"),
            None,
        ),
        (
            reqwest::Method::POST,
            "/api/v1/maintenances".to_owned(),
            Some(maintenance),
        ),
        (reqwest::Method::GET, "/api/v1/incidents".to_owned(), None),
    ];
    for (method, path, body) in writes {
        for credentials in [None, Some("not-a-token")] {
            let (code, error) =
                api(method.clone(), beacon.url(&path), credentials, body.clone()).await;
            assert_eq!(code, 401, "{method} {path} with {credentials:?}: {error}");
            assert!(error["error"].is_string(), "JSON error for {method} {path}");
        }
    }
    beacon.stop().await;
}

#[tokio::test]
async fn an_incident_is_escaped_on_the_page_and_declares_the_channel_down() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;
    let (code, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({
            "title": "<script>alert(1)</script> chat is down",
            "impact": "major",
            "status": "investigating",
            "message": "We are **looking** into it. <img src=x onerror=alert(2)>",
            "channels": {"chat": "major_outage"},
        })),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert!(created["published_at"].is_string());
    let id = created["id"].as_str().unwrap();

    let status = beacon.status().await;
    // Chat is the only channel in the commitment, and it is declared down: critical.
    assert_eq!(status["indicator"], "critical");
    assert_eq!(
        beacon.channel("chat").await["state"],
        "down",
        "declared over unknown"
    );

    let html = beacon.get_text("/").await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; chat is down"),
        "escaped title"
    );
    assert!(!html.contains("<script"), "no script tag anywhere");
    assert!(!html.contains("<img"), "raw HTML in Markdown is text");
    assert!(
        html.contains("<strong>looking</strong>"),
        "Markdown rendered"
    );
    assert!(html.contains("Affects: Live chat"));

    let (code, updated) = api(
        reqwest::Method::POST,
        beacon.url(&format!("/api/v1/incidents/{id}/updates")),
        Some(&token),
        Some(json!({"status": "resolved", "message": "Fixed."})),
    )
    .await;
    assert_eq!(code, 201, "{updated}");
    assert_eq!(updated["status"], "resolved");
    assert_eq!(
        updated["published_at"], created["published_at"],
        "acknowledgement unchanged"
    );
    assert_eq!(
        beacon.channel("chat").await["state"],
        "unknown",
        "declaration ended"
    );
    let html = beacon.get_text("/").await;
    assert!(
        !html.contains("chat is down"),
        "resolved incidents leave the front page"
    );
    beacon.stop().await;
}

#[tokio::test]
async fn the_acknowledgement_time_cannot_be_changed_by_any_path() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;
    let (_, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "t", "impact": "critical", "channels": {"product": "major_outage"}, "started_at": "2026-01-01T00:00:00Z"})),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let ack = created["published_at"].clone();
    assert_eq!(
        created["started_at"], "2026-01-01T00:00:00.000Z",
        "started_at may be backdated"
    );
    assert_ne!(ack, created["started_at"], "it is not the acknowledgement");

    // API: a published_at in any body is refused, naming the field.
    for (path, body) in [
        (
            "/api/v1/incidents".to_owned(),
            json!({"title": "t", "impact": "minor", "published_at": "2020-01-01T00:00:00Z"}),
        ),
        (
            format!("/api/v1/incidents/{id}/updates"),
            json!({"status": "identified", "published_at": "2020-01-01T00:00:00Z"}),
        ),
    ] {
        let (code, error) = api(
            reqwest::Method::POST,
            beacon.url(&path),
            Some(&token),
            Some(body),
        )
        .await;
        assert_eq!(code, 422, "{path}: {error}");
        assert_eq!(error["field"], "published_at");
    }
    // Publishing again changes nothing.
    let (code, again) = api(
        reqwest::Method::POST,
        beacon.url(&format!("/api/v1/incidents/{id}/publish")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(again["published_at"], ack);
    // CLI: there is no option to set it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
        .args([
            "incident",
            "update",
            &id,
            "--status",
            "identified",
            "--published-at",
            "2020-01-01T00:00:00Z",
        ])
        .arg("--db")
        .arg(&beacon.db)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses the unknown option"
    );
    let (db, _dir) = beacon.stop().await;

    // The store itself refuses, whatever SQL is sent.
    let conn = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE incidents SET published_at_ms = 0",
        "UPDATE incidents SET published_at_ms = NULL",
        "UPDATE incident_updates SET published_at_ms = 0",
        "UPDATE incident_updates SET message = 'rewritten'",
        "DELETE FROM incident_updates",
        "DELETE FROM incidents",
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
    ] {
        let error = conn.execute(sql, []).expect_err(sql).to_string();
        assert!(
            error.contains("immutable") || error.contains("never") || error.contains("append-only"),
            "{sql}: {error}"
        );
    }
    let audit: i64 = conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert!(audit >= 2, "writes are audited");
}

#[tokio::test]
async fn a_maintenance_window_starts_and_ends_by_itself() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;
    let now = beacon::domain::Clock::now(&beacon::domain::SystemClock);
    let from = now.plus_ms(1_000);
    let until = now.plus_ms(2_500);
    let (code, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/maintenances"),
        Some(&token),
        Some(json!({"title": "Chat upgrade", "scheduled_for": from.to_rfc3339(), "scheduled_until": until.to_rfc3339(), "channels": ["chat"]})),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["status"], "scheduled");
    let id = created["id"].as_str().unwrap().to_owned();

    let status_of = |beacon: &Beacon| {
        let url = beacon.url(&format!("/api/v1/maintenances/{id}"));
        let token = token.clone();
        async move { api(reqwest::Method::GET, url, Some(&token), None).await.1["status"].clone() }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while status_of(&beacon).await != "in_progress" {
        assert!(Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(beacon.channel("chat").await["state"], "maintenance");
    while status_of(&beacon).await != "completed" {
        assert!(Instant::now() < deadline, "never completed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(beacon.channel("chat").await["state"], "maintenance");

    // The report counts exactly the scheduled window as maintenance (rule 6).
    let month = now.to_rfc3339()[..7].to_owned();
    let store = beacon::store::Store::open(&beacon.db).unwrap();
    let report = beacon::report::build(&store, &beacon.config, &month, until.plus_ms(10_000))
        .await
        .unwrap();
    store.close().await.unwrap();
    let chat = report.channels.iter().find(|c| c.id == "chat").unwrap();
    assert_eq!(chat.maintenance_ms, 1_500);
    beacon.stop().await;
}

#[tokio::test]
async fn a_declared_outage_over_unknown_counts_exactly_in_the_report() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;
    let (_, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "Product down", "impact": "critical", "channels": {"product": "major_outage"}})),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, resolved) = api(
        reqwest::Method::POST,
        beacon.url(&format!("/api/v1/incidents/{id}/updates")),
        Some(&token),
        Some(json!({"status": "resolved", "message": "ok"})),
    )
    .await;
    let published = |v: &Value| beacon::domain::Timestamp::parse(v.as_str().unwrap()).unwrap();
    let start = published(&resolved["updates"][0]["published_at"]);
    let end = published(&resolved["updates"][1]["published_at"]);
    let month = start.to_rfc3339()[..7].to_owned();
    let store = beacon::store::Store::open(&beacon.db).unwrap();
    let report = beacon::report::build(&store, &beacon.config, &month, end.plus_ms(1_000))
        .await
        .unwrap();
    store.close().await.unwrap();
    let product = report.channels.iter().find(|c| c.id == "product").unwrap();
    assert_eq!(
        product.down_ms,
        end.millis() - start.millis(),
        "declared time is exactly down"
    );
    assert_eq!(
        product.unknown_ms,
        product.total_ms - product.down_ms,
        "the rest is unknown"
    );
    beacon.stop().await;
}

#[tokio::test]
async fn a_confirmed_outage_opens_one_draft_and_recovery_offers_resolution() {
    let upstream = common::Upstream::start().await;
    upstream.set(common::Mode::Down);
    let beacon = Beacon::start(&common::fast_config(&[("chat", &upstream.url())], 2, 1)).await;
    let token = api_token(&beacon, "operator").await;
    beacon
        .wait_for_state("chat", "down", Duration::from_secs(10))
        .await;
    let list = || {
        let url = beacon.url("/api/v1/incidents");
        let token = token.clone();
        async move { api(reqwest::Method::GET, url, Some(&token), None).await.1 }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let draft = loop {
        let incidents = list().await["incidents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(first) = incidents.first() {
            assert_eq!(incidents.len(), 1, "one per outage");
            break first.clone();
        }
        assert!(Instant::now() < deadline, "no automatic draft");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(draft["title"], "Channel chat is down");
    assert_eq!(
        draft["published_at"],
        Value::Null,
        "a draft until an operator publishes it"
    );
    let html = beacon.get_text("/").await;
    assert!(
        !html.contains("Channel chat is down"),
        "drafts are internal"
    );

    upstream.set(common::Mode::Up);
    let deadline = Instant::now() + Duration::from_secs(10);
    while list().await["incidents"][0]["status"] != "monitoring" {
        assert!(Instant::now() < deadline, "recovery not noted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(list().await["incidents"].as_array().unwrap().len(), 1);
    beacon.stop().await;
}

#[tokio::test]
async fn auto_publish_acknowledges_at_once() {
    let upstream = common::Upstream::start().await;
    upstream.set(common::Mode::Down);
    let config = common::fast_config(&[("chat", &upstream.url())], 2, 1).replacen(
        "[service]\n",
        "[service]\nauto_publish = true\n",
        1,
    );
    let beacon = Beacon::start(&config).await;
    beacon
        .wait_for_state("chat", "down", Duration::from_secs(10))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let html = beacon.get_text("/").await;
        if html.contains("Channel chat is down") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "automatic incident not published"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    beacon.stop().await;
}

#[tokio::test]
async fn a_published_incident_update_is_sent_to_webhooks() {
    let receiver = common::webhook::Receiver::start().await;
    let config = format!(
        "{CONFIG}\n[notify]\nretry_base = \"100ms\"\n\n[[notify.webhook]]\nurl = \"{}\"\nevents = [\"incident_update\"]\nsecret = \"s3cret\"\n",
        receiver.url()
    );
    let beacon = Beacon::start(&config).await;
    let token = api_token(&beacon, "operator").await;
    let (code, _) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "Draft only", "impact": "minor", "publish": false})),
    )
    .await;
    assert_eq!(code, 201);
    let (code, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "Chat down", "impact": "major", "message": "Investigating", "channels": {"chat": "major_outage"}})),
    )
    .await;
    assert_eq!(code, 201);
    let got = receiver
        .wait_for(Duration::from_secs(10), "incident notification", |b| {
            b["event"] == "incident_update"
        })
        .await;
    let body = got.json();
    assert_eq!(body["incident"]["id"], created["id"]);
    assert_eq!(body["incident"]["title"], "Chat down");
    assert_eq!(body["update"]["message"], "Investigating");
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.json()["incident"]["title"] != "Draft only"),
        "drafts are not announced"
    );
    beacon.stop().await;
}

#[tokio::test]
async fn incident_pages_history_and_ninety_day_bars() {
    let upstream = common::Upstream::start().await;
    let beacon = Beacon::start(&common::fast_config(&[("chat", &upstream.url())], 2, 1)).await;
    beacon
        .wait_for_state("chat", "up", Duration::from_secs(10))
        .await;
    let token = api_token(&beacon, "operator").await;
    let (_, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "<script>x</script> & \"chat\"", "impact": "minor", "message": "first", "channels": {"chat": "degraded_performance"}})),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    api(
        reqwest::Method::POST,
        beacon.url(&format!("/api/v1/incidents/{id}/updates")),
        Some(&token),
        Some(json!({"status": "resolved", "message": "second"})),
    )
    .await;

    let page = reqwest::get(beacon.url(&format!("/incidents/{id}")))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("&lt;script&gt;x&lt;/script&gt; &amp; \"chat\"")
            || html.contains("&lt;script&gt;x&lt;/script&gt; &amp; &quot;chat&quot;"),
        "{html}"
    );
    assert!(!html.contains("<script"));
    let (first, second) = (html.find("first").unwrap(), html.find("second").unwrap());
    assert!(second < first, "latest update on top");
    assert_eq!(
        reqwest::get(beacon.url("/incidents/99999"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        reqwest::get(beacon.url("/incidents/abc"))
            .await
            .unwrap()
            .status(),
        404
    );

    let history = beacon.get_text("/history").await;
    assert!(history.contains(&format!("href=\"/incidents/{id}\"")));
    assert!(history.contains("Page 1 of 1"));

    let front = beacon.get_text("/").await;
    assert_eq!(
        front.matches("<rect ").count(),
        90,
        "90 daily bars for the one channel"
    );
    let today =
        beacon::domain::Clock::now(&beacon::domain::SystemClock).to_rfc3339()[..10].to_owned();
    assert!(
        front.contains(&format!("<title>{today}: 100.000% available, 0.0 min down")),
        "today's bar has a text title"
    );
    assert!(front.contains("uptime over the last 90 days"));

    let uptime = beacon.get_text("/uptime").await;
    let month = today[..7].to_owned();
    assert!(
        uptime.contains(&format!("<th scope=\"col\">{month}</th>")),
        "current month column"
    );
    assert!(
        uptime.contains("100.000%"),
        "the channel was up all month so far"
    );
    assert_eq!(
        uptime.matches("<th scope=\"col\">").count(),
        13,
        "channel column and 12 months"
    );
    beacon.stop().await;
}
