//! The server side of prober nodes, on the real binary: the probe assignment with its ETag
//! following a config reload, and batches of observations: refused whole with the field
//! named (401, 403, 400, 413, 422), nothing stored from a refused batch, a good batch stored
//! once however often it is sent, and each node's clock offset and lag on `/healthz`.

mod common;

use common::prober_api::{
    batch, config, create_token, now_ms, observation, remote_observations, setup, Server,
};
use common::wait_for;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn assignments_and_batches_of_prober_nodes() {
    let (dir, config_path) = setup();
    let dir_path = dir.path();

    // Tokens from the CLI (their refusals are in tests/prober_tokens.rs).
    let (code, eu, err) = create_token(
        dir_path,
        &["--name", "eu", "--role", "prober", "--location", "eu-west"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("prober at eu-west"), "{err}");
    let (code, us, err) = create_token(
        dir_path,
        &["--name", "us", "--role", "prober", "--location", "us-east"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, ops, err) = create_token(dir_path, &["--name", "ops"]);
    assert_eq!(code, 0, "{err}");
    let server = Server::start(dir_path).await;

    // The assignment: the location's probes in the configuration in force, with a strong ETag.
    let (status, etag, body) = server.assignment("eu-west", &eu, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
        "{etag}"
    );
    let assignment: Value = serde_json::from_str(&body).expect("assignment JSON");
    assert_eq!(assignment["location"], "eu-west");
    let probes: Vec<(String, String)> = assignment["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .map(|p| {
            (
                p["channel"].as_str().unwrap_or_default().to_owned(),
                p["spec"]["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(probes, vec![("web".to_owned(), "home".to_owned())]);
    assert_eq!(
        assignment["probes"][0]["spec"]["locations"],
        json!(["eu-west", "us-east"])
    );
    let (status, again, _) = server.assignment("eu-west", &eu, None).await;
    assert_eq!(
        (status, again.as_str()),
        (200, etag.as_str()),
        "same body, same tag"
    );
    let weak = format!("W/{etag}");
    for tag in [etag.as_str(), weak.as_str(), &format!("\"other\", {etag}")] {
        let (status, same, body) = server.assignment("eu-west", &eu, Some(tag)).await;
        assert_eq!(
            (status, same.as_str(), body.as_str()),
            (304, etag.as_str(), ""),
            "If-None-Match: {tag}"
        );
    }
    let (status, _, body) = server.assignment("eu-west", &eu, Some("\"other\"")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = server.assignment("us-east", &us, None).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("\"ping\"") && body.contains("\"home\""),
        "{body}"
    );

    // Who may fetch it: that location's prober token only.
    let get = |path: &str| reqwest::Client::new().get(server.url(path));
    let cases: [(&str, Option<&str>, u16); 6] = [
        ("/api/v1/locations/eu-west/probes", Some(&us), 403),
        ("/api/v1/locations/us-east/probes", Some(&eu), 403),
        ("/api/v1/locations/eu-west/probes", Some(&ops), 403),
        ("/api/v1/locations/eu-west/probes", None, 401),
        ("/api/v1/locations/mars/probes", Some(&eu), 404),
        ("/api/v1/locations/hq/probes", Some(&eu), 404),
    ];
    for (path, token, expected) in cases {
        let (status, body) = server.call(get(path), token).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    // A prober token opens no operator endpoint.
    let (status, body) = server.call(get("/api/v1/tickets"), Some(&eu)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("prober token")),
        "{body}"
    );
    let incident = reqwest::Client::new()
        .post(server.url("/api/v1/incidents"))
        .json(&json!({"title": "x", "status": "investigating", "message": "m", "channels": {"web": "down"}}));
    let (status, body) = server.call(incident, Some(&eu)).await;
    assert_eq!(status, 403, "{body}");

    let db = dir_path.join("beacon.db");
    refused_batches(&server, &eu, &ops).await;
    assert_eq!(
        remote_observations(&db),
        vec![],
        "nothing stored from a refused batch"
    );

    // A good batch, then the same batch again: stored once.
    let good = batch(
        vec![
            observation("eu-west", "web", "home", 3_000),
            observation("eu-west", "web", "home", 2_000),
            observation("eu-west", "web", "home", 1_000),
        ],
        1_500,
    );
    let (status, body) = server.post_batch(&eu, &good).await;
    assert_eq!(
        (status, &body),
        (200, &json!({"accepted": 3, "duplicates": 0})),
        "{body}"
    );
    let (status, body) = server.post_batch(&eu, &good).await;
    assert_eq!(
        (status, &body),
        (200, &json!({"accepted": 0, "duplicates": 3})),
        "{body}"
    );
    let expected: Vec<(String, i64)> = good["observations"]
        .as_array()
        .expect("observations")
        .iter()
        .filter_map(|o| Some(("web/home".to_owned(), o["at"].as_i64()?)))
        .collect();
    assert_eq!(remote_observations(&db), expected);
    // Both batches' observations were committed, so both count in the ingest latency.
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("beacon_ingest_latency_seconds_count{location=\"eu-west\"} 6"),
        "{metrics}"
    );

    // An empty batch is a heartbeat: us-east's clock is 10 s behind.
    let (status, body) = server.post_batch(&us, &batch(vec![], 10_000)).await;
    assert_eq!(
        (status, &body),
        (200, &json!({"accepted": 0, "duplicates": 0})),
        "{body}"
    );

    // /healthz: each node's offset, version, spool and lag; a skewed clock is reported, and
    // the server stays healthy.
    let response = reqwest::get(server.url("/healthz")).await.expect("healthz");
    assert_eq!(response.status(), StatusCode::OK);
    let health: Value = response.json().await.expect("healthz JSON");
    let probers = health["probers"].as_array().expect("probers");
    assert_eq!(probers.len(), 2, "{health}");
    let eu_health = &probers[0];
    assert_eq!(eu_health["location"], "eu-west", "{health}");
    assert_eq!(eu_health["status"], "ok", "{health}");
    let offset = eu_health["clock_offset_ms"].as_i64().expect("offset");
    assert!((1_500..5_000).contains(&offset), "{health}");
    assert_eq!(eu_health["version"], "9.9.9-test");
    assert_eq!(
        (
            eu_health["spool_backlog"].as_u64(),
            eu_health["spool_dropped"].as_u64()
        ),
        (Some(7), Some(1))
    );
    assert_eq!(
        (
            eu_health["observations_accepted"].as_u64(),
            eu_health["observations_duplicates"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert!(
        eu_health["latest_observation"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{health}"
    );
    assert!(
        eu_health["lag_ms"].as_i64().is_some_and(|l| l >= 1_000),
        "{health}"
    );
    assert!(
        eu_health["age_ms"].as_i64().is_some_and(|a| a >= 0),
        "{health}"
    );
    let us_health = &probers[1];
    assert_eq!(
        (us_health["location"].as_str(), us_health["status"].as_str()),
        (Some("us-east"), Some("clock_skew")),
        "{health}"
    );
    assert!(
        us_health["clock_offset_ms"]
            .as_i64()
            .is_some_and(|o| o >= 10_000),
        "{health}"
    );
    assert_eq!(us_health["latest_observation"], Value::Null, "{health}");

    // A reload assigns api/ping to eu-west too: the next answer has it, with a new ETag.
    std::fs::write(&config_path, config("[\"us-east\", \"eu-west\"]")).expect("rewrite config");
    let (new_etag, body) = wait_for(
        Duration::from_secs(10),
        "the assignment follows the reload",
        || async {
            let (status, tag, body) = server.assignment("eu-west", &eu, Some(&etag)).await;
            (status == 200).then_some((tag, body))
        },
    )
    .await;
    assert_ne!(new_etag, etag);
    let assignment: Value = serde_json::from_str(&body).expect("assignment JSON");
    let names: Vec<&str> = assignment["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .filter_map(|p| p["spec"]["name"].as_str())
        .collect();
    assert_eq!(names, vec!["home", "ping"], "{body}");
    let (status, _, _) = server.assignment("eu-west", &eu, Some(&new_etag)).await;
    assert_eq!(status, 304);
    // And the batch checks follow it: eu-west may now post for api/ping.
    let (status, body) = server
        .post_batch(
            &eu,
            &batch(vec![observation("eu-west", "api", "ping", 500)], 0),
        )
        .await;
    assert_eq!(
        (status, &body),
        (200, &json!({"accepted": 1, "duplicates": 0})),
        "{body}"
    );
}

/// Each refusal of a batch whose first observation is good, so that a partial store would
/// show: the status, the field and the message naming what is wrong.
async fn refused_batches(server: &Server, eu: &str, ops: &str) {
    let good = || observation("eu-west", "web", "home", 4_000);
    let with = |second: Value| batch(vec![good(), second], 0);
    let (status, body) = server.post_batch(ops, &with(good())).await;
    assert_eq!(
        status, 403,
        "an operator token posts no observations: {body}"
    );
    let cases: [(Value, u16, Option<&str>, &str); 5] = [
        (
            with(observation("us-east", "web", "home", 1_000)),
            403,
            Some("observations[1].location"),
            "not this token's location",
        ),
        (
            with(observation("eu-west", "api", "ping", 1_000)),
            403,
            Some("observations[1].probe"),
            "api/ping is not assigned to location \"eu-west\"",
        ),
        (
            with(observation("eu-west", "web", "nope", 1_000)),
            403,
            Some("observations[1].probe"),
            "web/nope is not a configured probe",
        ),
        (
            with(
                json!({"probe": {"channel": "web", "probe": "home"}, "at": now_ms(), "outcome": "sideways", "location": "eu-west", "interval_ms": 1000, "lateness_ms": 0, "thresholds": {"failure": 1, "success": 1}}),
            ),
            422,
            Some("observations[1].outcome"),
            "unknown variant",
        ),
        (
            with(
                json!({"probe": {"channel": "web", "probe": "home"}, "at": now_ms(), "outcome": "up", "location": "eu-west", "interval_ms": 0, "lateness_ms": 0, "thresholds": {"failure": 1, "success": 1}}),
            ),
            422,
            Some("observations[1].interval_ms"),
            "from 1 ms to 24 h",
        ),
    ];
    for (batch, expected, field, message) in cases {
        let (status, body) = server.post_batch(eu, &batch).await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["field"].as_str(), field, "{body}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(message)),
            "{body}"
        );
    }

    // 6 s in the server's future: 422 naming the skew in milliseconds.
    let (status, body) = server
        .post_batch(eu, &with(observation("eu-west", "web", "home", -6_000)))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("observations[1].at")),
        "{body}"
    );
    let error = body["error"].as_str().unwrap_or_default();
    let skew: i64 = error
        .split(" is ")
        .nth(1)
        .and_then(|rest| rest.split(" ms in the server's future").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no skew in {error:?}"));
    assert!((5_000..=6_000).contains(&skew), "{error}");

    // Malformed JSON: 400. Too many observations, or a body over max_body_bytes: 413.
    let raw = |bytes: Vec<u8>| {
        reqwest::Client::new()
            .post(server.url("/api/v1/observations"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(bytes)
    };
    let (status, body) = server
        .call(raw(b"{\"observations\": [".to_vec()), Some(eu))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.post_batch(eu, &batch(vec![good(); 2_001], 0)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("at most 2000")),
        "{body}"
    );
    // Over max_body_bytes (3 MiB here), declared: 413 before the body is read. Written by
    // hand, since a client still sending the rest may see the closed connection first.
    let head = format!(
        "POST /api/v1/observations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {eu}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{\"observations\": [",
        (3 << 20) + 1
    );
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send head");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer));
    let _ = read.await.expect("answered and closed within 5 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("the limit is 3145728 bytes"), "{answer}");
}
