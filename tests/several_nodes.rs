//! Several nodes on one PostgreSQL (needs `BEACON_PG_URL`; `.ci/run` starts a server): two
//! `beacon serve --role web,jobs` and a prober node. The jobs run on one node at a time under
//! the lease; `kill -9` of that node hands them to the other within 10 s, with the windows
//! that were due started and every pending notification delivered exactly once (counted by
//! `X-Beacon-Delivery` at a local receiver); a write on one node is on the other's cached
//! page within 1 s; the prober's batches reach the recorder through either node.

mod common;

use common::postgres::{fresh_postgres, query};
use common::webhook::Receiver;
use common::{api, free_listen, wait_for, Upstream};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

/// A child process killed (SIGKILL) when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `beacon serve --role web,jobs` on the test's database.
struct Node {
    /// Killed (SIGKILL) when the node is dropped: `drop(node)` is `kill -9`.
    _process: Process,
    listen: String,
}

impl Node {
    fn start(dir: &Path, database: &str, name: &str) -> Node {
        let listen = free_listen();
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file");
        let child = Command::new(BEACON)
            .args(["serve", "--role", "web,jobs", "--listen", &listen])
            .arg("--config")
            .arg(dir.join("probes.toml"))
            .args(["--db", database])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start beacon serve");
        Node {
            _process: Process(child),
            listen,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listen)
    }

    /// Where `/healthz` says the jobs run, once it answers.
    async fn jobs(&self) -> Option<String> {
        let health: Value = reqwest::get(self.url("/healthz"))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        health["jobs"].as_str().map(str::to_owned)
    }
}

/// The probe runs every 2 s, so its coverage (4 s) outlasts the way of an observation to a
/// standby's view on a busy machine: the node's upload (at most 1 s), the queue's drain
/// (250 ms) and the standby's refresh (1 s).
fn config(upstream: &str, receiver: &str) -> String {
    format!(
        r#"[service]
name = "Several nodes"
location = "here"
allow_fast_probes = true

[[location]]
id = "remote"
name = "Remote"

[notify]
retry_base = "100ms"
retry_max = "300ms"
timeout = "2s"

[[notify.webhook]]
name = "ops"
url = "{receiver}"

[[channel]]
id = "chat"
name = "Live chat"

  [[channel.probe]]
  name = "health"
  url = "{upstream}"
  every = "2s"
  timeout = "1s"
  failure_threshold = 2
  success_threshold = 1
  locations = ["remote"]
"#
    )
}

/// `beacon token create` on the test's database; the token.
fn token(dir: &Path, database: &str, args: &[&str]) -> String {
    let out = Command::new(BEACON)
        .args(["token", "create"])
        .args(args)
        .arg("--config")
        .arg(dir.join("probes.toml"))
        .args(["--db", database])
        .output()
        .expect("beacon token create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn create(node: &Node, token: &str, path: &str, body: Value) -> String {
    let (code, created) = api(
        reqwest::Method::POST,
        node.url(path),
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    created["id"].as_str().expect("id").to_owned()
}

/// 2xx-answered deliveries per `X-Beacon-Delivery` id.
fn deliveries(receiver: &Receiver) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in receiver.requests() {
        if (200..300).contains(&request.answered) {
            let id = request.delivery.unwrap_or_default();
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jobs_move_within_10_s_of_a_kill_and_nothing_is_delivered_twice() {
    let Some(beacon::store::Database::Postgres(database)) = fresh_postgres() else {
        return; // needs a server: BEACON_PG_URL
    };
    let upstream = Upstream::start().await;
    let receiver = Receiver::start().await;
    receiver.fail_all(true);
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    std::fs::write(
        dir.join("probes.toml"),
        config(&upstream.url(), &receiver.url()),
    )
    .expect("config");
    let operator = token(dir, &database, &["--name", "ops", "--role", "operator"]);
    let prober_token = token(
        dir,
        &database,
        &[
            "--name",
            "remote",
            "--role",
            "prober",
            "--location",
            "remote",
        ],
    );

    // A first: it takes the lease. B waits for it, serving the same pages.
    let a = Node::start(dir, &database, "a");
    wait_for(Duration::from_secs(20), "node a runs the jobs", || async {
        a.jobs().await.filter(|j| j.starts_with("here"))
    })
    .await;
    let b = Node::start(dir, &database, "b");
    wait_for(
        Duration::from_secs(20),
        "node b waits for the lease",
        || async { b.jobs().await.filter(|j| j.starts_with("waiting")) },
    )
    .await;

    // The prober sends to B, which does not run the recorder: its batches go through the
    // queue to A's recorder, and B's live view follows the store.
    let spool: PathBuf = dir.join("remote.spool");
    let _prober = Process(
        Command::new(BEACON)
            .args(["probe", "--server", &b.url(""), "--location", "remote"])
            .args(["--token", &prober_token])
            .arg("--spool")
            .arg(&spool)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prober.log")).expect("log"))
            .spawn()
            .expect("start the prober"),
    );
    for node in [&a, &b] {
        wait_for(Duration::from_secs(20), "chat up on both nodes", || async {
            let status: Value = reqwest::get(node.url("/api/v1/status"))
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let chat = status["channels"]
                .as_array()?
                .iter()
                .find(|c| c["id"] == "chat")?;
            (chat["state"] == "up").then_some(())
        })
        .await;
    }

    // A write on A is on B's cached page within 1 s.
    let written = Instant::now();
    create(
        &a,
        &operator,
        "/api/v1/incidents",
        json!({"title": "Chat answers slowly", "impact": "minor", "channels": {"chat": "degraded_performance"}}),
    )
    .await;
    let seen = wait_for(
        Duration::from_secs(5),
        "A's incident on B's page",
        || async {
            let page = reqwest::get(b.url("/")).await.ok()?.text().await.ok()?;
            page.contains("Chat answers slowly").then(Instant::now)
        },
    )
    .await;
    let on_b = seen - written;
    eprintln!("a write on node A was on node B's cached page after {on_b:?}");
    assert!(on_b < Duration::from_secs(1), "{on_b:?}");

    // Pending notifications: more incidents published through B, while the receiver refuses
    // them (A, the leader, tries and backs off).
    for title in ["Email delayed", "Phone line busy"] {
        create(
            &b,
            &operator,
            "/api/v1/incidents",
            json!({"title": title, "impact": "minor", "channels": {"chat": "partial_outage"}}),
        )
        .await;
    }
    wait_for(Duration::from_secs(10), "a refused attempt", || async {
        receiver
            .requests()
            .iter()
            .any(|r| r.answered == 503)
            .then_some(())
    })
    .await;
    // Maintenance windows due in 2 s.
    let now = beacon::domain::Clock::now(&beacon::domain::SystemClock);
    let mut windows = Vec::new();
    for title in ["Chat upgrade", "Chat database move"] {
        windows.push(
            create(
                &b,
                &operator,
                "/api/v1/maintenances",
                json!({"title": title, "channels": ["chat"],
                       "scheduled_for": now.plus_ms(2_000).to_rfc3339(),
                       "scheduled_until": now.plus_ms(600_000).to_rfc3339()}),
            )
            .await,
        );
    }

    // kill -9 the leader; the receiver takes deliveries again.
    drop(a);
    let killed = Instant::now();
    receiver.fail_all(false);

    wait_for(Duration::from_secs(10), "node b runs the jobs", || async {
        b.jobs().await.filter(|j| j.starts_with("here"))
    })
    .await;
    let takeover = killed.elapsed();
    eprintln!("node b took the jobs lease {takeover:?} after node a was killed");
    let left = Duration::from_secs(10).saturating_sub(takeover);
    for id in &windows {
        wait_for(left, "the due windows started by node b", || async {
            let (_, window) = api(
                reqwest::Method::GET,
                b.url(&format!("/api/v1/maintenances/{id}")),
                Some(&operator),
                None,
            )
            .await;
            (window["status"] == "in_progress").then_some(())
        })
        .await;
    }
    let left = Duration::from_secs(10).saturating_sub(killed.elapsed());
    wait_for(left, "every notification delivered", || async {
        let pending = query(
            &database,
            "SELECT count(*) FROM notify_outbox WHERE status <> 'delivered'",
        );
        (pending[0][0] == "0").then_some(())
    })
    .await;
    let resumed = killed.elapsed();
    eprintln!("windows started and notifications delivered {resumed:?} after the kill");

    // Exactly once: every row once, and nothing more arrives later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outbox: Vec<String> = query(&database, "SELECT id FROM notify_outbox ORDER BY id")
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    assert!(
        outbox.len() >= 3,
        "the three incidents at least: {outbox:?}"
    );
    let delivered = deliveries(&receiver);
    let once: BTreeMap<String, usize> = outbox.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(delivered, once, "each notification delivered exactly once");
    let claimed = query(
        &database,
        "SELECT count(*) FROM notify_outbox WHERE claimed_epoch IS NULL",
    );
    assert_eq!(claimed[0][0], "0", "each was claimed before it was sent");
}
