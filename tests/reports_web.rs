//! Reports served over HTTP, the per-channel SLA endpoint with burn rates, and the scheduled
//! job that writes last month's report files.

mod common;

use common::{Beacon, Mode, Upstream};
use std::time::{Duration, Instant};

fn config(upstream: &str, public: bool, report_dir: &std::path::Path) -> String {
    format!(
        r#"
[service]
name = "Reports test"
public_reports = {public}
report_schedule = "* * * * * *"
report_dir = "{dir}"
allow_fast_probes = true

[[channel]]
id = "chat"
name = "Live chat"

  [[channel.probe]]
  name = "health"
  url = "{upstream}"
  every = "100ms"
  timeout = "80ms"
  failure_threshold = 1
  success_threshold = 1
"#,
        dir = report_dir.display()
    )
}

fn this_month() -> String {
    beacon::domain::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
    .to_rfc3339()[..7]
        .to_owned()
}

#[tokio::test]
async fn reports_are_served_only_when_public_and_in_three_formats() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let private = Beacon::start(&config(&upstream.url(), false, dir.path())).await;
    let refused = reqwest::get(private.url(&format!("/reports/{}", this_month())))
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    private.stop().await;

    let beacon = Beacon::start(&config(&upstream.url(), true, dir.path())).await;
    beacon
        .wait_for_state("chat", "up", Duration::from_secs(10))
        .await;
    upstream.set(Mode::Down);
    beacon
        .wait_for_state("chat", "down", Duration::from_secs(10))
        .await;

    let month = this_month();
    let json: serde_json::Value = reqwest::get(beacon.url(&format!("/reports/{month}.json")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["month"], month.as_str());
    let chat = &json["channels"][0];
    assert_eq!(chat["id"], "chat");
    assert!(chat["down_ms"].as_i64().unwrap() > 0, "{chat}");
    assert!(chat["up_ms"].as_i64().unwrap() > 0, "{chat}");

    let csv = reqwest::get(beacon.url(&format!("/reports/{month}.csv")))
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.text().await.unwrap().starts_with("month,id,name"));
    let html = reqwest::get(beacon.url(&format!("/reports/{month}")))
        .await
        .unwrap();
    assert!(html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("style-src 'unsafe-inline'"));
    assert!(html.text().await.unwrap().contains("<svg class=\"bars\""));

    for (path, status) in [
        ("/reports/2026-13.json", 422),
        ("/reports/2999-01", 422),
        ("/reports/2026-09.pdf", 404),
    ] {
        let answer = reqwest::get(beacon.url(path)).await.unwrap();
        assert_eq!(answer.status(), status, "{path}");
    }
    beacon.stop().await;
}

#[tokio::test]
async fn the_sla_endpoint_gives_the_month_and_burn_rates() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let beacon = Beacon::start(&config(&upstream.url(), false, dir.path())).await;
    beacon
        .wait_for_state("chat", "up", Duration::from_secs(10))
        .await;
    upstream.set(Mode::Down);
    beacon
        .wait_for_state("chat", "down", Duration::from_secs(10))
        .await;

    let sla: serde_json::Value = reqwest::get(beacon.url("/api/v1/channels/chat/sla"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sla["month"], this_month().as_str());
    assert_eq!(sla["commitment"], 0.995);
    assert!(sla["down_ms"].as_i64().unwrap() > 0);
    // Down for part of the last hour at 99.5%: the 1-hour burn rate is far above 1.
    let h1 = sla["burn_rate"]["h1"].as_f64().unwrap();
    assert!(h1 > 1.0, "{sla}");
    assert_eq!(sla["burn_rate"]["thresholds"]["h1"], 14.4);

    let missing = reqwest::get(beacon.url("/api/v1/channels/nope/sla"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = reqwest::get(beacon.url("/api/v1/channels/chat/sla?month=2026-13"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["field"], "month");
    beacon.stop().await;
}

#[tokio::test]
async fn the_scheduled_job_writes_last_months_report_files() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let beacon = Beacon::start(&config(&upstream.url(), false, &reports)).await;
    let month = this_month();
    let (year, number): (i32, u32) = (month[..4].parse().unwrap(), month[5..].parse().unwrap());
    let last = if number == 1 {
        format!("{}-12", year - 1)
    } else {
        format!("{year}-{:02}", number - 1)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let files = ["html", "csv", "json"].map(|ext| reports.join(format!("{last}.{ext}")));
    while !files.iter().all(|f| f.exists()) {
        assert!(
            Instant::now() < deadline,
            "no report files in {}",
            reports.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    beacon.stop().await;
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[2]).unwrap()).unwrap();
    assert_eq!(json["month"], last.as_str());
    assert_eq!(
        json["channels"][0]["availability"],
        serde_json::Value::Null,
        "nothing measured last month"
    );
}
