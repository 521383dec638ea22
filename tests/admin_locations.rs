//! `/admin/locations`: every place probes run from, its node's health and its probes.

mod common;

use common::admin::{add_user, AdminClient, AUTH, PASSWORD};
use common::prober_api::config;

#[tokio::test]
async fn the_locations_page_lists_each_place_its_node_and_its_probes() {
    let text = format!("{}{AUTH}", config("[\"us-east\"]"));
    let beacon = common::Beacon::start(&text).await;
    add_user(&beacon, "ada", "operator").await;
    let browser = AdminClient::new(&beacon);
    assert_eq!(browser.login("ada", PASSWORD).await.status, 303);

    let dashboard = browser.get("/admin").await;
    assert!(
        dashboard.body.contains("href=\"/admin/locations\""),
        "nav link"
    );
    let page = browser.get("/admin/locations").await;
    assert_eq!(page.status, 200);
    let row = |id: &str| {
        let start = page
            .body
            .find(&format!("<code>{id}</code>"))
            .unwrap_or_else(|| panic!("{id} in {}", page.body));
        let end = page.body[start..]
            .find("</tr>")
            .map_or(page.body.len(), |e| start + e);
        page.body[start..end].to_owned()
    };
    let own = row("hq");
    assert!(own.contains("this server"), "{own}");
    assert!(own.contains("<code>web/inside</code>"), "{own}");
    let eu = row("eu-west");
    assert!(
        eu.contains(">silent</td><td>never</td>"),
        "a node never heard from: {eu}"
    );
    assert!(eu.contains("<td>1<details>"), "one probe at eu-west: {eu}");
    assert!(
        eu.contains("<code>web/home</code>") && !eu.contains("api/ping"),
        "{eu}"
    );
    let us = row("us-east");
    assert!(
        us.contains("<code>web/home</code>") && us.contains("<code>api/ping</code>"),
        "{us}"
    );
    assert!(page.body.contains("EU West") && page.body.contains("US East"));
}
