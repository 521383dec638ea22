//! `/metrics` end to end: an in-process Beacon probing real local upstreams, scraped over HTTP
//! and read back with a small parser of the text exposition format (and, under
//! `BEACON_EXTERNAL_TESTS`, checked by Prometheus's own `promtool`).

mod common;

use common::prometheus::{parse_sample, Scrape};
use common::{fast_config, wait_for, Beacon, Mode, Upstream};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// `web-form` probed from the server (`test-node`) and from `eu-west`, which sends nothing
/// here: any one location is a quorum, so the channel is up while eu-west is unknown.
fn two_location_config(url: &str) -> String {
    let config = fast_config(&[("web-form", url)], 1, 1).replace(
        "every = \"100ms\"",
        "every = \"100ms\"\nlocations = [\"test-node\", \"eu-west\"]\nquorum = 1",
    );
    assert!(config.contains("quorum = 1"), "{config}");
    format!("{config}\n[[location]]\nid = \"eu-west\"\nname = \"EU West\"\n")
}

async fn scrape_text(beacon: &Beacon) -> String {
    let response = reqwest::get(beacon.url("/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.expect("metrics body")
}

/// Checks the `+Inf` bucket equals `_count` and buckets never decrease, for one series.
fn assert_histogram(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let count = scrape.value(&format!("{name}_count"), labels);
    let mut buckets: Vec<(f64, f64)> = scrape
        .find(&format!("{name}_bucket"), labels)
        .iter()
        .map(|s| {
            let le = &s.labels["le"];
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().expect("numeric le")
            };
            (bound, s.value)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(buckets.last().map(|b| b.0), Some(f64::INFINITY), "{name}");
    assert_eq!(buckets.last().map(|b| b.1), Some(count), "{name}");
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "{name} buckets decrease: {buckets:?}"
    );
    assert!(scrape.value(&format!("{name}_sum"), labels) >= 0.0);
    count
}

#[tokio::test]
async fn metrics_show_states_counters_histograms_and_month_figures() {
    let up = Upstream::start().await;
    let down = Upstream::start().await;
    down.set(Mode::Down);
    let beacon = Beacon::start(&fast_config(
        &[("web-form", &up.url()), ("live-chat", &down.url())],
        1,
        1,
    ))
    .await;
    beacon.wait_for_state("web-form", "up", WITHIN).await;
    beacon.wait_for_state("live-chat", "down", WITHIN).await;

    // Month figures come from stored transitions, which the writer commits shortly after.
    let scrape = wait_for(WITHIN, "month figures of both channels", || async {
        let scrape = Scrape::parse(&scrape_text(&beacon).await);
        let both = ["web-form", "live-chat"].iter().all(|c| {
            scrape
                .find("beacon_availability_month_to_date", &[("channel", c)])
                .len()
                == 1
        });
        both.then_some(scrape)
    })
    .await;

    assert_eq!(
        scrape.value("beacon_build_info", &[]),
        1.0,
        "build_info: {:?}",
        scrape.find("beacon_build_info", &[])
    );
    assert_eq!(
        scrape.find("beacon_build_info", &[])[0].labels["version"],
        env!("CARGO_PKG_VERSION")
    );

    // The HTTP server's own figures: this scrape's connection is held, under the limit.
    let held = scrape.value("beacon_http_connections", &[]);
    let limit = scrape.value("beacon_http_connections_limit", &[]);
    assert!(held >= 1.0 && held <= limit, "held {held} of {limit}");
    for counter in ["refused", "evicted", "timed_out"] {
        let name = format!("beacon_http_connections_{counter}_total");
        assert_eq!(scrape.types[&name], "counter", "{name}");
        assert!(scrape.value(&name, &[]) >= 0.0);
    }

    for (channel, current) in [("web-form", "up"), ("live-chat", "down")] {
        let states = scrape.find("beacon_channel_state", &[("channel", channel)]);
        assert_eq!(states.len(), 6, "one series per state for {channel}");
        for sample in states {
            let expected = if sample.labels["state"] == current {
                1.0
            } else {
                0.0
            };
            assert_eq!(sample.value, expected, "{channel}: {sample:?}");
        }
        // A channel probed from one place has that location's series, agreeing with it.
        let located = scrape.find(
            "beacon_channel_location_state",
            &[("channel", channel), ("location", "test-node")],
        );
        assert_eq!(located.len(), 6, "one series per state for {channel}");
        for sample in located {
            let expected = if sample.labels["state"] == current {
                1.0
            } else {
                0.0
            };
            assert_eq!(sample.value, expected, "{channel} at test-node: {sample:?}");
        }
    }
    assert_eq!(
        scrape
            .types
            .get("beacon_channel_location_state")
            .map(String::as_str),
        Some("gauge")
    );

    let ups = scrape.value(
        "beacon_observations_total",
        &[
            ("channel", "web-form"),
            ("probe", "health"),
            ("outcome", "up"),
        ],
    );
    assert!(ups > 0.0, "web-form observed up {ups} times");
    assert!(
        scrape
            .find("beacon_observations_total", &[])
            .iter()
            .all(|s| s.labels.get("location").map(String::as_str) == Some("test-node")),
        "every run was made at the server's location"
    );
    let downs = scrape.value(
        "beacon_observations_total",
        &[
            ("channel", "live-chat"),
            ("probe", "health"),
            ("outcome", "down"),
        ],
    );
    assert!(downs > 0.0, "live-chat observed down {downs} times");
    // Every outcome is a series from zero, before its first event.
    assert_eq!(
        scrape.value(
            "beacon_observations_total",
            &[
                ("channel", "web-form"),
                ("probe", "health"),
                ("outcome", "down")
            ]
        ),
        0.0
    );

    let labels = [("channel", "web-form"), ("probe", "health")];
    let responses = assert_histogram(&scrape, "beacon_probe_response_seconds", &labels);
    assert!(responses > 0.0);
    let runs = assert_histogram(&scrape, "beacon_probe_lateness_seconds", &labels);
    assert!(runs >= ups, "every run has a lateness: {runs} < {ups}");
    assert_eq!(
        scrape
            .find("beacon_probe_response_seconds_bucket", &labels)
            .len(),
        14,
        "13 buckets from 1 ms and +Inf"
    );
    assert_eq!(
        scrape
            .find("beacon_probe_response_seconds_bucket", &labels)
            .iter()
            .map(|s| s.labels["le"].as_str())
            .collect::<Vec<_>>(),
        [
            "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
            "5", "10", "+Inf"
        ]
    );

    let availability = scrape.value(
        "beacon_availability_month_to_date",
        &[("channel", "web-form")],
    );
    assert!(
        (0.0..=1.0).contains(&availability),
        "availability {availability}"
    );
    assert!(
        scrape.value(
            "beacon_availability_month_to_date",
            &[("channel", "live-chat")]
        ) < 1.0
    );
    assert_eq!(
        scrape
            .find("beacon_error_budget_remaining_seconds", &[])
            .len(),
        2
    );
    assert_eq!(
        scrape
            .types
            .get("beacon_observations_total")
            .map(String::as_str),
        Some("counter")
    );
    assert_eq!(
        scrape
            .types
            .get("beacon_probe_lateness_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    beacon.stop().await;
}

/// A probe that has not run yet (a long interval: its first run is scheduled later) already
/// has every outcome counter at zero and empty histograms, so `increase()` sees its first
/// event.
#[tokio::test]
async fn counters_start_from_zero_before_the_first_event() {
    let up = Upstream::start().await;
    let config = fast_config(&[("web-form", &up.url())], 1, 1)
        .replace("every = \"100ms\"", "every = \"1h\"");
    assert!(config.contains("every = \"1h\""), "{config}");
    let beacon = Beacon::start(&config).await;
    let scrape = Scrape::parse(&scrape_text(&beacon).await);
    let labels = [("channel", "web-form"), ("probe", "health")];
    for outcome in ["up", "degraded", "down", "unknown"] {
        let mut with_outcome = labels.to_vec();
        with_outcome.push(("outcome", outcome));
        assert!(
            scrape.value("beacon_observations_total", &with_outcome) <= 1.0,
            "{outcome}"
        );
    }
    let total: f64 = scrape
        .find("beacon_observations_total", &labels)
        .iter()
        .map(|s| s.value)
        .sum();
    let count = assert_histogram(&scrape, "beacon_probe_lateness_seconds", &labels);
    assert_eq!(total, count, "one lateness per run");
    assert_histogram(&scrape, "beacon_probe_response_seconds", &labels);
    beacon.stop().await;
}

/// Two locations: each has its own state series and its own counters from zero, in a scrape
/// the strict parser accepts; the channel's own series stays one per state.
#[tokio::test]
async fn each_location_has_its_state_series_and_counters() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&two_location_config(&up.url())).await;
    beacon.wait_for_state("web-form", "up", WITHIN).await;
    let scrape = wait_for(WITHIN, "test-node up in /metrics", || async {
        let scrape = Scrape::parse(&scrape_text(&beacon).await);
        let labels = [
            ("channel", "web-form"),
            ("location", "test-node"),
            ("state", "up"),
        ];
        (scrape.value("beacon_channel_location_state", &labels) == 1.0).then_some(scrape)
    })
    .await;
    assert_eq!(
        scrape
            .find("beacon_channel_state", &[("channel", "web-form")])
            .len(),
        6
    );
    for (location, current) in [("test-node", "up"), ("eu-west", "unknown")] {
        let states = scrape.find(
            "beacon_channel_location_state",
            &[("channel", "web-form"), ("location", location)],
        );
        assert_eq!(states.len(), 6, "{location}");
        let on: Vec<&str> = states
            .iter()
            .filter(|s| s.value == 1.0)
            .map(|s| s.labels["state"].as_str())
            .collect();
        assert_eq!(on, [current], "{location}: {states:?}");
        assert!(states.iter().all(|s| s.value == 0.0 || s.value == 1.0));
    }
    let labels = |location| {
        [
            ("channel", "web-form"),
            ("probe", "health"),
            ("location", location),
        ]
    };
    assert!(
        scrape.value(
            "beacon_observations_total",
            &[&labels("test-node")[..], &[("outcome", "up")]].concat()
        ) > 0.0
    );
    for outcome in ["up", "degraded", "down", "unknown"] {
        let with_outcome = [&labels("eu-west")[..], &[("outcome", outcome)]].concat();
        assert_eq!(
            scrape.value("beacon_observations_total", &with_outcome),
            0.0,
            "eu-west sent nothing: {outcome}"
        );
    }
    beacon.stop().await;
}

#[test]
fn the_test_parser_unescapes_label_values() {
    let sample = parse_sample(r#"m{a="x\\y",b="say \"hi\"\nbye"} 2.5"#);
    assert_eq!(sample.name, "m");
    assert_eq!(sample.labels["a"], "x\\y");
    assert_eq!(sample.labels["b"], "say \"hi\"\nbye");
    assert_eq!(sample.value, 2.5);
    assert_eq!(parse_sample("n +Inf").value, f64::INFINITY);
}

/// Prometheus's own checker: exit 1 is an unparsable exposition, 3 a lint problem.
#[cfg(external_tests)]
#[tokio::test]
async fn promtool_accepts_the_exposition() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let up = Upstream::start().await;
    let beacon = Beacon::start(&two_location_config(&up.url())).await;
    beacon.wait_for_state("web-form", "up", WITHIN).await;
    let text = scrape_text(&beacon).await;
    beacon.stop().await;

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool must be installed for this test: {e}"));
    child
        .stdin
        .take()
        .expect("promtool stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success(),
        "promtool check metrics exited {:?}:\n{}{}\n--- exposition ---\n{text}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
