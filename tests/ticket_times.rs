//! Ticket times on every path: an event dated before its ticket's receipt or more than 5 s
//! ahead is refused naming its field by the API, the admin form and the CSV import, and
//! nothing of it is stored (the ticket's events and the report's average stay as they were).

mod common;

use beacon::domain::{Clock, SystemClock, Timestamp};
use common::admin::signed_in;
use common::{api, api_token, beacon_in, Beacon};
use serde_json::{json, Value};

/// The ticket section of this month's report, as JSON.
async fn ticket_section(beacon: &Beacon) -> Value {
    let now = SystemClock.now();
    let month = now.to_rfc3339()[..7].to_owned();
    let store = beacon::store::Store::open(&beacon.db).unwrap();
    let report = beacon::report::build_with_tickets(&store, &beacon.config, &month, now)
        .await
        .unwrap();
    store.close().await.unwrap();
    let json: Value = serde_json::from_str(&report.render(beacon::report::Format::Json)).unwrap();
    json["tickets"].clone()
}

async fn receive(beacon: &Beacon, token: &str, external_id: &str) -> Value {
    let (code, ticket) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets"),
        Some(token),
        Some(json!({"external_id": external_id, "severity": "high", "channels": ["chat"]})),
    )
    .await;
    assert_eq!(code, 201, "{ticket}");
    ticket
}

#[tokio::test]
async fn the_api_refuses_event_times_before_receipt_or_ahead_and_stores_nothing() {
    let beacon = Beacon::start(&common::admin::config()).await;
    let token = api_token(&beacon, "operator").await;
    let events = |ticket: &Value| {
        beacon.url(&format!(
            "/api/v1/tickets/{}/events",
            ticket["id"].as_str().unwrap()
        ))
    };
    // One answered ticket gives the report an average to keep.
    let answered = receive(&beacon, &token, "HD-1").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (code, replied) = api(
        reqwest::Method::POST,
        events(&answered),
        Some(&token),
        Some(json!({"type": "public_reply"})),
    )
    .await;
    assert_eq!(code, 201, "{replied}");
    let ticket = receive(&beacon, &token, "HD-2").await;
    let received = Timestamp::parse(ticket["received_at"].as_str().unwrap()).unwrap();
    let section = ticket_section(&beacon).await;
    assert!(
        section["by_severity"]["high"]["avg_first_response_ms"].as_i64() > Some(0),
        "{section}"
    );

    let one_second_before = received.plus_ms(-1_000).to_rfc3339();
    let ahead = SystemClock.now().plus_ms(60_000).to_rfc3339();
    for at in [
        "1970-01-01T00:00:00Z",
        "9999-12-31T00:00:00Z",
        one_second_before.as_str(),
        ahead.as_str(),
    ] {
        let (code, error) = api(
            reqwest::Method::POST,
            events(&ticket),
            Some(&token),
            Some(json!({"type": "public_reply", "at": at})),
        )
        .await;
        assert_eq!(
            (code, &error["field"]),
            (422, &json!("at")),
            "{at}: {error}"
        );
        assert!(
            error["error"].as_str().unwrap_or_default().contains(at),
            "the message quotes the time: {error}"
        );
    }
    let (_, read) = api(
        reqwest::Method::GET,
        beacon.url(&format!(
            "/api/v1/tickets/{}",
            ticket["id"].as_str().unwrap()
        )),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(read["events"], json!([]), "nothing stored: {read}");
    assert_eq!(read["state"], "pending");
    assert_eq!(
        ticket_section(&beacon).await,
        section,
        "the report's figures are unchanged"
    );

    // At the very instant of receipt: accepted, a response time of zero.
    let (code, met) = api(
        reqwest::Method::POST,
        events(&ticket),
        Some(&token),
        Some(json!({"type": "public_reply", "at": received.to_rfc3339()})),
    )
    .await;
    assert_eq!(code, 201, "{met}");
    assert_eq!(met["state"], "met");
    assert_eq!(met["time_to_first_response_ms"], 0);
    beacon.stop().await;
}

#[tokio::test]
async fn the_admin_form_shows_a_refused_event_time_at_its_field() {
    let (beacon, browser) = signed_in("olga", "operator").await;
    let token = api_token(&beacon, "operator").await;
    let ticket = receive(&beacon, &token, "HD-3").await;
    let page = format!("/admin/tickets/{}", ticket["id"].as_str().unwrap());
    let action = format!("{page}/events");
    let refused = browser
        .submit(
            &page,
            &action,
            &[("type", "public_reply"), ("at", "1970-01-01T00:00")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("id=\"at-error\""), "{}", refused.body);
    assert!(
        refused.body.contains("value=\"1970-01-01T00:00\""),
        "what was typed is kept"
    );
    assert!(refused.body.contains("No events yet."), "nothing stored");

    let recorded = browser
        .submit(&page, &action, &[("type", "internal_note"), ("at", "")])
        .await;
    assert_eq!(recorded.status, 303, "{}", recorded.body);
    let shown = browser.get(&page).await;
    assert!(shown.body.contains("internal note"), "{}", shown.body);
    beacon.stop().await;
}

#[test]
fn the_csv_import_refuses_times_out_of_bounds_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), common::admin::config()).unwrap();
    let file = dir.path().join("tickets.csv");
    let ahead = SystemClock.now().plus_ms(60_000).to_rfc3339();
    std::fs::write(
        &file,
        format!(
            "external_id,source,severity,channels,subject,received_at,first_reply_at\n\
             Z-1,zendesk,high,chat,Fine,2026-09-01T10:00:00Z,2026-09-01T10:00:00Z\n\
             Z-2,zendesk,high,chat,Epoch,1970-01-01T00:00:00Z,\n\
             Z-3,zendesk,high,chat,Ahead,{ahead},\n\
             Z-4,zendesk,high,chat,Reply ahead,2026-09-01T10:00:00Z,9999-12-31T00:00:00Z\n\
             Z-5,zendesk,high,chat,Reply early,2026-09-01T10:00:00Z,2026-09-01T09:59:59Z\n"
        ),
    )
    .unwrap();
    let (code, _, stderr) = beacon_in(
        dir.path(),
        [
            std::ffi::OsStr::new("import"),
            "tickets".as_ref(),
            file.as_os_str(),
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "line 3: received_at \"1970-01-01T00:00:00Z\" is earlier than 2000-01-01".to_owned(),
        format!("line 4: received_at \"{ahead}\" is later than 5 s from now"),
        "line 5: first_reply_at \"9999-12-31T00:00:00Z\" is later than 5 s from now".to_owned(),
        "line 6: first_reply_at \"2026-09-01T09:59:59Z\" is earlier than the ticket's receipt (2026-09-01T10:00:00.000Z)".to_owned(),
        "nothing imported".to_owned(),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in {stderr}");
    }
    assert!(
        !stderr.contains("line 2:"),
        "a reply at receipt is fine: {stderr}"
    );
}
