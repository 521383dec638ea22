//! The web admin with the real server: accounts and sessions, CSRF, login throttling, role
//! checks, and an operator's day (declare, update, schedule maintenance, tokens, audit log,
//! tickets and the report behind login).

mod common;

use common::admin::{add_user, AdminClient, AUTH, PASSWORD};
use common::{api, api_token, Beacon};
use serde_json::{json, Value};

fn config() -> String {
    format!(
        r#"
[service]
name = "Admin test"

[[channel]]
id = "chat"
name = "Live chat"
group = "Support channels"

[[channel]]
id = "form"
name = "Web form"
group = "Support channels"
{AUTH}"#
    )
}

/// A running Beacon with one account of `role`, and a browser logged in as it.
async fn signed_in(name: &str, role: &str) -> (Beacon, AdminClient) {
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, name, role).await;
    let browser = AdminClient::new(&beacon);
    assert_eq!(browser.login(name, PASSWORD).await.status, 303);
    (beacon, browser)
}

#[tokio::test]
async fn a_fresh_install_has_no_default_account_and_says_how_to_create_one() {
    let beacon = Beacon::start(&config()).await;
    let browser = AdminClient::new(&beacon);
    let dashboard = browser.get("/admin").await;
    assert_eq!(dashboard.status, 303);
    assert_eq!(dashboard.location(), "/admin/login");
    let login = browser.get("/admin/login").await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("beacon user add NAME --role admin"),
        "{}",
        login.body
    );
    for (name, password) in [("admin", "admin"), ("admin", ""), ("root", "password")] {
        let answer = browser.login(name, password).await;
        assert_eq!(answer.status, 401, "{name}/{password} must not log in");
    }
    let refused = browser
        .post("/admin/incidents", &[("title", "x"), ("impact", "minor")])
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn login_opens_a_strict_session_cookie_and_logout_ends_it() {
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, "alice", "operator").await;
    let browser = AdminClient::new(&beacon);
    let answer = browser.login("alice", PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), "/admin");
    let session = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("beacon_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(session.contains(attribute), "{session} lacks {attribute}");
    }
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    let dashboard = browser.get("/admin").await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard
        .body
        .contains("Signed in as <strong>alice</strong>"));
    assert_eq!(dashboard.headers.get("cache-control").unwrap(), "no-store");

    let csrf = dashboard.csrf();
    let out = browser.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(browser.get("/admin").await.status, 303, "session ended");

    let mut secure = AdminClient::new(&beacon);
    secure.forwarded_https = true;
    let answer = secure.login("alice", PASSWORD).await;
    assert!(
        answer
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("beacon_session=") && c.contains("Secure")),
        "behind an HTTPS proxy the cookie is Secure"
    );
}

#[tokio::test]
async fn failed_logins_look_the_same_and_are_throttled() {
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, "alice", "admin").await;
    let browser = AdminClient::new(&beacon);
    let unknown = browser.login("mallory", PASSWORD).await;
    let wrong = browser.login("alice", "not the password").await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    let message = "Wrong account name or password.";
    assert!(unknown.body.contains(message) && wrong.body.contains(message));
    // Third failure from this address reaches `login_attempts = 3`.
    assert_eq!(browser.login("bob", "guess").await.status, 401);
    let blocked = browser.login("alice", PASSWORD).await;
    assert_eq!(blocked.status, 429, "even the right password waits");
    assert!(blocked.headers.get("retry-after").is_some());
    assert!(!blocked
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("beacon_session=")));
}

#[tokio::test]
async fn every_admin_form_needs_its_csrf_token() {
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, "alice", "admin").await;
    let browser = AdminClient::new(&beacon);
    // The login form itself: no pre-login cookie, no login.
    let bare = browser
        .post(
            "/admin/login",
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("name", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bare.status, 403);
    assert_eq!(browser.login("alice", PASSWORD).await.status, 303);
    let fields = [
        ("title", "Forged"),
        ("impact", "major"),
        ("status", "investigating"),
    ];
    let missing = browser.post("/admin/incidents", &fields).await;
    let mut forged = vec![("csrf", "0123456789abcdef0123456789abcdef")];
    forged.extend_from_slice(&fields);
    let wrong = browser.post("/admin/incidents", &forged).await;
    assert_eq!((missing.status, wrong.status), (403, 403));
    assert!(wrong.body.contains("CSRF"));
    let token = api_token(&beacon, "operator").await;
    let (_, list) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(list["incidents"], json!([]), "nothing was created");
}

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

    let public = reqwest::get(beacon.url(&format!("/incidents/{id}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
async fn operators_are_kept_out_of_administration() {
    let (_beacon, browser) = signed_in("olga", "operator").await;
    for page in ["/admin/users", "/admin/tokens", "/admin/audit"] {
        assert_eq!(browser.get(page).await.status, 403, "{page}");
    }
    let csrf = browser.get("/admin").await.csrf();
    let answer = browser
        .post(
            "/admin/tokens",
            &[("csrf", &csrf), ("name", "sneaky"), ("role", "admin")],
        )
        .await;
    assert_eq!(answer.status, 403);
    let answer = browser
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("name", "eve"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(answer.status, 403);
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

#[tokio::test]
async fn the_first_admin_is_created_with_the_cli_and_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("probes.toml");
    std::fs::write(&config_path, config()).unwrap();
    let db = dir.path().join("beacon.db");
    let run = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
            .args(args)
            .arg("--db")
            .arg(&db)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let config_arg = config_path.to_str().unwrap();
    let short = run(
        &[
            "user", "add", "ada", "--role", "admin", "--config", config_arg,
        ],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2), "{short:?}");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let made = run(
        &[
            "user", "add", "ada", "--role", "admin", "--config", config_arg,
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(made.status.success(), "{made:?}");
    let again = run(
        &["user", "add", "ada", "--config", config_arg],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let list = run(&["user", "list"], "");
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        listed.starts_with("ada\tadmin\t") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains("argon2"), "the hash is never printed");

    let beacon = Beacon::start_on(&config(), &db).await;
    let browser = AdminClient::new(&beacon);
    assert_eq!(browser.login("ada", PASSWORD).await.status, 303);
    assert!(!browser
        .get("/admin/login")
        .await
        .body
        .contains("No account exists yet"));
    let stored: String = common::open_db(&db)
        .query_row(
            "SELECT password_hash FROM users WHERE name = 'ada'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "{stored}"
    );
}

#[tokio::test]
async fn no_admin_write_works_without_a_session() {
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, "ada", "admin").await;
    let token = api_token(&beacon, "admin").await;
    let stranger = AdminClient::new(&beacon);
    let writes = [
        "/admin/logout",
        "/admin/incidents",
        "/admin/incidents/1/updates",
        "/admin/incidents/1/publish",
        "/admin/incidents/1/hide",
        "/admin/maintenance",
        "/admin/maintenance/recurring",
        "/admin/maintenance/recurring/1/delete",
        "/admin/users",
        "/admin/users/ada/disable",
        "/admin/users/ada/enable",
        "/admin/tokens",
        "/admin/tokens/x/revoke",
    ];
    for path in writes {
        let answer = stranger
            .post(
                path,
                &[
                    ("csrf", "0123456789abcdef0123456789abcdef"),
                    ("title", "x"),
                    ("name", "eve"),
                ],
            )
            .await;
        assert_eq!(answer.status, 403, "{path}");
        // A bearer token is for the API; it opens no admin form either.
        let with_token = reqwest::Client::new()
            .post(beacon.url(path))
            .bearer_auth(&token)
            .form(&[("title", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(with_token.status(), 403, "{path} with a token");
    }
    let audit: i64 = common::open_db(&beacon.db)
        .query_row(
            "SELECT count(*) FROM audit_log WHERE actor NOT IN ('test')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audit, 0, "nothing was written");
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
