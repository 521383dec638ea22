//! Hot reload of the real binary: on a file change or SIGHUP a valid config replaces the
//! running one without a restart and without losing history; an invalid one is refused,
//! logged and shown on `/healthz`, and the previous config keeps running.

mod common;

use common::{fast_config, open_db, Upstream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

struct Running {
    child: Child,
    base: String,
}

impl Running {
    fn start(config: &Path, db: &Path) -> Running {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(BEACON)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(config)
            .arg("--db")
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Running {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn get(&self, path: &str) -> Option<serde_json::Value> {
        reqwest::get(format!("{}{path}", self.base))
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    /// Polls until `check` holds for `/api/v1/status`.
    async fn wait_status(
        &self,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        self.wait(what, "/api/v1/status", check).await
    }

    async fn wait(
        &self,
        what: &str,
        path: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(body) = self.get(path).await {
                if check(&body) {
                    return body;
                }
                assert!(Instant::now() < deadline, "{what}: {body}");
            }
            assert!(Instant::now() < deadline, "{what}: no answer");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap()
            .success());
    }

    fn stop(mut self) {
        self.signal("-TERM");
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(0));
    }
}

fn state_of(status: &serde_json::Value, id: &str) -> Option<String> {
    status["channels"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == id)
        .map(|c| c["state"].as_str().unwrap_or("").to_owned())
}

fn ids(status: &serde_json::Value) -> Vec<String> {
    status["channels"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| c["id"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn observations_of(db: &Path, channel: &str) -> i64 {
    open_db(db)
        .query_row(
            "SELECT count(*) FROM observations o JOIN probes p ON p.id = o.probe_id WHERE p.channel_id = ?1",
            [channel],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn a_changed_file_adds_and_removes_channels_and_keeps_history() {
    let a = Upstream::start().await;
    let b = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    let db = dir.path().join("beacon.db");
    std::fs::write(&config, fast_config(&[("a", &a.url())], 2, 1)).unwrap();
    let beacon = Running::start(&config, &db);
    beacon
        .wait_status("a up", |s| state_of(s, "a").as_deref() == Some("up"))
        .await;
    let probe_id: i64 = open_db(&db)
        .query_row("SELECT id FROM probes WHERE channel_id = 'a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let before = observations_of(&db, "a");

    // Add b: a keeps running with its history and its probe row.
    std::fs::write(
        &config,
        fast_config(&[("a", &a.url()), ("b", &b.url())], 2, 1),
    )
    .unwrap();
    let status = beacon
        .wait_status("b added and up", |s| {
            state_of(s, "b").as_deref() == Some("up")
        })
        .await;
    assert_eq!(ids(&status), ["a", "b"]);
    assert_eq!(
        state_of(&status, "a").as_deref(),
        Some("up"),
        "a unaffected"
    );
    let same_id: i64 = open_db(&db)
        .query_row("SELECT id FROM probes WHERE channel_id = 'a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(same_id, probe_id);
    assert!(observations_of(&db, "a") > before);

    // An invalid file is refused: both channels keep running, /healthz says why.
    std::fs::write(&config, "[[channel]]\nid = \"a\"\nbogus = 1\n").unwrap();
    let health = beacon
        .wait("reload refused", "/healthz", |h| h["config"] != "ok")
        .await;
    let message = health["config"].as_str().unwrap();
    assert!(
        message.contains("probes.toml:3:1: unknown key \"bogus\" in [[channel]]"),
        "{message}"
    );
    assert_eq!(health["status"], "ok", "the running config is healthy");
    let status = beacon.get("/api/v1/status").await.unwrap();
    assert_eq!(ids(&status), ["a", "b"]);

    // An emptied file would stop every probe and blank the page: refused the same way.
    std::fs::write(&config, "").unwrap();
    let health = beacon
        .wait("empty file refused", "/healthz", |h| {
            h["config"]
                .as_str()
                .is_some_and(|m| m.contains("no channels"))
        })
        .await;
    let message = health["config"].as_str().unwrap();
    assert!(
        message.ends_with("probes.toml:1:1: no channels: add a [[channel]] table with an id and a name, or set allow_empty = true in [service] to run without any"),
        "{message}"
    );
    let status = beacon.get("/api/v1/status").await.unwrap();
    assert_eq!(ids(&status), ["a", "b"], "both channels keep running");

    // Remove a: it leaves the page; its rows stay in the database.
    std::fs::write(&config, fast_config(&[("b", &b.url())], 2, 1)).unwrap();
    beacon.wait_status("a removed", |s| ids(s) == ["b"]).await;
    let health = beacon.get("/healthz").await.unwrap();
    assert_eq!(health["config"], "ok");
    beacon.stop();
    assert!(
        observations_of(&db, "a") > before,
        "history of a removed probe is kept"
    );
}

#[tokio::test]
async fn sighup_reloads_even_when_the_file_looks_unchanged() {
    let a = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    let db = dir.path().join("beacon.db");
    let first = fast_config(&[("a", &a.url())], 2, 1);
    std::fs::write(&config, &first).unwrap();
    let beacon = Running::start(&config, &db);
    beacon
        .wait_status("a up", |s| state_of(s, "a").as_deref() == Some("up"))
        .await;

    // Same size and modification time: only the signal can tell Beacon to look.
    let mtime = std::fs::metadata(&config).unwrap().modified().unwrap();
    let renamed = first.replace("Channel a", "Channel Z");
    assert_eq!(renamed.len(), first.len());
    std::fs::write(&config, &renamed).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&config)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await; // more than one file-watch period
    let status = beacon.get("/api/v1/status").await.unwrap();
    assert_eq!(
        status["channels"][0]["name"], "Channel a",
        "no reload without a signal"
    );

    beacon.signal("-HUP");
    let status = beacon
        .wait_status("renamed by SIGHUP", |s| {
            s["channels"][0]["name"] == "Channel Z"
        })
        .await;
    assert_eq!(
        state_of(&status, "a").as_deref(),
        Some("up"),
        "state kept across the reload"
    );
    beacon.stop();
}
