//! The server side of prober nodes, on the real binary: prober tokens from the CLI (bound to a
//! declared location), the probe assignment with its ETag following a config reload, and
//! batches of observations: refused whole with the field named (401, 403, 400, 413, 422),
//! nothing stored from a refused batch, a good batch stored once however often it is sent,
//! and each node's clock offset and lag on `/healthz`.

mod common;

use common::{beacon_in, free_listen, wait_for};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

/// Two remote locations; `web/home` runs at both, `api/ping` at `us-east` only (until the
/// reload adds `eu-west`), `web/inside` at the server's own location `hq`.
fn config(ping_locations: &str) -> String {
    format!(
        "[service]\nname = \"Prober API test\"\nlocation = \"hq\"\nallow_fast_probes = true\n\
         [server]\nmax_body_bytes = 3145728\n\
         [[location]]\nid = \"eu-west\"\nname = \"EU West\"\n\
         [[location]]\nid = \"us-east\"\nname = \"US East\"\n\
         [[channel]]\nid = \"web\"\nname = \"Web\"\n\
         [[channel.probe]]\nname = \"home\"\nurl = \"http://127.0.0.1:9/\"\nevery = \"30s\"\n\
         locations = [\"eu-west\", \"us-east\"]\n\
         [[channel.probe]]\nname = \"inside\"\nurl = \"self:/healthz\"\nevery = \"1s\"\n\
         [[channel]]\nid = \"api\"\nname = \"API\"\n\
         [[channel.probe]]\nname = \"ping\"\nurl = \"http://127.0.0.1:9/ping\"\nevery = \"10s\"\n\
         locations = {ping_locations}\n"
    )
}

/// `beacon serve` on a free port, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(dir: &Path) -> Server {
        let listen = free_listen();
        let child = Command::new(BEACON)
            .args(["serve", "--listen", &listen, "--config"])
            .arg(dir.join("probes.toml"))
            .arg("--db")
            .arg(dir.join("beacon.db"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start beacon serve");
        let server = Server {
            child,
            base: format!("http://{listen}"),
        };
        let url = server.url("/healthz");
        wait_for(Duration::from_secs(10), "the server answers", || async {
            reqwest::get(&url)
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The status and JSON body (`Null` if none) of a request with `token`.
    async fn call(&self, request: reqwest::RequestBuilder, token: Option<&str>) -> (u16, Value) {
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post_batch(&self, token: &str, batch: &Value) -> (u16, Value) {
        let request = reqwest::Client::new()
            .post(self.url("/api/v1/observations"))
            .json(batch);
        self.call(request, Some(token)).await
    }

    /// `GET /api/v1/locations/{id}/probes`: status, ETag and body.
    async fn assignment(&self, id: &str, token: &str, tag: Option<&str>) -> (u16, String, String) {
        let mut request = reqwest::Client::new()
            .get(self.url(&format!("/api/v1/locations/{id}/probes")))
            .bearer_auth(token);
        if let Some(tag) = tag {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, etag, response.text().await.expect("body"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `beacon token create ARGS` on the test's files: exit code, stdout (the token), stderr.
fn create_token(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    let (code, out, err) = beacon_in(dir, all);
    (code, out.trim().to_owned(), err)
}

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_millis() as i64)
}

/// An observation made at `location` of `channel/probe`, `ago_ms` before now (negative:
/// in the future).
fn observation(location: &str, channel: &str, probe: &str, ago_ms: i64) -> Value {
    json!({
        "probe": {"channel": channel, "probe": probe},
        "at": now_ms() - ago_ms,
        "outcome": "up",
        "status_code": 200,
        "response_ms": 12,
        "reason": null,
        "location": location,
        "interval_ms": 30000,
        "lateness_ms": 2,
        "thresholds": {"failure": 3, "success": 2},
    })
}

/// A batch whose node clock is `behind_ms` behind the server's.
fn batch(observations: Vec<Value>, behind_ms: i64) -> Value {
    json!({
        "observations": observations,
        "prober": {"version": "9.9.9-test", "sent_at": now_ms() - behind_ms, "spool_backlog": 7, "spool_dropped": 1},
    })
}

/// The stored observations made at `eu-west` (probe and time), oldest first; the server's
/// own probe `web/inside` stores its own meanwhile.
fn remote_observations(db: &Path) -> Vec<(String, i64)> {
    common::open_db(db)
        .prepare(
            "SELECT p.channel_id || '/' || p.name, o.at_ms FROM observations o
             JOIN probes p ON p.id = o.probe_id WHERE o.location = 'eu-west' ORDER BY o.at_ms",
        )
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, config("[\"us-east\"]")).expect("write config");
    (dir, path)
}

#[tokio::test]
async fn prober_tokens_assignments_and_batches() {
    let (dir, config_path) = setup();
    let dir_path = dir.path();

    // Tokens from the CLI: a prober token needs a declared remote location, others none.
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
    let (status, body) = server.post_batch(eu, &batch(vec![good(); 10_001], 0)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("at most 10000")),
        "{body}"
    );
    let mut huge = serde_json::to_vec(&batch(vec![good()], 0)).expect("JSON");
    huge.splice(
        1..1,
        format!("\"padding\": \"{}\", ", "x".repeat(3 << 20)).into_bytes(),
    );
    let (status, body) = server.call(raw(huge), Some(eu)).await;
    assert_eq!(status, 413, "{body}");
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
