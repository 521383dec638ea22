//! The web admin's doors with the real server: no default account, the first admin from the
//! CLI, session cookies, uniform and throttled failed logins, CSRF on every form, roles, and
//! no write without a session.

mod common;

use common::admin::{add_user, config, signed_in, AdminClient, PASSWORD};
use common::{api, api_token, Beacon};
use serde_json::json;

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
    add_user(&beacon, "bob", "operator").await;
    let browser = AdminClient::new(&beacon);
    let unknown = browser.login("mallory", PASSWORD).await;
    let wrong = browser.login("alice", "not the password").await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    let message = "Wrong account name or password.";
    assert!(unknown.body.contains(message) && wrong.body.contains(message));
    // Two more wrong passwords for alice from this address reach `login_attempts = 3`.
    for _ in 0..2 {
        assert_eq!(browser.login("alice", "still not it").await.status, 401);
    }
    let blocked = browser.login("alice", PASSWORD).await;
    assert_eq!(blocked.status, 429, "even the right password waits");
    assert_eq!(
        blocked.headers["retry-after"], "1",
        "login_backoff, not a 15-minute lockout"
    );
    assert!(!blocked
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("beacon_session=")));
    // Nobody else is locked out: another account from the same address logs in.
    let colleague = AdminClient::new(&beacon);
    assert_eq!(colleague.login("bob", PASSWORD).await.status, 303);
    // Once the backoff has passed, the right password opens a session.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(browser.login("alice", PASSWORD).await.status, 303);
    beacon.stop().await;
}

/// Three wrong passwords for alice as seen from `client`, then whether `other` must wait.
async fn throttled_as(beacon: &Beacon, client: &str, other: &str) -> u16 {
    let mut browser = AdminClient::new(beacon);
    browser.forwarded_for = Some(client.to_owned());
    for _ in 0..3 {
        assert_eq!(browser.login("alice", "not the password").await.status, 401);
    }
    browser.forwarded_for = Some(other.to_owned());
    browser.login("alice", PASSWORD).await.status
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    // No trusted proxy: the header is the client's own claim, and the peer is the client.
    let beacon = Beacon::start(&config()).await;
    add_user(&beacon, "alice", "admin").await;
    assert_eq!(
        throttled_as(&beacon, "198.51.100.1", "198.51.100.2").await,
        429,
        "a forged X-Forwarded-For does not escape the throttle"
    );
    beacon.stop().await;

    // Behind a trusted proxy (the test connects from 127.0.0.1), each client has its own
    // address: one client's failures do not slow another down.
    let behind_proxy = format!(
        "{}\n[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n",
        config()
    );
    let beacon = Beacon::start(&behind_proxy).await;
    add_user(&beacon, "alice", "admin").await;
    assert_eq!(
        throttled_as(&beacon, "198.51.100.1", "198.51.100.2").await,
        303,
        "another client behind the proxy"
    );
    assert_eq!(
        throttled_as(&beacon, "198.51.100.3", "198.51.100.3").await,
        429,
        "the same client behind the proxy"
    );
    beacon.stop().await;
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
        "/admin/tickets/BCN-2026-000001/events",
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
