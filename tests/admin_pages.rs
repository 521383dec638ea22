//! An operator's day in the web admin with the real server: declare and update an incident,
//! schedule maintenance and recurring windows, manage tokens and accounts, read the audit
//! log, and tickets with the ticket report behind login.

mod common;

use common::admin::{add_user, config, signed_in, AdminClient, PASSWORD};
use common::{api, api_token, Beacon};
use serde_json::{json, Value};

#[tokio::test]
async fn an_operator_declares_and_updates_an_incident_from_the_browser() {
    let (beacon, browser) = signed_in("olga", "operator").await;

    // A refused form keeps what was typed and says what is wrong next to the field.
    let refused = browser
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", " "),
                ("impact", "major"),
                ("status", "investigating"),
                ("message", "kept text"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("id=\"title-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("kept text"));

    let hostile = "<script>alert('x')</script> & \"chat\"";
    let created = browser
        .submit(
            "/admin/incidents/new",
            "/admin/incidents",
            &[
                ("title", hostile),
                ("impact", "major"),
                ("status", "investigating"),
                ("message", "We are **on it**."),
                ("ch:chat", "major_outage"),
                ("ch:form", ""),
                ("publish", "yes"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = created.location().to_owned();
    let id = page.rsplit('/').next().unwrap().to_owned();
    let detail = browser.get(&page).await;
    assert!(
        !detail.body.contains("<script>alert"),
        "escaped in the admin"
    );
    assert!(detail.body.contains("&lt;script&gt;"));

    let token = api_token(&beacon, "operator").await;
    let get = || {
        api(
            reqwest::Method::GET,
            beacon.url(&format!("/api/v1/incidents/{id}")),
            Some(&token),
            None,
        )
    };
    let (_, incident) = get().await;
    let acknowledged = incident["published_at"]
        .as_str()
        .expect("published")
        .to_owned();
    assert_eq!(
        incident["updates"][0]["channels"],
        json!({"chat": "major_outage"})
    );
    assert_eq!(incident["title"], hostile);

    // An update from the form; a smuggled published_at field changes nothing.
    let updated = browser
        .submit(
            &page,
            &format!("/admin/incidents/{id}/updates"),
            &[
                ("status", "resolved"),
                ("message", "Fixed."),
                ("keep_channels", "on"),
                ("published_at", "2000-01-01T00:00:00Z"),
            ],
        )
        .await;
    assert_eq!(updated.status, 303, "{}", updated.body);
    let (_, incident) = get().await;
    assert_eq!(incident["published_at"], Value::from(acknowledged));
    assert_eq!(incident["status"], "resolved");
    assert_eq!(
        incident["updates"][1]["channels"],
        Value::Null,
        "kept the set"
    );

    let public = beacon.get_text(&format!("/incidents/{id}")).await;
    assert!(public.contains("&lt;script&gt;") && !public.contains("<script>alert"));
}

#[tokio::test]
async fn maintenance_is_scheduled_from_the_calendar() {
    let (beacon, browser) = signed_in("olga", "operator").await;
    let bad = browser
        .submit(
            "/admin/maintenance",
            "/admin/maintenance",
            &[
                ("title", "Upgrade"),
                ("scheduled_for", "2031-01-01T02:00"),
                ("scheduled_until", "2031-01-01T01:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"scheduled_until-error\""));
    // Planned times run from 2000 to 10 years ahead (sla-rules 3 rule 6 bounds).
    for (from, until, field) in [
        ("1969-07-20T20:17", "2031-01-01T01:00", "scheduled_for"),
        ("2031-01-01T01:00", "2099-01-01T01:00", "scheduled_until"),
    ] {
        let out_of_range = browser
            .submit(
                "/admin/maintenance",
                "/admin/maintenance",
                &[
                    ("title", "Upgrade"),
                    ("scheduled_for", from),
                    ("scheduled_until", until),
                ],
            )
            .await;
        assert_eq!(out_of_range.status, 422, "{from} {until}");
        assert!(
            out_of_range.body.contains(&format!("id=\"{field}-error\"")),
            "{}",
            out_of_range.body
        );
    }
    let made = browser
        .submit(
            "/admin/maintenance",
            "/admin/maintenance",
            &[
                ("title", "Chat upgrade"),
                ("scheduled_for", "2031-01-01T01:00"),
                ("scheduled_until", "2031-01-01T02:30"),
                ("mch:chat", "on"),
                ("manual_end", "on"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let calendar = browser.get("/admin/maintenance").await;
    assert!(
        calendar.body.contains("<h3>2031-01-01</h3>"),
        "{}",
        calendar.body
    );
    assert!(calendar.body.contains("Chat upgrade"));
    let token = api_token(&beacon, "operator").await;
    let (_, list) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/maintenances"),
        Some(&token),
        None,
    )
    .await;
    let window = &list["incidents"][0];
    assert_eq!(window["scheduled_for"], "2031-01-01T01:00:00.000Z");
    assert_eq!(window["scheduled_until"], "2031-01-01T02:30:00.000Z");
    assert_eq!(
        window["updates"][0]["channels"],
        json!({"chat": "under_maintenance"})
    );
}

#[tokio::test]
async fn recurring_windows_are_added_and_stopped_from_the_maintenance_page() {
    let (beacon, browser) = signed_in("olga", "operator").await;
    let bad = browser
        .submit(
            "/admin/maintenance",
            "/admin/maintenance/recurring",
            &[
                ("rule_title", "Backups"),
                ("repeat", "someday 25:00"),
                ("duration", "1h"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"repeat-error\""), "{}", bad.body);
    assert!(bad.body.contains("value=\"Backups\""), "typed text kept");
    let added = browser
        .submit(
            "/admin/maintenance",
            "/admin/maintenance/recurring",
            &[
                ("rule_title", "Weekly backups"),
                ("repeat", "sun 02:00"),
                ("duration", "1h"),
                ("rch:chat", "on"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let page = browser.get("/admin/maintenance").await;
    assert!(
        page.body
            .contains("Weekly backups</strong> · weekly sun 02:00 UTC · 60 min · chat · next"),
        "{}",
        page.body
    );
    let token = api_token(&beacon, "operator").await;
    let (_, rules) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/maintenances/recurring"),
        Some(&token),
        None,
    )
    .await;
    let id = rules["recurring_maintenances"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, windows) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/maintenances"),
        Some(&token),
        None,
    )
    .await;
    assert!(
        !windows["incidents"].as_array().unwrap().is_empty(),
        "its windows are published at once"
    );

    let stopped = browser
        .submit(
            "/admin/maintenance",
            &format!("/admin/maintenance/recurring/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(stopped.status, 303);
    let (_, rules) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/maintenances/recurring"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(rules["recurring_maintenances"], json!([]));
}

#[tokio::test]
async fn admins_manage_tokens_and_accounts_and_read_the_audit_log() {
    let (beacon, browser) = signed_in("ada", "admin").await;

    let created = browser
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[("name", "helpdesk"), ("role", "operator")],
        )
        .await;
    assert_eq!(created.status, 200);
    let marker = "<pre><code>";
    let start = created.body.find(marker).expect("token shown once") + marker.len();
    let token = created.body[start..start + 48].to_owned();
    let (code, _) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        !browser.get("/admin/tokens").await.body.contains(&token),
        "shown only once"
    );

    let revoked = browser
        .submit("/admin/tokens", "/admin/tokens/helpdesk/revoke", &[])
        .await;
    assert_eq!(revoked.status, 303);
    let (code, _) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 401);

    let short = browser
        .submit(
            "/admin/users",
            "/admin/users",
            &[("name", "bob"), ("role", "operator"), ("password", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("id=\"password-error\""));
    let added = browser
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("name", "bob"),
                ("role", "operator"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    let bob = AdminClient::new(&beacon);
    assert_eq!(bob.login("bob", PASSWORD).await.status, 303);
    browser
        .submit("/admin/users", "/admin/users/bob/disable", &[])
        .await;
    assert_eq!(
        bob.get("/admin").await.status,
        303,
        "disabling ends bob's session"
    );

    let audit = browser.get("/admin/audit").await;
    assert_eq!(audit.status, 200);
    for action in [
        "log in",
        "create token",
        "revoke token",
        "create account",
        "disable account",
    ] {
        assert!(audit.body.contains(action), "audit lacks {action:?}");
    }
    assert!(audit.body.contains("user:ada"));
}

#[tokio::test]
async fn tickets_and_the_ticket_report_are_only_behind_login() {
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, "olga", "operator").await;
    let token = api_token(&beacon, "operator").await;
    let (code, ticket) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/tickets"),
        Some(&token),
        Some(json!({"external_id": "HD-1", "severity": "high", "channels": ["chat"], "subject": "<b>chat</b> broken"})),
    )
    .await;
    assert_eq!(code, 201, "{ticket}");
    let id = ticket["id"].as_str().unwrap().to_owned();
    let month = &ticket["received_at"].as_str().unwrap()[..7];

    let stranger = AdminClient::new(&beacon);
    for page in [
        "/admin/tickets".to_owned(),
        format!("/admin/tickets/{id}"),
        format!("/admin/reports/{month}.json"),
    ] {
        assert_eq!(
            stranger.get(&page).await.status,
            303,
            "{page} needs a login"
        );
    }
    let browser = AdminClient::new(&beacon);
    browser.login("olga", PASSWORD).await;
    let queue = browser.get("/admin/tickets").await;
    assert!(queue.body.contains(&id));
    assert!(queue.body.contains("&lt;b&gt;chat&lt;/b&gt;"));
    let one = browser.get(&format!("/admin/tickets/{id}")).await;
    assert_eq!(one.status, 200);
    assert!(one.body.contains("HD-1"));
    let report = browser.get(&format!("/admin/reports/{month}.json")).await;
    assert_eq!(report.status, 200);
    let report: Value = serde_json::from_str(&report.body).unwrap();
    assert_eq!(
        report["tickets"]["by_severity"]["high"]["received"], 1,
        "{report}"
    );
}
