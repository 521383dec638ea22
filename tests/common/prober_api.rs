//! The server side of prober nodes, for `tests/prober_api.rs` and `tests/prober_tokens.rs`:
//! a configuration with two `[[location]]`s, the real binary serving it, and batches as a
//! prober node sends them.

use super::{beacon_in, free_listen, wait_for};
use reqwest::header;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

/// Two remote locations; `web/home` runs at both, `api/ping` at `us-east` only (until the
/// reload adds `eu-west`), `web/inside` at the server's own location `hq`.
pub fn config(ping_locations: &str) -> String {
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
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub async fn start(dir: &Path) -> Server {
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The status and JSON body (`Null` if none) of a request with `token`.
    pub async fn call(
        &self,
        request: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> (u16, Value) {
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post_batch(&self, token: &str, batch: &Value) -> (u16, Value) {
        let request = reqwest::Client::new()
            .post(self.url("/api/v1/observations"))
            .json(batch);
        self.call(request, Some(token)).await
    }

    /// `GET /api/v1/locations/{id}/probes`: status, ETag and body.
    pub async fn assignment(
        &self,
        id: &str,
        token: &str,
        tag: Option<&str>,
    ) -> (u16, String, String) {
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
pub fn create_token(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    let (code, out, err) = beacon_in(dir, all);
    (code, out.trim().to_owned(), err)
}

pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_millis() as i64)
}

/// An observation made at `location` of `channel/probe`, `ago_ms` before now (negative:
/// in the future).
pub fn observation(location: &str, channel: &str, probe: &str, ago_ms: i64) -> Value {
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
pub fn batch(observations: Vec<Value>, behind_ms: i64) -> Value {
    json!({
        "observations": observations,
        "prober": {"version": "9.9.9-test", "sent_at": now_ms() - behind_ms, "spool_backlog": 7, "spool_dropped": 1},
    })
}

/// The stored observations made at `eu-west` (probe and time), oldest first; the server's
/// own probe `web/inside` stores its own meanwhile.
pub fn remote_observations(db: &Path) -> Vec<(String, i64)> {
    super::open_db(db)
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

pub fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, config("[\"us-east\"]")).expect("write config");
    (dir, path)
}
