//! Tickets end to end: the Critical waiver decided from the published acknowledgement, the
//! listing, the contract's queue order and the monthly report's ticket section.

mod common;

use common::{api, api_token, Beacon};
use serde_json::{json, Value};

const CONFIG: &str = r#"
[service]
name = "Ticket test"

[[channel]]
id = "live-chat"
name = "Live chat"
group = "Support channels"

[[channel]]
id = "web-form"
name = "Web form"
group = "Support channels"
"#;

async fn ticket(
    beacon: &Beacon,
    token: &str,
    external_id: &str,
    severity: &str,
    channels: &[&str],
) -> (u16, Value) {
    api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets"),
        Some(token),
        Some(json!({"external_id": external_id, "severity": severity, "channels": channels, "subject": format!("ticket {external_id}")})),
    )
    .await
}

#[tokio::test]
async fn the_critical_waiver_follows_the_published_acknowledgement() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;
    let (code, _) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets"),
        None,
        Some(json!({"external_id": "x", "severity": "low"})),
    )
    .await;
    assert_eq!(code, 401, "tickets are never public");

    // Before the incident is published: a Critical ticket keeps its 1-hour clock.
    let (code, before) = ticket(&beacon, &token, "HD-1", "critical", &["live-chat"]).await;
    assert_eq!(code, 201, "{before}");
    assert!(
        before["id"].as_str().unwrap().starts_with("BCN-20"),
        "{before}"
    );
    assert_eq!(before["state"], "pending");
    assert!(before["deadline"].is_string());

    let (_, incident) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "Live chat outage", "impact": "critical", "channels": {"live-chat": "major_outage"}})),
    )
    .await;
    let incident_id = incident["id"].as_str().unwrap().to_owned();

    let (_, waived) = ticket(&beacon, &token, "HD-2", "critical", &["live-chat"]).await;
    assert_eq!(waived["state"], "waived", "{waived}");
    assert_eq!(waived["waived_by"], incident_id.as_str());
    assert_eq!(waived["deadline"], Value::Null);
    assert_eq!(waived["ack_published_at"], incident["published_at"]);
    let explanation = waived["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with(&format!(
            "Waived: incident {incident_id} \"Live chat outage\" was published at "
        )),
        "{explanation}"
    );

    let (_, other_channel) = ticket(&beacon, &token, "HD-3", "critical", &["web-form"]).await;
    assert_eq!(
        other_channel["state"], "pending",
        "another channel is not covered"
    );
    let (_, high) = ticket(&beacon, &token, "HD-4", "high", &["live-chat"]).await;
    assert_eq!(high["state"], "pending", "High is never waived");
    let (_, medium) = ticket(&beacon, &token, "HD-5", "medium", &["web-form"]).await;
    assert_eq!(medium["state"], "pending");

    // Re-posting is idempotent.
    let (code, again) = ticket(&beacon, &token, "HD-2", "low", &[]).await;
    assert_eq!(code, 200);
    assert_eq!(again["id"], waived["id"]);
    assert_eq!(
        again["severity"], "critical",
        "unchanged; changes go through events"
    );

    // Events: an auto-acknowledgement does not stop the clock; a human reply does.
    let events =
        |id: &Value| beacon.url(&format!("/api/v1/tickets/{}/events", id.as_str().unwrap()));
    let (_, acked) = api(
        reqwest::Method::POST,
        events(&other_channel["id"]),
        Some(&token),
        Some(json!({"type": "auto_ack"})),
    )
    .await;
    assert_eq!(acked["state"], "pending");
    let (code, replied) = api(
        reqwest::Method::POST,
        events(&before["id"]),
        Some(&token),
        Some(json!({"type": "public_reply"})),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(replied["state"], "met", "{replied}");
    let (code, error) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets/BCN-2026-999999/events"),
        Some(&token),
        Some(json!({"type": "public_reply"})),
    )
    .await;
    assert_eq!(code, 404, "{error}");
    let (code, error) = api(
        reqwest::Method::POST,
        events(&high["id"]),
        Some(&token),
        Some(json!({"type": "severity_change"})),
    )
    .await;
    assert_eq!((code, error["field"].clone()), (422, json!("severity")));

    // Listing.
    let (_, list) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/tickets?state=waived"),
        Some(&token),
        None,
    )
    .await;
    let ids = external_ids(&list);
    assert_eq!(ids, ["HD-2"]);
    let (_, list) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/tickets?severity=high"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(list["tickets"][0]["external_id"], "HD-4");
    let (code, error) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/tickets?severity=urgent"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((code, error["field"].clone()), (422, json!("severity")));

    // The queue: high urgency first (the waived Critical by receipt, the others by
    // deadline), then first come first served; answered tickets are gone.
    let (_, queue) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/queue"),
        Some(&token),
        None,
    )
    .await;
    let order = external_ids(&queue);
    assert_eq!(order, ["HD-2", "HD-3", "HD-4", "HD-5"]);

    // The monthly report's ticket section.
    let now = beacon::domain::Clock::now(&beacon::domain::SystemClock);
    let month = now.to_rfc3339()[..7].to_owned();
    let store = beacon::store::Store::open(&beacon.db).unwrap();
    let report = beacon::report::build_with_tickets(&store, &beacon.config, &month, now)
        .await
        .unwrap();
    let public = beacon::report::build(&store, &beacon.config, &month, now)
        .await
        .unwrap();
    store.close().await.unwrap();
    let json: Value = serde_json::from_str(&report.render(beacon::report::Format::Json)).unwrap();
    let critical = &json["tickets"]["by_severity"]["critical"];
    assert_eq!(critical["received"], 3);
    assert_eq!(critical["met"], 1);
    assert_eq!(critical["pending"], 1);
    assert_eq!(critical["waived"], 1);
    assert_eq!(critical["met_ratio"], 1.0);
    assert_eq!(json["tickets"]["by_severity"]["high"]["received"], 1);
    assert_eq!(json["tickets"]["calendar"], "calendar");
    assert_eq!(json["tickets"]["waived"][0]["external_id"], "HD-2");
    assert_eq!(
        json["tickets"]["waived"][0]["waived_by"],
        incident_id.as_str()
    );
    let html = report.render(beacon::report::Format::Html);
    assert!(html.contains("Waived Critical tickets") && html.contains("Live chat outage"));
    assert_eq!(json["tickets"]["rules"]["target_min"]["critical"], 60);
    assert_eq!(json["tickets"]["rules"]["retarget_from"], "receipt");
    assert_eq!(json["tickets"]["rules"]["waiver_requires_impact"], false);
    // The CSV carries the same lists as the JSON, one row per ticket, explained.
    let csv = report.render(beacon::report::Format::Csv);
    let waived_row = csv
        .lines()
        .find(|l| l.starts_with("waived,"))
        .expect("a waived row in the CSV");
    assert!(
        waived_row.contains(",HD-2,critical,") && waived_row.contains("Live chat outage"),
        "{waived_row}"
    );
    assert!(
        csv.contains(
            "\nrules,\"Targets: Critical 60 min, High 60 min, Medium 1440 min, Low 4320 min;"
        ),
        "{csv}"
    );
    assert!(
        public.tickets.is_none(),
        "the public report has no ticket section"
    );
    beacon.stop().await;
}

#[test]
fn a_helpdesk_export_imports_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let run = |csv: &str| {
        let file = dir.path().join("tickets.csv");
        std::fs::write(&file, csv).unwrap();
        common::beacon_in(
            dir.path(),
            [
                std::ffi::OsStr::new("import"),
                "tickets".as_ref(),
                file.as_os_str(),
            ],
        )
    };
    let (code, _, stderr) = run(
        "external_id,source,severity,channels,subject,received_at,first_reply_at\n\
         Z-1,zendesk,critical,live-chat,Chat down,2026-09-01T10:00:00Z,2026-09-01T10:30:00Z\n\
         Z-2,zendesk,urgent,live-chat,?,2026-09-01T10:00:00Z,\n\
         Z-3,zendesk,low,nowhere,?,2026-09-01T10:00:00Z,\n\
         Z-4,zendesk,low,web-form,?,yesterday,\n",
    );
    assert_eq!(code, 2);
    for expected in [
        "line 3: severity \"urgent\" is not critical, high, medium or low",
        "line 4: unknown channel \"nowhere\"",
        "line 5: received_at \"yesterday\" is not RFC 3339 or epoch milliseconds",
        "nothing imported",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    }
    // Good rows first, then one that contradicts them: the whole file is refused.
    let (code, _, stderr) = run(
        "external_id,source,severity,channels,subject,received_at,first_reply_at\n\
         Z-1,zendesk,critical,live-chat,Chat down,2026-09-01T10:00:00Z,2026-09-01T10:30:00Z\n\
         Z-2,zendesk,medium,web-form,Slow,2026-09-02T10:00:00Z,2026-09-02T09:00:00Z\n\
         Z-1,zendesk,low,live-chat,Again,2026-09-03T10:00:00Z,\n",
    );
    assert_eq!(code, 2);
    for expected in [
        "line 3: first_reply_at \"2026-09-02T09:00:00Z\" is earlier than the ticket's receipt (2026-09-02T10:00:00.000Z)",
        "line 4: external_id \"Z-1\" of source \"zendesk\" repeats line 2",
        "nothing imported",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    }
    let good = "external_id,source,severity,channels,subject,received_at,first_reply_at\n\
                Z-1,zendesk,critical,live-chat,Chat down,2026-09-01T10:00:00Z,2026-09-01T10:30:00Z\n\
                Z-2,zendesk,medium,web-form;live-chat,Slow,2026-09-02T10:00:00Z,\n";
    let (code, stdout, stderr) = run(good);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "imported 2 new tickets",
        "nothing came from the refused files"
    );
    let (_, stdout, _) = run(good);
    assert_eq!(stdout.trim(), "imported 0 new tickets", "idempotent");

    // The first reply was written with its ticket.
    let stored = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = beacon::store::Store::open(&dir.path().join("beacon.db")).unwrap();
            let all = store
                .tickets(
                    beacon::domain::Timestamp(0),
                    beacon::domain::Timestamp(i64::MAX),
                )
                .await
                .unwrap();
            store.close().await.unwrap();
            all
        });
    let replies: Vec<(&str, Vec<String>)> = stored
        .iter()
        .map(|r| {
            let events = r
                .ticket
                .events
                .iter()
                .map(|e| format!("{:?} {}", e.kind, e.at.to_rfc3339()))
                .collect();
            (r.external_id.as_str(), events)
        })
        .collect();
    assert_eq!(
        replies,
        [
            (
                "Z-1",
                vec!["PublicReply 2026-09-01T10:30:00.000Z".to_owned()]
            ),
            ("Z-2", vec![]),
        ]
    );
}

#[tokio::test]
async fn a_ticket_near_its_deadline_is_sent_to_webhooks_once() {
    let receiver = common::webhook::Receiver::start().await;
    let config = format!(
        "{CONFIG}\n[tickets.targets]\ncritical = \"10m\"\n\n[notify]\nretry_base = \"100ms\"\n\n[[notify.webhook]]\nurl = \"{}\"\nevents = [\"ticket_due_soon\"]\n",
        receiver.url()
    );
    let beacon = Beacon::start(&config).await;
    let token = api_token(&beacon, "operator").await;
    let (_, due) = ticket(&beacon, &token, "HD-9", "critical", &["web-form"]).await;
    assert_eq!(due["state"], "pending");
    let (_, relaxed) = ticket(&beacon, &token, "HD-10", "low", &["web-form"]).await;
    assert_eq!(relaxed["state"], "pending");
    let (_, queue) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/queue"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        queue["tickets"][0]["due_soon"], true,
        "highlighted in the queue"
    );
    assert_eq!(queue["tickets"][1]["due_soon"], false);

    let got = receiver
        .wait_for(
            std::time::Duration::from_secs(15),
            "due-soon warning",
            |b| b["event"] == "ticket_due_soon",
        )
        .await;
    assert_eq!(got.json()["ticket"]["id"], due["id"]);
    assert_eq!(got.json()["ticket"]["external_id"], "HD-9");
    // The next checks find it again but do not send it again.
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    let warnings = receiver
        .requests()
        .iter()
        .filter(|r| r.json()["event"] == "ticket_due_soon")
        .count();
    assert_eq!(warnings, 1, "sent once");
    beacon.stop().await;
}

/// `holidays_ics` feeds the Tier-2 calendar (C2): the shipped example closes 24-26 December
/// 2026, so a Medium ticket received on Wednesday 23 December at 15:00 UTC (1 business hour
/// left that day) is due on Wednesday 30 December at 09:00 instead of Monday 28 at 09:00.
#[test]
fn an_ics_holiday_pauses_the_tier2_clock() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/holidays.ics"),
        dir.path().join("holidays.ics"),
    )
    .unwrap();
    let due = |extra: &str| {
        let file = dir.path().join("probes.toml");
        std::fs::write(
            &file,
            format!("{CONFIG}\n[tickets]\ncalendar = \"tier2\"\n{extra}"),
        )
        .unwrap();
        let config = beacon::config::load(&file).unwrap();
        let ticket = beacon::domain::Ticket {
            id: "BCN-2026-000001".into(),
            received_at: beacon::domain::Timestamp::parse("2026-12-23T15:00:00Z").unwrap(),
            severity: beacon::domain::Severity::Medium,
            channels: vec!["web-form".into()],
            events: Vec::new(),
        };
        let settings = beacon::ticket::settings(&config.tickets);
        let now = ticket.received_at.plus_ms(60_000);
        let got = beacon::sla::evaluate(&ticket, &[], &config.channels, &settings, now);
        (got.deadline.map(|d| d.to_rfc3339()), got.explanation)
    };
    let (without, _) = due("");
    assert_eq!(without.as_deref(), Some("2026-12-28T09:00:00.000Z"));
    let (with, explanation) = due("holidays_ics = \"holidays.ics\"\n");
    assert_eq!(with.as_deref(), Some("2026-12-30T09:00:00.000Z"));
    assert!(
        explanation.starts_with("Pending: due at 2026-12-30 09:00:00 UTC"),
        "{explanation}"
    );
}

/// The helpdesk ids of a `{"tickets": [...]}` answer, in its order.
fn external_ids(list: &Value) -> Vec<&str> {
    list["tickets"]
        .as_array()
        .expect("a tickets array")
        .iter()
        .map(|t| t["external_id"].as_str().expect("an external_id"))
        .collect()
}

/// A helpdesk posts events by its own source and id; Beacon's request id is never needed.
#[tokio::test]
async fn events_can_be_posted_by_the_helpdesks_source_and_external_id() {
    let beacon = Beacon::start(CONFIG).await;
    let token = api_token(&beacon, "operator").await;
    let (code, received) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets"),
        Some(&token),
        Some(json!({"external_id": "Z-9", "source": "zendesk", "severity": "medium", "subject": "help"})),
    )
    .await;
    assert_eq!(code, 201, "{received}");
    let (code, replied) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets/by-external/zendesk/Z-9/events"),
        Some(&token),
        Some(json!({"type": "public_reply"})),
    )
    .await;
    assert_eq!(code, 201, "{replied}");
    assert_eq!(replied["id"], received["id"]);
    assert_eq!(replied["state"], "met", "{replied}");
    let (code, read) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/tickets/by-external/zendesk/Z-9"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(read["state"], "met");

    for path in [
        "/api/v1/tickets/by-external/freshdesk/Z-9/events",
        "/api/v1/tickets/by-external/zendesk/Z-10/events",
    ] {
        let (code, body) = api(
            reqwest::Method::POST,
            beacon.url(path),
            Some(&token),
            Some(json!({"type": "public_reply"})),
        )
        .await;
        assert_eq!(code, 404, "{path}: {body}");
    }
    let (code, _) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets/by-external/zendesk/Z-9/events"),
        None,
        Some(json!({"type": "public_reply"})),
    )
    .await;
    assert_eq!(code, 401, "an operator token is needed");
}
