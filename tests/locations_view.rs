//! Where people see several locations: the real server started on a database that already
//! holds what two remote locations saw (`beacon import observations` with a `location`, as a
//! prober node's batches would leave it), checked through `/api/v1/status`, the page's line
//! under each channel and `/metrics`; the Statuspage v2 JSON keeps the quorum state only.

mod common;

use beacon::domain::Timestamp;
use common::prometheus::Scrape;
use common::{wait_for, Beacon, Upstream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WITHIN: Duration = Duration::from_secs(10);

/// Four channels, each probed once a minute (so imported observations cover the test's whole
/// run) from the server's own location `test-node` and, for three of them, from `eu` and `us`
/// with a quorum of 2. `email` runs every second at the server only, so its counters move.
fn config(upstream: &str) -> String {
    let mut text = format!(
        r#"
[service]
name = "Locations test"
location = "test-node"

[[location]]
id = "test-node"
name = "Berlin office"

[[location]]
id = "eu"
name = "EU West"
region = "Frankfurt"

[[location]]
id = "us"
name = "US East"
region = "Ashburn & <VA>"

[[channel]]
id = "email"
name = "Email"

  [[channel.probe]]
  name = "health"
  url = "{upstream}"
  every = "1s"
"#
    );
    for (id, name) in [
        ("web-form", "Web form"),
        ("live-chat", "Live chat"),
        ("phone", "Phone"),
    ] {
        text.push_str(&format!(
            r#"
[[channel]]
id = "{id}"
name = "{name}"

  [[channel.probe]]
  name = "health"
  url = "{upstream}"
  every = "1m"
  failure_threshold = 1
  success_threshold = 1
  locations = ["test-node", "eu", "us"]
  quorum = 2
"#
        ));
    }
    text
}

/// What each location saw, twice, the last time 5 s ago:
/// - web-form: up at the server, down from eu and us (a quorum: down);
/// - live-chat: up at the server and from eu, nothing from us (up, us not reported);
/// - phone: up everywhere.
fn history(first: i64) -> String {
    let seen = [
        ("web-form", "test-node", "up"),
        ("web-form", "eu", "down"),
        ("web-form", "us", "down"),
        ("live-chat", "test-node", "up"),
        ("live-chat", "eu", "up"),
        ("phone", "test-node", "up"),
        ("phone", "eu", "up"),
        ("phone", "us", "up"),
    ];
    let mut text = String::new();
    for time in [first, first + 60_000] {
        for (channel, location, outcome) in seen {
            text.push_str(&format!(
                "{{\"channel\":\"{channel}\",\"time\":{time},\"outcome\":\"{outcome}\",\"location\":\"{location}\"}}\n"
            ));
        }
    }
    text
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(since_epoch.as_millis()).expect("ms fit i64")
}

/// The `<li>` of one channel on the page.
fn channel_item<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<li class=\"channel\" id=\"channel-{id}\""))
        .unwrap_or_else(|| panic!("channel {id} on the page:\n{page}"));
    let rest = &page[start..];
    &rest[..rest.find("</li>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn status_page_and_metrics_show_each_location_beside_the_quorum_state() {
    let upstream = Upstream::start().await;
    let config = config(&upstream.url());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("probes.toml"), &config).expect("write config");
    // Whole seconds, so the times read back are exactly those imported.
    let first = (now_ms() - 65_000) / 1000 * 1000;
    let file = dir.path().join("seen.jsonl");
    std::fs::write(&file, history(first)).expect("write history");
    let (code, stdout, stderr) = common::beacon_in(
        dir.path(),
        ["import", "observations", file.to_str().expect("utf-8 path")],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");

    let beacon = Beacon::start_on(&config, &dir.path().join("beacon.db")).await;
    let since = Timestamp(first).to_rfc3339();
    let last = Timestamp(first + 60_000).to_rfc3339();

    // /api/v1/status: the quorum state, and each location in the configuration's order.
    let web = beacon.wait_for_state("web-form", "down", WITHIN).await;
    assert_eq!(web["since"], since, "{web}");
    let locations = web["locations"].as_array().expect("locations array");
    let ids: Vec<&str> = locations.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids, ["test-node", "eu", "us"], "{web}");
    let own = &locations[0];
    assert_eq!(own["name"], "Berlin office");
    assert!(own["region"].is_null(), "{own}");
    assert_eq!(own["state"], "up");
    assert!(own["reason"].is_null(), "{own}");
    for (l, name, region) in [
        (&locations[1], "EU West", "Frankfurt"),
        (&locations[2], "US East", "Ashburn & <VA>"),
    ] {
        assert_eq!(l["name"], name, "{l}");
        assert_eq!(l["region"], region, "{l}");
        assert_eq!(l["state"], "down", "{l}");
        assert_eq!(l["since"], since, "{l}");
        assert_eq!(l["reason"], "imported", "{l}");
        assert_eq!(l["last_checked_at"], last, "{l}");
    }

    let chat = beacon.wait_for_state("live-chat", "up", WITHIN).await;
    let us = &chat["locations"][2];
    assert_eq!(us["id"], "us", "{chat}");
    assert_eq!(us["state"], "unknown", "{chat}");
    assert!(
        us["since"].is_null() && us["last_checked_at"].is_null(),
        "{us}"
    );
    assert_eq!(chat["locations"][1]["state"], "up", "{chat}");

    let phone = beacon.wait_for_state("phone", "up", WITHIN).await;
    let states: Vec<&str> = phone["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .filter_map(|l| l["state"].as_str())
        .collect();
    assert_eq!(states, ["up", "up", "up"], "{phone}");

    let email = beacon.wait_for_state("email", "up", WITHIN).await;
    assert_eq!(
        email["locations"].as_array().map(Vec::len),
        Some(1),
        "{email}"
    );
    assert_eq!(email["locations"][0]["id"], "test-node");

    // The page: one escaped line under each channel some location does not see up.
    let web_line = "<p class=\"seen-from\">Down from 2 of 3 locations: EU West (Frankfurt), \
                    US East (Ashburn &amp; &lt;VA&gt;)</p>";
    let chat_line = "<p class=\"seen-from\">Not reported from 1 of 3 locations: US East \
                     (Ashburn &amp; &lt;VA&gt;)</p>";
    let page = beacon
        .wait_for_page("/", &[web_line, chat_line], WITHIN)
        .await;
    assert!(channel_item(&page, "web-form").contains(web_line), "{page}");
    assert!(channel_item(&page, "live-chat").contains(chat_line));
    for quiet in ["phone", "email"] {
        assert!(
            !channel_item(&page, quiet).contains("seen-from"),
            "{quiet}: {page}"
        );
    }
    assert_eq!(page.matches("class=\"seen-from\"").count(), 2);

    // /metrics, parsed strictly: each location's view of each channel, counters per location.
    let counter = |location| {
        [
            ("channel", "web-form"),
            ("probe", "health"),
            ("location", location),
        ]
    };
    let email_up = [
        ("channel", "email"),
        ("probe", "health"),
        ("location", "test-node"),
        ("outcome", "up"),
    ];
    let metrics = wait_for(WITHIN, "email observed at test-node", || async {
        let scrape = Scrape::parse(&beacon.get_text("/metrics").await);
        (scrape.value("beacon_observations_total", &email_up) > 0.0).then_some(scrape)
    })
    .await;
    assert_eq!(metrics.types["beacon_channel_location_state"], "gauge");
    for (channel, location, current) in [
        ("web-form", "test-node", "up"),
        ("web-form", "eu", "down"),
        ("web-form", "us", "down"),
        ("live-chat", "us", "unknown"),
        ("phone", "us", "up"),
        ("email", "test-node", "up"),
    ] {
        for state in [
            "up",
            "degraded",
            "partial",
            "down",
            "maintenance",
            "unknown",
        ] {
            let labels = [
                ("channel", channel),
                ("location", location),
                ("state", state),
            ];
            let expected = if state == current { 1.0 } else { 0.0 };
            let value = metrics.value("beacon_channel_location_state", &labels);
            assert_eq!(value, expected, "{labels:?}");
        }
    }
    let web_down = [("channel", "web-form"), ("state", "down")];
    assert_eq!(metrics.value("beacon_channel_state", &web_down), 1.0);
    // Remote locations' counters exist from zero (their history came before this start).
    for location in ["test-node", "eu", "us"] {
        let labels = [&counter(location)[..], &[("outcome", "down")]].concat();
        assert_eq!(
            metrics.value("beacon_observations_total", &labels),
            0.0,
            "{labels:?}"
        );
    }
    let email_at_eu = [("channel", "email"), ("location", "eu")];
    assert!(
        metrics
            .find("beacon_observations_total", &email_at_eu)
            .is_empty(),
        "email runs at test-node only"
    );

    // The OpenAPI document describes the field the status answer carries.
    let document = beacon.get_json("/api/v1/openapi.json").await;
    let schemas = &document["components"]["schemas"];
    let items = &schemas["ChannelBody"]["properties"]["locations"]["items"]["$ref"];
    let name = items
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("locations items are a schema: {items}"));
    let properties = schemas[name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{name} has properties: {}", schemas[name]));
    let mut documented: Vec<&str> = properties.keys().map(String::as_str).collect();
    let mut served: Vec<&str> = locations[1]
        .as_object()
        .expect("location object")
        .keys()
        .map(String::as_str)
        .collect();
    documented.sort_unstable();
    served.sort_unstable();
    assert_eq!(
        documented, served,
        "every served field documented, and only those"
    );

    // Statuspage v2 keeps the quorum state and nothing per location.
    let components = beacon.get_json("/api/v2/components.json").await;
    let web_component = components["components"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "Web form"))
        .unwrap_or_else(|| panic!("web form component in {components}"));
    assert_eq!(web_component["status"], "major_outage", "{web_component}");
    assert!(web_component.get("locations").is_none(), "{web_component}");
    assert!(!components.to_string().contains("EU West"));

    beacon.stop().await;
}
