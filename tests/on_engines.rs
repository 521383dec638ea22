//! A whole Beacon on each engine: SQLite always, PostgreSQL too when `BEACON_PG_URL` is set
//! (`.ci/run` starts a real server). This is the named subset of the integration tests that
//! runs on PostgreSQL (see the README): one journey per module that writes or reads the
//! store — the prober's states and their restart, incidents and the public page, tickets and
//! their clocks, the admin's sessions and CSRF, the notification outbox, and the report.

mod common;

use beacon::store::Database;
use common::admin::{add_user, AdminClient, AUTH, PASSWORD};
use common::webhook::Receiver;
use common::{api, api_token, fast_config, Beacon, Mode, Upstream};
use serde_json::json;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// A fresh SQLite file, and a fresh PostgreSQL schema when configured.
fn databases(dir: &tempfile::TempDir) -> Vec<Database> {
    let mut out = vec![Database::Sqlite(dir.path().join("beacon.db"))];
    out.extend(common::postgres::fresh_postgres());
    out
}

fn config(upstream: &str, receiver: &str) -> String {
    let mut text = fast_config(&[("chat", upstream)], 2, 1);
    text.push_str(AUTH);
    text.push_str(&format!(
        "\n[notify]\nretry_base = \"100ms\"\nretry_max = \"400ms\"\ntimeout = \"2s\"\n\n\
         [[notify.webhook]]\nname = \"ops\"\nurl = \"{receiver}\"\n"
    ));
    text
}

#[tokio::test]
async fn states_notifications_and_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    for database in databases(&dir) {
        let upstream = Upstream::start().await;
        let receiver = Receiver::start().await;
        let text = config(&upstream.url(), &receiver.url());
        let beacon = Beacon::start_on_database(&text, database.clone()).await;
        beacon.wait_for_state("chat", "up", WITHIN).await;
        upstream.set(Mode::Down);
        let down = beacon.wait_for_state("chat", "down", WITHIN).await;
        let sent = receiver
            .wait_for(WITHIN, "a down notification", |b| b["state"] == "down")
            .await;
        assert_eq!(sent.json()["since"], down["since"], "{database}");
        beacon.stop().await;

        // Restarted on the same database: the outage is still dated as it was.
        let beacon = Beacon::start_on_database(&text, database.clone()).await;
        let again = beacon.channel("chat").await;
        assert_eq!(again["since"], down["since"], "{database}: {again}");
        let sla = beacon.get_json("/api/v1/channels/chat/sla").await;
        assert_eq!(sla["commitment"], 0.995, "{database}: {sla}");
        assert!(
            sla["down_ms"].as_i64().unwrap_or(0) > 0,
            "{database}: {sla}"
        );
        beacon.stop().await;
    }
}

#[tokio::test]
async fn incidents_tickets_and_the_admin() {
    let dir = tempfile::tempdir().expect("dir");
    for database in databases(&dir) {
        let upstream = Upstream::start().await;
        let receiver = Receiver::start().await;
        let beacon =
            Beacon::start_on_database(&config(&upstream.url(), &receiver.url()), database.clone())
                .await;
        let token = api_token(&beacon, "operator").await;

        let (code, created) = api(
            reqwest::Method::POST,
            beacon.url("/api/v1/incidents"),
            Some(&token),
            Some(json!({"title": "Chat is slow", "impact": "minor",
                "channels": {"chat": "degraded_performance"}, "publish": true,
                "message": "Looking into it"})),
        )
        .await;
        assert_eq!(code, 201, "{database}: {created}");
        let id = created["id"].as_str().expect("id").to_owned();
        beacon.wait_for_page("/", &["Chat is slow"], WITHIN).await;
        let (code, v2) = api(
            reqwest::Method::GET,
            beacon.url("/api/v2/incidents.json"),
            None,
            None,
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(v2["incidents"][0]["name"], "Chat is slow", "{database}");

        let (code, ticket) = api(
            reqwest::Method::POST,
            beacon.url("/api/v1/tickets"),
            Some(&token),
            Some(
                json!({"source": "desk", "external_id": "T-1", "severity": "high",
                "channels": ["chat"], "subject": "Chat is slow"}),
            ),
        )
        .await;
        assert_eq!(code, 201, "{database}: {ticket}");
        let ticket_id = ticket["id"].as_str().expect("ticket id").to_owned();
        let (code, read) = api(
            reqwest::Method::GET,
            beacon.url("/api/v1/tickets?severity=high"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(code, 200, "{database}: {read}");
        assert_eq!(
            read["tickets"][0]["id"],
            ticket_id.as_str(),
            "{database}: {read}"
        );
        assert_eq!(
            read["tickets"][0]["external_id"], "T-1",
            "{database}: {read}"
        );

        // The admin: a session stored in the database, and a form checked against its CSRF.
        add_user(&beacon, "ana", "admin").await;
        let admin = AdminClient::new(&beacon);
        let login = admin.login("ana", PASSWORD).await;
        assert_eq!(login.status, 303, "{database}: {}", login.body);
        let page = admin.get(&format!("/admin/incidents/{id}")).await;
        assert_eq!(page.status, 200, "{database}");
        assert!(page.body.contains("Chat is slow"), "{database}");
        let forged = admin
            .post("/admin/logout", &[("csrf", "not-the-token")])
            .await;
        assert_eq!(forged.status, 403, "{database}: {}", forged.body);
        beacon.stop().await;
    }
}

/// PostgreSQL only: every connection of a node cut by the server (a failover, a restart of
/// the database) is replaced at the next use; nothing written after the cut is lost.
#[tokio::test]
async fn a_node_reconnects_after_the_server_drops_its_connections() {
    let Some(database) = common::postgres::fresh_postgres() else {
        return; // SQLite has no server to lose; BEACON_PG_URL unset.
    };
    let name = format!("beacon-reconnect-{}", std::process::id());
    let url = match &database {
        Database::Postgres(url) => format!("{url}&application_name={name}"),
        Database::Sqlite(_) => unreachable!("fresh_postgres gives a URL"),
    };
    let database: Database = url.parse().expect("url");
    let upstream = Upstream::start().await;
    let receiver = Receiver::start().await;
    let beacon =
        Beacon::start_on_database(&config(&upstream.url(), &receiver.url()), database).await;
    beacon.wait_for_state("chat", "up", WITHIN).await;
    let token = api_token(&beacon, "operator").await;

    let cut = common::postgres::terminate(&name);
    assert!(cut >= 1, "the node's connections were cut ({cut})");

    let (code, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "After the cut", "impact": "minor",
            "channels": {"chat": "partial_outage"}, "publish": true})),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    beacon.wait_for_page("/", &["After the cut"], WITHIN).await;
    common::wait_for(WITHIN, "healthz ok again", || async {
        let health = beacon.get_json("/healthz").await;
        (health["database"] == "ok").then_some(())
    })
    .await;
    beacon.stop().await;
}

/// Runs `sql` beside the running Beacon, on either engine.
fn beside(database: &Database, sql: &str) {
    match database {
        Database::Sqlite(path) => rusqlite::Connection::open(path)
            .and_then(|c| c.execute_batch(sql))
            .expect("sqlite"),
        Database::Postgres(url) => common::postgres::execute(url, sql),
    }
}

/// When the pages cannot be rendered (here a table the page reads has gone), the last
/// rendered page is still served and `/healthz` says since when it is stale; once the
/// database is whole again the next render clears it.
#[tokio::test]
async fn a_node_that_cannot_render_serves_its_last_page_marked_stale() {
    let dir = tempfile::tempdir().expect("dir");
    for database in databases(&dir) {
        let upstream = Upstream::start().await;
        let receiver = Receiver::start().await;
        let beacon =
            Beacon::start_on_database(&config(&upstream.url(), &receiver.url()), database.clone())
                .await;
        beacon.wait_for_state("chat", "up", WITHIN).await;
        let before = beacon.wait_for_page("/", &["Channel chat"], WITHIN).await;
        assert_eq!(
            beacon.get_json("/healthz").await["pages"],
            "ok",
            "{database}"
        );

        beside(&database, "ALTER TABLE incidents RENAME TO incidents_away");
        upstream.set(Mode::Down); // a state change: the pages render again, and fail
        receiver
            .wait_for(WITHIN, "the down notification", |b| b["state"] == "down")
            .await;
        let health = common::wait_for(WITHIN, "pages marked stale", || async {
            let health = beacon.get_json("/healthz").await;
            health["pages"]
                .as_str()
                .is_some_and(|p| p.starts_with("stale: serving the pages rendered at"))
                .then_some(health)
        })
        .await;
        assert!(
            health["pages"].as_str().unwrap_or("").contains("incidents"),
            "{database}: the error names what failed: {health}"
        );
        let served = beacon.get_text("/").await;
        assert_eq!(
            served, before,
            "{database}: the last rendered page is served"
        );

        beside(&database, "ALTER TABLE incidents_away RENAME TO incidents");
        upstream.set(Mode::Up); // and again, now whole
        beacon.wait_for_state("chat", "up", WITHIN).await;
        let deadline = tokio::time::Instant::now() + WITHIN;
        loop {
            let health = beacon.get_json("/healthz").await;
            if health["pages"] == "ok" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{database}: pages not fresh again: {health}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        beacon.stop().await;
    }
}

/// Two nodes on one database: a session opened on one is valid on the other (with its CSRF
/// check), and failed logins on one throttle the same address and name on the other.
#[tokio::test]
async fn sessions_and_the_login_throttle_hold_across_two_nodes() {
    let dir = tempfile::tempdir().expect("dir");
    for database in databases(&dir) {
        let text = format!("[service]\nallow_empty = true\n{AUTH}");
        let a = Beacon::start_on_database(&text, database.clone()).await;
        let b = Beacon::start_on_database(&text, database.clone()).await;
        add_user(&a, "alice", "admin").await;

        let on_a = AdminClient::new(&a);
        for _ in 0..3 {
            assert_eq!(
                on_a.login("alice", "not it").await.status,
                401,
                "{database}"
            );
        }
        let on_b = AdminClient::new(&b);
        let blocked = on_b.login("alice", PASSWORD).await;
        assert_eq!(
            blocked.status, 429,
            "{database}: node B counts A's failures"
        );

        tokio::time::sleep(Duration::from_millis(1_100)).await; // login_backoff
        assert_eq!(
            on_a.login("alice", PASSWORD).await.status,
            303,
            "{database}"
        );
        let same_browser_on_b = on_a.on(&b);
        let page = same_browser_on_b.get("/admin").await;
        assert_eq!(page.status, 200, "{database}: A's session on B");
        let out = same_browser_on_b
            .submit("/admin", "/admin/logout", &[])
            .await;
        assert_eq!(
            out.status, 303,
            "{database}: B checks A's session's CSRF token"
        );
        assert_ne!(
            on_a.get("/admin").await.status,
            200,
            "{database}: logged out on A too"
        );
        a.stop().await;
        b.stop().await;
    }
}

/// PostgreSQL: an incident written through node A is on node B's cached page at once (B
/// renders on A's change notice), long before B's periodic 10 s render would show it.
#[tokio::test]
async fn a_write_on_one_node_is_on_the_other_nodes_page_at_once() {
    let Some(database) = common::postgres::fresh_postgres() else {
        return; // SQLite: one node per file
    };
    let text = "[service]\nallow_empty = true\n";
    let a = Beacon::start_on_database(text, database.clone()).await;
    let b = Beacon::start_on_database(text, database).await;
    let token = api_token(&a, "operator").await;
    // Past B's first renders, so only a notice can bring the incident.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, created) = api(
        reqwest::Method::POST,
        a.url("/api/v1/incidents"),
        Some(&token),
        Some(
            json!({"title": "Seen from B", "impact": "minor", "service_wide": true,
            "publish": true}),
        ),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let started = std::time::Instant::now();
    // Bounded well under the 10 s periodic render, loose enough for a busy machine.
    b.wait_for_page("/", &["Seen from B"], Duration::from_secs(5))
        .await;
    eprintln!("on node B's page after {:?}", started.elapsed());
    a.stop().await;
    b.stop().await;
}
