//! Prober tokens: from the CLI (bound to a declared remote location, every other pairing
//! refused with exit 2, listed with role and location) and from the admin's token page (a
//! location select, refusals at the field), each token working only on its own location.

mod common;

use common::prober_api::{config, create_token, setup, BEACON};
use std::process::Command;

#[test]
fn the_cli_binds_prober_tokens_to_declared_locations() {
    let (dir, _) = setup();
    let dir_path = dir.path();
    let created: [&[&str]; 3] = [
        &["--name", "eu", "--role", "prober", "--location", "eu-west"],
        &["--name", "us", "--role", "prober", "--location", "us-east"],
        &["--name", "ops"],
    ];
    for args in created {
        let (code, token, err) = create_token(dir_path, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(token.len(), 48, "{args:?}: one token on stdout: {token}");
    }
    let refusals: [(&[&str], &str); 4] = [
        (&["--name", "x", "--role", "prober"], "--location"),
        (&["--name", "x", "--role", "prober", "--location", "mars"], "location \"mars\" is not declared in the configuration (declared with [[location]]: eu-west, us-east)"),
        (&["--name", "x", "--role", "prober", "--location", "hq"], "is this server's own"),
        (&["--name", "x", "--role", "operator", "--location", "eu-west"], "only a prober token is bound to a location"),
    ];
    for (args, message) in refusals {
        let (code, out, err) = create_token(dir_path, args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let list = Command::new(BEACON)
        .args(["token", "list", "--db"])
        .arg(dir_path.join("beacon.db"))
        .output()
        .expect("token list");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.starts_with("eu\tprober\tlocation eu-west\t")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("ops\toperator\tlocation -\t")),
        "{list}"
    );
    assert_eq!(list.lines().count(), 3, "{list}");
}

/// The admin's token page: a prober token created with a location from the select, shown
/// with its location, and working only on its location's endpoints; every bad pairing of
/// role and location refused at the field.
#[tokio::test]
async fn admins_create_prober_tokens_for_a_declared_location() {
    use common::admin::{add_user, AdminClient, AUTH, PASSWORD};
    let text = format!("{}{AUTH}", config("[\"us-east\"]"));
    let beacon = common::Beacon::start(&text).await;
    add_user(&beacon, "ada", "admin").await;
    let browser = AdminClient::new(&beacon);
    assert_eq!(browser.login("ada", PASSWORD).await.status, 303);

    let page = browser.get("/admin/tokens").await;
    for option in [
        "<option value=\"eu-west\">EU West (eu-west)</option>",
        "<option value=\"us-east\">US East (us-east)</option>",
    ] {
        assert!(page.body.contains(option), "{option} in {}", page.body);
    }
    assert!(
        !page.body.contains("<option value=\"hq\">"),
        "the server's own location is no prober's"
    );

    let refusals = [
        ("prober", "", "location", "needs the location"),
        ("prober", "mars", "location", "is not declared"),
        ("prober", "hq", "location", "is this server's own"),
        ("operator", "eu-west", "location", "only a prober token"),
        ("reader", "", "role", "unknown role"),
    ];
    for (role, location, field, message) in refusals {
        let answer = browser
            .submit(
                "/admin/tokens",
                "/admin/tokens",
                &[("name", "node"), ("role", role), ("location", location)],
            )
            .await;
        assert_eq!(answer.status, 422, "{role} at {location:?}");
        let error = format!("id=\"{field}-error\"");
        let at = answer
            .body
            .find(&error)
            .unwrap_or_else(|| panic!("{error} for {role} at {location:?}"));
        let shown = answer.body[at..].to_lowercase();
        assert!(shown.contains(message), "{role} at {location:?}: {shown}");
    }
    let account = browser
        .submit(
            "/admin/users",
            "/admin/users",
            &[("name", "node"), ("role", "prober"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(account.status, 422, "an account is never a prober");

    let created = browser
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[
                ("name", "eu-node"),
                ("role", "prober"),
                ("location", "eu-west"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let marker = "<pre><code>";
    let start = created.body.find(marker).expect("token shown once") + marker.len();
    let token = created.body[start..start + 48].to_owned();
    assert!(
        created.body.contains("EU West (<code>eu-west</code>)"),
        "{}",
        created.body
    );

    let (status, body) = common::api(
        reqwest::Method::GET,
        beacon.url("/api/v1/locations/eu-west/probes"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, body["location"].as_str()),
        (200, Some("eu-west")),
        "{body}"
    );
    let (status, body) = common::api(
        reqwest::Method::GET,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = common::api(
        reqwest::Method::GET,
        beacon.url("/api/v1/locations/us-east/probes"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 403);
}
