//! Rule 10 over a month of history seen from three places: `beacon import observations` with
//! a `location` field, then the report's figures against the quorum computed here from the
//! stored per-location timelines.

mod common;

use beacon::domain::{State, Timestamp, Transition};
use common::open_db;
use std::path::Path;

const CONFIG: &str = r#"
[service]
name = "Quorum test"
location = "fra"
default_locations = ["fra", "eu-west", "us-east"]

[[location]]
id = "eu-west"
name = "EU West"

[[location]]
id = "us-east"
name = "US East"

[[channel]]
id = "web-form"
name = "Web form"

  [[channel.probe]]
  name = "form"
  url = "https://example.test/form"
  every = "1m"
  failure_threshold = 1
  success_threshold = 1
"#;

const MINUTE: i64 = 60_000;

fn at(text: &str) -> i64 {
    Timestamp::parse(text).unwrap().millis()
}

/// September minute by minute from three places:
/// - fra alone is down 10:00-10:30 on the 3rd (its own network: never charged);
/// - eu-west is down 12:00-13:00 on the 14th and us-east 12:20-13:10: two of three agree from
///   12:20 (us-east's first failed observation) to 13:00 (eu-west's first success);
/// - fra stops reporting on the 20th: eu-west and us-east still make the quorum.
fn september() -> String {
    let start = at("2026-09-01T00:00:00Z");
    let fra_down = (at("2026-09-03T10:00:00Z"), at("2026-09-03T10:30:00Z"));
    let eu_down = (at("2026-09-14T12:00:00Z"), at("2026-09-14T13:00:00Z"));
    let us_down = (at("2026-09-14T12:20:00Z"), at("2026-09-14T13:10:00Z"));
    let fra_silent = at("2026-09-20T00:00:00Z");
    let mut text = String::new();
    for minute in 0..30 * 24 * 60 {
        let t = start + minute * MINUTE;
        for (location, down) in [
            ("fra", Some(fra_down)),
            ("eu-west", Some(eu_down)),
            ("us-east", Some(us_down)),
        ] {
            if location == "fra" && t >= fra_silent {
                continue;
            }
            let is_down = down.is_some_and(|(from, to)| t >= from && t < to);
            let outcome = if is_down { "down" } else { "up" };
            text.push_str(&format!(
                "{{\"channel\":\"web-form\",\"time\":{t},\"outcome\":\"{outcome}\",\"location\":\"{location}\"}}\n"
            ));
        }
    }
    text
}

fn location_timelines(db: &Path) -> Vec<Vec<Transition>> {
    let conn = open_db(db);
    ["fra", "eu-west", "us-east"]
        .iter()
        .map(|location| {
            conn.prepare(
                "SELECT at_ms, state FROM location_transitions WHERE location = ?1 ORDER BY at_ms",
            )
            .unwrap()
            .query_map([location], |r| {
                Ok(Transition {
                    at: Timestamp(r.get(0)?),
                    state: State::parse(&r.get::<_, String>(1)?).unwrap(),
                })
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        })
        .collect()
}

/// Down time of a timeline within `[from, to)`.
fn down_ms(timeline: &[Transition], from: i64, to: i64) -> i64 {
    beacon::sla::segments(timeline, Timestamp(from), Timestamp(to))
        .iter()
        .filter(|s| s.state == State::Down)
        .map(|s| s.end.millis() - s.start.millis())
        .sum()
}

#[test]
fn the_report_charges_only_what_a_quorum_of_locations_saw() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("september.jsonl");
    std::fs::write(&file, september()).unwrap();
    let (code, stdout, stderr) = common::beacon_in(
        dir.path(),
        ["import", "observations", file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let expected_rows = 30 * 24 * 60 * 2 + 19 * 24 * 60;
    assert!(
        stdout.starts_with(&format!("imported {expected_rows} new observations")),
        "{stdout}"
    );

    // Rule 10 computed here, from what each location saw.
    let db = dir.path().join("beacon.db");
    let locations = location_timelines(&db);
    assert_eq!(
        locations[0].last(),
        Some(&Transition {
            at: Timestamp(at("2026-09-20T00:00:00Z") - MINUTE + 2 * MINUTE),
            state: State::Unknown
        }),
        "fra's silence is unknown from its last coverage end"
    );
    let slices: Vec<&[Transition]> = locations.iter().map(Vec::as_slice).collect();
    let quorum = beacon::sla::combine_quorum(&slices, 2);
    let (month_start, month_end) = (at("2026-09-01T00:00:00Z"), at("2026-10-01T00:00:00Z"));
    let by_rule_10 = down_ms(&quorum, month_start, month_end);
    assert_eq!(by_rule_10, 40 * MINUTE, "12:20 to 13:00 on the 14th");

    let (code, json, stderr) = common::beacon_in(
        dir.path(),
        ["report", "--month", "2026-09", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let web = report["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "web-form")
        .unwrap();
    assert_eq!(web["down_ms"], by_rule_10, "{web}");
    assert_eq!(web["outages"], 1);
    assert_eq!(web["longest_outage_ms"], 40 * MINUTE);
    // The month ends covered by eu-west and us-east: fra's silence costs nothing.
    assert_eq!(web["unknown_ms"], 0, "{web}");
    assert_eq!(web["met"], true);
    let outage_start: i64 = open_db(&db)
        .query_row(
            "SELECT at_ms FROM channel_transitions WHERE state = 'down'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(outage_start, at("2026-09-14T12:20:00Z"));
}

#[test]
fn an_observation_from_a_place_the_probe_does_not_run_at_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"channel\":\"web-form\",\"time\":1790000000000,\"outcome\":\"up\",\"location\":\"mars\"}\n",
    )
    .unwrap();
    let (code, _, stderr) = common::beacon_in(
        dir.path(),
        ["import", "observations", file.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("line 1: location \"mars\": probe \"form\" of channel \"web-form\" runs from fra, eu-west, us-east"),
        "{stderr}"
    );
}
