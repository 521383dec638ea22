//! History keeps its past (sla-rules section 3 rule 6): a maintenance window created after the
//! fact over a real outage, through the API and through the CLI, leaves that month's report
//! exactly as it was, and the API and the page say from when the window counts. Planned times
//! outside 2000 to 10 years ahead are refused by every path.

mod common;

use common::{api, api_token, beacon_in, Beacon};
use serde_json::{json, Value};
use std::path::Path;

/// Maintenance excluded from the figures: the setting under which a retroactive window could
/// turn a missed month into a met one.
const CONFIG: &str = r#"
[service]
name = "Retroactive test"
maintenance_counts_as_downtime = false

[[channel]]
id = "web-form"
name = "Web form"

  [[channel.probe]]
  name = "form"
  url = "http://127.0.0.1:9/form"
  every = "1m"
  timeout = "1s"
  failure_threshold = 1
  success_threshold = 1
"#;

const OUTAGE_START: &str = "2026-09-14T10:00:00Z";
/// 217 minutes: one more than the 216 that 99.5 % allows in 30 days.
const OUTAGE_MINUTES: i64 = 217;
const WINDOW_FROM: &str = "2026-09-14T09:50:00Z";
const WINDOW_UNTIL: &str = "2026-09-14T14:00:00Z";

/// September 2026 minute by minute, down for [`OUTAGE_MINUTES`] from [`OUTAGE_START`].
fn september() -> String {
    let at = |text: &str| beacon::domain::Timestamp::parse(text).unwrap().millis();
    let (start, outage) = (at("2026-09-01T00:00:00Z"), at(OUTAGE_START));
    (0..30 * 24 * 60)
        .map(|minute| {
            let t = start + minute * 60_000;
            let down = t >= outage && t < outage + OUTAGE_MINUTES * 60_000;
            let outcome = if down { "down" } else { "up" };
            format!("{{\"channel\":\"web-form\",\"probe\":\"form\",\"time\":{t},\"outcome\":\"{outcome}\"}}\n")
        })
        .collect()
}

/// `beacon report --month 2026-09` as JSON, without the one field that must change.
fn september_report(dir: &Path) -> Value {
    let (code, out, err) = beacon_in(dir, ["report", "--month", "2026-09", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let mut report: Value = serde_json::from_str(&out).unwrap();
    report["generated_at"] = Value::Null;
    report
}

fn web_form(report: &Value) -> &Value {
    report["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "web-form")
        .unwrap()
}

#[tokio::test]
async fn a_window_created_after_the_fact_never_rewrites_a_past_month() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let history = dir.path().join("september.jsonl");
    std::fs::write(&history, september()).unwrap();
    let (code, _, err) = beacon_in(
        dir.path(),
        [
            std::ffi::OsStr::new("import"),
            "observations".as_ref(),
            history.as_os_str(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let before = september_report(dir.path());
    let chat = web_form(&before);
    assert_eq!(chat["met"], false, "{chat}");
    assert_eq!(chat["down_ms"], OUTAGE_MINUTES * 60_000);
    assert_eq!(chat["maintenance_ms"], 0);

    // Through the CLI on the database: accepted, said to count only from its announcement.
    let (code, out, err) = beacon_in(
        dir.path(),
        [
            "maintenance",
            "create",
            "--title",
            "Form upgrade (late)",
            "--channel",
            "web-form",
            "--from",
            WINDOW_FROM,
            "--until",
            WINDOW_UNTIL,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Announced after its end (at "),
        "the CLI says it changes nothing: {out}"
    );
    assert_eq!(
        september_report(dir.path()),
        before,
        "a window created through the CLI after the fact changes nothing"
    );

    // Through the API of a running Beacon on the same database.
    let db = dir.path().join("beacon.db");
    let beacon = Beacon::start_on(CONFIG, &db).await;
    let token = api_token(&beacon, "operator").await;
    let (code, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/maintenances"),
        Some(&token),
        Some(
            json!({"title": "Form upgrade", "scheduled_for": WINDOW_FROM,
                    "scheduled_until": WINDOW_UNTIL, "channels": ["web-form"]}),
        ),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let published = created["published_at"].as_str().unwrap().to_owned();
    assert_eq!(
        created["takes_effect_from"], published,
        "it takes effect only from its announcement: {created}"
    );
    assert_eq!(
        created["announcement_note"],
        format!("Announced after its end (at {published}): it counts as no maintenance time"),
    );
    let id = created["id"].as_str().unwrap();
    let (_, read) = api(
        reqwest::Method::GET,
        beacon.url(&format!("/api/v1/maintenances/{id}")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(read["takes_effect_from"], created["takes_effect_from"]);
    assert_eq!(read["announcement_note"], created["announcement_note"]);
    let page = beacon.get_text(&format!("/incidents/{id}")).await;
    assert!(
        page.contains("Announced after its end (at "),
        "the page says so too: {page}"
    );

    // Refused: before 2000 and more than 10 years ahead, naming the field; nothing stored.
    let now = beacon::domain::Clock::now(&beacon::domain::SystemClock);
    let eleven_years = now.plus_ms(11 * 365 * 86_400_000).to_rfc3339();
    for (from, until, field) in [
        (
            "1969-07-20T20:17:00Z",
            "2026-09-14T14:00:00Z",
            "scheduled_for",
        ),
        (WINDOW_FROM, eleven_years.as_str(), "scheduled_until"),
        (
            eleven_years.as_str(),
            eleven_years.as_str(),
            "scheduled_for",
        ),
    ] {
        let (code, error) = api(
            reqwest::Method::POST,
            beacon.url("/api/v1/maintenances"),
            Some(&token),
            Some(json!({"title": "Out of range", "scheduled_for": from,
                        "scheduled_until": until, "channels": ["web-form"]})),
        )
        .await;
        assert_eq!((code, &error["field"]), (422, &json!(field)), "{error}");
    }
    let (_, list) = api(
        reqwest::Method::GET,
        beacon.url("/api/v1/maintenances"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        list["incidents"].as_array().unwrap().len(),
        2,
        "only the two accepted windows: {list}"
    );
    beacon.stop().await;

    assert_eq!(
        september_report(dir.path()),
        before,
        "a window created through the API after the fact changes nothing"
    );

    // The CLI refuses out-of-range times with exit 2, naming the option.
    let (code, _, err) = beacon_in(
        dir.path(),
        [
            "maintenance",
            "create",
            "--title",
            "Moon landing",
            "--from",
            "1969-07-20T20:17:00Z",
            "--until",
            WINDOW_UNTIL,
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--from \"1969-07-20T20:17:00Z\" is earlier than 2000-01-01"),
        "{err}"
    );
}

/// The same rule where the window is still running: it counts from its announcement on, so
/// the live page shows maintenance, and the minutes before the announcement stay as measured.
#[tokio::test]
async fn a_window_announced_after_its_start_counts_from_the_announcement() {
    let beacon = Beacon::start(
        r#"
[service]
name = "Late window"

[[channel]]
id = "product"
name = "Product"
in_commitment = false
"#,
    )
    .await;
    let token = api_token(&beacon, "operator").await;
    let now = beacon::domain::Clock::now(&beacon::domain::SystemClock);
    let (code, created) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/maintenances"),
        Some(&token),
        Some(json!({"title": "Started an hour ago", "scheduled_for": now.plus_ms(-3_600_000).to_rfc3339(),
                    "scheduled_until": now.plus_ms(3_600_000).to_rfc3339(), "channels": ["product"]})),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let published = created["published_at"].as_str().unwrap();
    assert_eq!(created["takes_effect_from"], published);
    assert_eq!(
        created["announcement_note"],
        format!("Announced after its start: counted from {published}")
    );
    let channel = beacon
        .wait_for_state("product", "maintenance", std::time::Duration::from_secs(5))
        .await;
    assert_eq!(
        channel["since"], published,
        "in maintenance since the announcement: {channel}"
    );
    let page = beacon
        .wait_for_page(
            "/",
            &["Announced after its start: counted from "],
            std::time::Duration::from_secs(5),
        )
        .await;
    assert!(page.contains("Started an hour ago"));
    beacon.stop().await;
}
