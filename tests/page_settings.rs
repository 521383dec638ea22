//! `[page]` in `probes.toml`: the status page's header (logo, name, links, all escaped) and
//! the Statuspage v2 `page` object and incident `shortlink`s.

mod common;

use common::{api, api_token, fast_config, Beacon, Upstream};
use serde_json::{json, Value};

const HOSTILE: &str = "<script>alert(\"x\")</script> & ]]> \u{202e}rtl";

fn config(upstream: &Upstream) -> String {
    let page = format!(
        "\n[page]\nname = \"Acme <Support>\"\nurl = \"https://status.acme.test/\"\n\
         logo = \"https://cdn.acme.test/logo.svg\"\n\
         links = [{{ label = {label}, url = \"https://help.acme.test/?a=1&b=2\" }}, {{ label = \"Mail us\", url = \"mailto:help@acme.test\" }}]\n",
        label = toml_string(HOSTILE)
    );
    // [page] must come before the first [[channel]] table, or TOML puts it elsewhere.
    fast_config(&[("web-form", &upstream.url())], 2, 1).replacen(
        "\n[[channel]]",
        &format!("{page}\n[[channel]]"),
        1,
    )
}

fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[tokio::test]
async fn the_header_shows_logo_name_and_escaped_links() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&config(&up)).await;
    let response = reqwest::get(beacon.url("/")).await.expect("GET /");
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("img-src 'self' data: https://cdn.acme.test;"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = response.text().await.expect("body");
    assert!(
        html.contains("<title>Acme &lt;Support&gt; status</title>"),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<img src="https://cdn.acme.test/logo.svg" alt="Acme &lt;Support&gt;" height="40">"#
        ),
        "{html}"
    );
    assert!(
        html.contains("<h1>Acme &lt;Support&gt; status</h1>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://help.acme.test/?a=1&amp;b=2\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; ]]&gt; \u{202e}rtl</a>"),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="mailto:help@acme.test">Mail us</a>"#),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
}

#[tokio::test]
async fn the_v2_page_object_and_shortlinks_use_the_public_url() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&config(&up)).await;
    let token = api_token(&beacon, "operator").await;
    let (status, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "Forms slow", "impact": "minor", "message": "Looking"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let summary: Value = reqwest::get(beacon.url("/api/v2/summary.json"))
        .await
        .expect("GET summary")
        .json()
        .await
        .expect("summary JSON");
    assert_eq!(summary["page"]["name"], "Acme <Support>");
    assert_eq!(summary["page"]["url"], "https://status.acme.test");
    assert_eq!(
        summary["page"]["id"], "test-support",
        "the id stays the service's slug"
    );
    assert_eq!(summary["page"]["time_zone"], "Etc/UTC");
    let id = created["id"].as_str().expect("id");
    assert_eq!(
        summary["incidents"][0]["shortlink"],
        format!("https://status.acme.test/incidents/{id}")
    );
}

#[tokio::test]
async fn without_page_settings_the_service_name_and_site_relative_links_serve() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("web-form", &up.url())], 2, 1)).await;
    let token = api_token(&beacon, "operator").await;
    let (_, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(json!({"title": "Forms slow", "impact": "minor"})),
    )
    .await;
    let summary: Value = reqwest::get(beacon.url("/api/v2/summary.json"))
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(summary["page"]["name"], "Test support");
    assert_eq!(summary["page"]["url"], "/");
    assert_eq!(
        summary["incidents"][0]["shortlink"],
        format!("/incidents/{}", created["id"].as_str().expect("id"))
    );
    let response = reqwest::get(beacon.url("/")).await.expect("GET /");
    assert!(!response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .contains("https:"));
    let html = response.text().await.expect("body");
    assert!(html.contains("<h1>Test support status</h1>"), "{html}");
    assert!(!html.contains("<img") && !html.contains("<nav"), "{html}");
}
