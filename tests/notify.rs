//! End to end: webhooks from the durable outbox to a real local receiver. Signatures checked
//! with ring, retries after refusals, the queue surviving a restart, Slack's format, and an
//! incident update enqueued through the public `Notifier`.

mod common;

use beacon::domain::{Config, SystemClock, Timestamp};
use beacon::notify::{Notifier, NotifyEvent};
use beacon::store::{DeliveryStatus, NotifyDelivery, Store};
use common::webhook::Receiver;
use common::{fast_config, open_db, wait_for, Beacon, Mode, Upstream};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

const WITHIN: Duration = Duration::from_secs(8);

/// `fast_config` with a `[notify]` table: short retries, and `webhooks` as TOML lines each.
fn config(upstream: &str, notify: &str, webhooks: &[String]) -> String {
    let mut text = fast_config(&[("chat", upstream)], 2, 1);
    text.push_str(&format!(
        "\n[notify]\nretry_base = \"100ms\"\nretry_max = \"400ms\"\ntimeout = \"2s\"\n{notify}\n"
    ));
    for hook in webhooks {
        text.push_str(&format!("\n[[notify.webhook]]\n{hook}\n"));
    }
    text
}

fn is_state(state: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |body| body["event"] == "channel_state" && body["state"] == state
}

/// The outbox as the store reports it, read after Beacon stopped.
async fn deliveries(db: &std::path::Path) -> Vec<NotifyDelivery> {
    let store = Store::open(db).expect("open store");
    let list = store.notify_deliveries(100).await.expect("deliveries");
    store.close().await.expect("close store");
    list
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test]
async fn a_channel_going_down_sends_a_signed_channel_state_notification() {
    let upstream = Upstream::start().await;
    let receiver = Receiver::start().await;
    let incidents_only = Receiver::start().await;
    let beacon = Beacon::start(&config(
        &upstream.url(),
        "",
        &[
            format!(
                "name = \"ops\"\nurl = \"{}\"\nsecret = \"s3cret\"",
                receiver.url()
            ),
            format!(
                "name = \"incidents\"\nurl = \"{}\"\nevents = [\"incident_update\"]",
                incidents_only.url()
            ),
        ],
    ))
    .await;
    beacon.wait_for_state("chat", "up", WITHIN).await;
    upstream.set(Mode::Down);
    let down = beacon.wait_for_state("chat", "down", WITHIN).await;

    let request = receiver
        .wait_for(WITHIN, "a down notification", is_state("down"))
        .await;
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(request.event.as_deref(), Some("channel_state"));
    let body = request.json();
    assert_eq!(body["service"], "Test support");
    assert_eq!(
        body["channel"],
        serde_json::json!({"id": "chat", "name": "Channel chat"})
    );
    assert_eq!(body["component_status"], "major_outage");
    assert_eq!(body["since"], down["since"], "the same instant as the API");
    assert!(
        Timestamp::parse(body["created_at"].as_str().unwrap_or_default()).is_some(),
        "{body}"
    );

    // The receiver's check: HMAC-SHA256 of the exact body bytes under the shared secret.
    let signature = request.signature.clone().expect("signed");
    let tag = signature.strip_prefix("sha256=").expect("sha256= prefix");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
    ring::hmac::verify(&key, &request.body, &hex(tag)).expect("signature verifies");
    assert!(ring::hmac::verify(&key, b"{}", &hex(tag)).is_err());

    let (db, _dir) = beacon.stop().await;
    assert!(
        incidents_only.requests().is_empty(),
        "a webhook without channel_state gets none"
    );
    let list = deliveries(&db).await;
    assert!(list.iter().all(|d| d.webhook == "ops"), "{list:?}");
    let row = list
        .iter()
        .find(|d| Some(d.id.to_string()) == request.delivery)
        .expect("X-Beacon-Delivery is the outbox id");
    assert_eq!((row.status, row.attempts), (DeliveryStatus::Delivered, 1));
    assert_eq!(row.event, "channel_state");
    assert!(row.delivered_at.is_some() && row.last_error.is_none());
}

#[tokio::test]
async fn a_refused_notification_is_retried_with_backoff_and_a_failed_one_stops_blocking_its_queue()
{
    let upstream = Upstream::start().await;
    let receiver = Receiver::start().await;
    // The first notification ("up") is refused twice: once retried, then failed for good
    // (max_attempts = 2); the next one ("down") goes through after a refusal.
    receiver.answer_first(&[500, 503, 500]);
    let beacon = Beacon::start(&config(
        &upstream.url(),
        "max_attempts = 2",
        &[format!("url = \"{}\"", receiver.url())],
    ))
    .await;
    beacon.wait_for_state("chat", "up", WITHIN).await;
    upstream.set(Mode::Down);
    receiver
        .wait_for(WITHIN, "the down notification", is_state("down"))
        .await;
    let delivered = wait_for(WITHIN, "the down notification answered 200", || {
        let requests = receiver.requests();
        async move { (requests.len() >= 4).then_some(requests) }
    })
    .await;
    let (db, _dir) = beacon.stop().await;

    let ids: Vec<_> = delivered.iter().map(|r| r.delivery.clone()).collect();
    assert_eq!(ids[0], ids[1], "the same row is retried: {ids:?}");
    assert_ne!(
        ids[1], ids[2],
        "the next row after the first failed: {ids:?}"
    );
    assert_eq!(ids[2], ids[3], "{ids:?}");
    assert!(
        delivered[1].at - delivered[0].at >= Duration::from_millis(90),
        "retry_base is respected"
    );
    assert!(
        delivered[3].at - delivered[2].at >= Duration::from_millis(90),
        "retry_base is respected"
    );
    assert_eq!(delivered[0].json()["state"], "up");
    assert_eq!(
        delivered[0].body, delivered[1].body,
        "the same bytes each time"
    );
    assert_eq!(delivered[3].json()["state"], "down");

    let list = deliveries(&db).await;
    let by_id = |id: &Option<String>| {
        list.iter()
            .find(|d| Some(d.id.to_string()) == *id)
            .cloned()
            .expect("row")
    };
    let first = by_id(&ids[0]);
    assert_eq!((first.status, first.attempts), (DeliveryStatus::Failed, 2));
    assert_eq!(first.last_error.as_deref(), Some("HTTP 503: try later"));
    assert_eq!(first.delivered_at, None);
    let second = by_id(&ids[2]);
    assert_eq!(
        (second.status, second.attempts),
        (DeliveryStatus::Delivered, 2)
    );
    assert_eq!(second.last_error.as_deref(), Some("HTTP 500: try later"));
}

#[tokio::test]
async fn a_pending_notification_survives_a_restart() {
    let upstream = Upstream::start().await;
    // A port nobody listens on yet: every attempt before the restart is refused.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .and_then(|l| l.local_addr())
        .expect("free port");
    let text = config(
        &upstream.url(),
        "",
        &[format!("name = \"ops\"\nurl = \"http://{addr}/hook\"")],
    );
    let beacon = Beacon::start(&text).await;
    beacon.wait_for_state("chat", "up", WITHIN).await;
    upstream.set(Mode::Down);
    beacon.wait_for_state("chat", "down", WITHIN).await;
    let db = beacon.db.clone();
    let attempted =
        "SELECT COUNT(*) FROM notify_outbox WHERE attempts > 0 AND last_error LIKE 'connect: %'";
    wait_for(WITHIN, "a refused attempt recorded", || {
        let n: i64 = open_db(&db)
            .query_row(attempted, [], |r| r.get(0))
            .expect("count");
        async move { (n > 0).then_some(()) }
    })
    .await;
    let (db, _dir) = beacon.stop().await;

    let before = deliveries(&db).await;
    let pending: Vec<i64> = before
        .iter()
        .rev()
        .filter(|d| d.status == DeliveryStatus::Pending)
        .map(|d| d.id)
        .collect();
    assert!(pending.len() >= 2, "up and down still pending: {before:?}");

    let receiver = Receiver::start_on(addr).await;
    let beacon = Beacon::start_on(&text, &db).await;
    let received = wait_for(WITHIN, "every pending notification delivered", || {
        let ids: Vec<i64> = receiver
            .requests()
            .iter()
            .filter_map(|r| r.delivery.as_deref()?.parse().ok())
            .collect();
        let done = pending.iter().all(|id| ids.contains(id));
        async move { done.then_some(ids) }
    })
    .await;
    let (db, _dir2) = beacon.stop().await;

    let order: Vec<i64> = received
        .into_iter()
        .filter(|id| pending.contains(id))
        .collect();
    assert_eq!(order, pending, "sent once each, oldest first");
    let after = deliveries(&db).await;
    for (n, id) in pending.iter().enumerate() {
        let row = after.iter().find(|d| d.id == *id).expect("row kept");
        assert_eq!(row.status, DeliveryStatus::Delivered, "{row:?}");
        if n == 0 {
            assert!(row.attempts >= 2, "refused before the restart: {row:?}");
            assert!(row
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("connect: ")));
        }
    }
}

#[tokio::test]
async fn a_slack_webhook_gets_one_line_of_text() {
    let upstream = Upstream::start().await;
    let receiver = Receiver::start().await;
    let beacon = Beacon::start(&config(
        &upstream.url(),
        "",
        &[format!("url = \"{}\"\nformat = \"slack\"", receiver.url())],
    ))
    .await;
    let request = receiver
        .wait_for(WITHIN, "a slack message", |body| body.get("text").is_some())
        .await;
    beacon.stop().await;
    let body = request.json();
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only text: {body}"
    );
    let text = body["text"].as_str().expect("text");
    assert!(
        text.starts_with("Test support: Channel chat is up since ") && text.ends_with(" UTC"),
        "{text}"
    );
    assert_eq!(request.event.as_deref(), Some("channel_state"));
}

#[tokio::test]
async fn an_incident_update_goes_to_the_webhooks_that_want_it() {
    let receiver = Receiver::start().await;
    let states_only = Receiver::start().await;
    let text = format!(
        "[service]\nname = \"Support\"\nallow_empty = true\n\n[notify]\nretry_base = \"100ms\"\n\n\
         [[notify.webhook]]\nname = \"all\"\nurl = \"{}\"\n\n\
         [[notify.webhook]]\nname = \"states\"\nurl = \"{}\"\nevents = [\"channel_state\"]\n",
        receiver.url(),
        states_only.url()
    );
    let config: Config = beacon::config::parse("test.toml", &text).expect("valid");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("n.db")).expect("open");
    let (_config_tx, config_rx) = tokio::sync::watch::channel(Arc::new(config));
    let (notifier, delivery) =
        Notifier::start(config_rx, store.clone(), Arc::new(SystemClock)).expect("start");

    let published_at = Timestamp::parse("2026-11-26T04:00:00.000Z").expect("time");
    let added = notifier
        .enqueue(NotifyEvent::IncidentUpdate {
            incident_id: "7".into(),
            title: "Chat is slow".into(),
            status: "identified".into(),
            impact: "minor".into(),
            message: "A database index is missing.".into(),
            published_at,
            url: None,
        })
        .await
        .expect("enqueue");
    assert_eq!(added, 1, "only the webhook that wants incident updates");

    let request = receiver
        .wait_for(WITHIN, "the incident update", |b| {
            b["event"] == "incident_update"
        })
        .await;
    assert_eq!(request.event.as_deref(), Some("incident_update"));
    assert_eq!(request.signature, None, "no secret, no signature");
    let body = request.json();
    assert_eq!(
        body["incident"],
        serde_json::json!({"id": "7", "title": "Chat is slow", "status": "identified",
                           "impact": "minor", "url": null})
    );
    assert_eq!(
        body["update"],
        serde_json::json!({"message": "A database index is missing.",
                           "published_at": "2026-11-26T04:00:00.000Z"})
    );
    delivery.stop().await;
    assert!(states_only.requests().is_empty());
    let list = store.notify_deliveries(10).await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].webhook.as_str(), list[0].status),
        ("all", DeliveryStatus::Delivered)
    );
    store.close().await.expect("close");
}
