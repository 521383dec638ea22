//! Real parts for integration tests: a switchable upstream HTTP server, an in-process Beacon
//! on 127.0.0.1:0 with a temporary database, and polling with a deadline instead of sleeps.
#![allow(dead_code)] // each test binary uses a different part

pub mod admin;
pub mod dns;
pub mod postgres;
pub mod prober_api;
pub mod prometheus;
pub mod raw;
pub mod scripted;
pub mod tls;
pub mod webhook;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use beacon::domain::{Config, SystemClock};
use beacon::store::Store;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How an [`Upstream`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// 200 OK.
    Up = 0,
    /// 503 Service Unavailable.
    Down = 1,
    /// Answers after 2 s, beyond any test probe's timeout.
    Slow = 2,
}

/// A local HTTP server that plays a monitored support channel.
pub struct Upstream {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    server: Option<JoinHandle<()>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("upstream addr");
        let mut upstream = Upstream {
            addr,
            mode: Arc::new(AtomicU8::new(Mode::Up as u8)),
            server: None,
        };
        upstream.serve(listener);
        upstream
    }

    pub fn url(&self) -> String {
        format!("http://{}/health", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Stops listening: connections are refused until [`Upstream::reopen`].
    pub async fn close(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Listens again on the same port.
    pub async fn reopen(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind upstream");
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let mode = self.mode.clone();
        let app = Router::new().route(
            "/health",
            get(move || {
                let mode = mode.load(Ordering::SeqCst);
                async move {
                    match mode {
                        m if m == Mode::Down as u8 => (StatusCode::SERVICE_UNAVAILABLE, "down"),
                        m if m == Mode::Slow as u8 => {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            (StatusCode::OK, "slow")
                        }
                        _ => (StatusCode::OK, "ok"),
                    }
                }
            }),
        );
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }
}

/// A Beacon running in this process on a temporary database.
pub struct Beacon {
    pub addr: SocketAddr,
    /// The SQLite file (empty on PostgreSQL: use `database`).
    pub db: std::path::PathBuf,
    pub database: beacon::store::Database,
    pub config: Arc<Config>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), beacon::app::RunError>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Beacon {
    /// Starts Beacon with `config_text` on a fresh temporary database.
    pub async fn start(config_text: &str) -> Beacon {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("beacon.db");
        let mut beacon = Beacon::start_on(config_text, &db).await;
        beacon._dir = Some(dir);
        beacon
    }

    /// Starts Beacon on an existing database file (for restarts).
    pub async fn start_on(config_text: &str, db: &std::path::Path) -> Beacon {
        Beacon::start_on_database(config_text, beacon::store::Database::Sqlite(db.to_owned())).await
    }

    /// Starts Beacon on any database, SQLite or PostgreSQL.
    pub async fn start_on_database(config_text: &str, database: beacon::store::Database) -> Beacon {
        let config =
            Arc::new(beacon::config::parse("test.toml", config_text).expect("valid config"));
        let store = Store::connect(&database).expect("open store");
        let db = match &database {
            beacon::store::Database::Sqlite(path) => path.clone(),
            beacon::store::Database::Postgres(_) => std::path::PathBuf::new(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind beacon");
        let addr = listener.local_addr().expect("beacon addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(beacon::run(
            config.clone(),
            None,
            store,
            listener,
            Arc::new(SystemClock),
            async move {
                let _ = stopped.await;
            },
        ));
        Beacon {
            addr,
            db,
            database,
            config,
            stop: Some(stop),
            task: Some(task),
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `GET /api/v1/status` as JSON.
    pub async fn status(&self) -> serde_json::Value {
        self.get_json("/api/v1/status").await
    }

    /// The JSON body of `GET path`, whatever its status.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        reqwest::get(self.url(path))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("JSON of {path}: {e}"))
    }

    /// The body of `GET path`, whatever its status.
    pub async fn get_text(&self, path: &str) -> String {
        reqwest::get(self.url(path))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("body of {path}: {e}"))
    }

    /// The status object of one channel.
    pub async fn channel(&self, id: &str) -> serde_json::Value {
        let status = self.status().await;
        status["channels"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["id"] == id).cloned())
            .unwrap_or_else(|| panic!("channel {id} missing from {status}"))
    }

    /// Polls until channel `id` is in `state`, then returns its status object.
    pub async fn wait_for_state(
        &self,
        id: &str,
        state: &str,
        within: Duration,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let channel = self.channel(id).await;
            if channel["state"] == state {
                return channel;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "channel {id} not {state} within {within:?}: {channel}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `path` until its body contains every one of `needles`, and returns the body.
    /// The public pages come from the page cache, which renders a state change a moment after
    /// the live view (`/api/v1/status`, [`Beacon::wait_for_state`]) shows it.
    pub async fn wait_for_page(&self, path: &str, needles: &[&str], within: Duration) -> String {
        let url = self.url(path);
        wait_for(within, &format!("{path} showing {needles:?}"), || async {
            let body = reqwest::get(&url).await.ok()?.text().await.ok()?;
            needles.iter().all(|n| body.contains(n)).then_some(body)
        })
        .await
    }

    /// Graceful stop, as on SIGTERM; returns once the store is flushed and closed.
    pub async fn stop(mut self) -> (std::path::PathBuf, Option<tempfile::TempDir>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("beacon task").expect("beacon run");
        }
        (self.db.clone(), self._dir.take())
    }
}

/// A config with one channel per `(id, url)`, probed every 100 ms (below Beacon's minimum of
/// 1 s, hence `allow_fast_probes`).
pub fn fast_config(channels: &[(&str, &str)], failure: u32, success: u32) -> String {
    let mut text = String::from(
        "[service]\nname = \"Test support\"\nlocation = \"test-node\"\nallow_fast_probes = true\n",
    );
    for (id, url) in channels {
        text.push_str(&format!(
            "\n[[channel]]\nid = \"{id}\"\nname = \"Channel {id}\"\ngroup = \"Support channels\"\n\
             [[channel.probe]]\nname = \"health\"\nurl = \"{url}\"\nevery = \"100ms\"\ntimeout = \"80ms\"\n\
             failure_threshold = {failure}\nsuccess_threshold = {success}\n"
        ));
    }
    text
}

/// Runs the real `beacon` binary with `args`, then `--config DIR/probes.toml --db
/// DIR/beacon.db`; returns the exit code (-1 if killed by a signal), stdout and stderr.
pub fn beacon_in<I, S>(dir: &std::path::Path, args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
        .args(args)
        .arg("--config")
        .arg(dir.join("probes.toml"))
        .arg("--db")
        .arg(dir.join("beacon.db"))
        .output()
        .expect("run beacon");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A free loopback address (`127.0.0.1:PORT`) for a `beacon serve --listen` started by a test.
pub fn free_listen() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// Opens the database read-only for assertions.
pub fn open_db(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open db")
}

/// A config with one channel per `(id, probe)`, each with one probe named `p` whose keys are
/// the given TOML lines; `service` adds keys to `[service]`. Probes may be faster than
/// Beacon's minimums (`allow_fast_probes`), so tests stay quick.
pub fn probes_config(service: &str, channels: &[(&str, String)]) -> String {
    let mut text = format!(
        "[service]\nname = \"Test support\"\nlocation = \"test-node\"\nallow_fast_probes = true\n{service}\n"
    );
    for (id, probe) in channels {
        text.push_str(&format!(
            "\n[[channel]]\nid = \"{id}\"\nname = \"Channel {id}\"\n\n[[channel.probe]]\nname = \"p\"\n{probe}\n"
        ));
    }
    text
}

/// Polls `check` every 20 ms until it gives a value; panics with `what` after `within`.
pub async fn wait_for<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One stored observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObservation {
    pub at_ms: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub interval_ms: i64,
    pub lateness_ms: i64,
}

/// The stored observations of a channel's probes, oldest first (works while Beacon runs).
pub fn stored_observations(db: &std::path::Path, channel: &str) -> Vec<StoredObservation> {
    open_db(db)
        .prepare(
            "SELECT o.at_ms, o.outcome, o.reason, o.interval_ms, o.lateness_ms
             FROM observations o JOIN probes p ON p.id = o.probe_id
             WHERE p.channel_id = ?1 ORDER BY o.at_ms",
        )
        .expect("prepare observations")
        .query_map([channel], |r| {
            Ok(StoredObservation {
                at_ms: r.get(0)?,
                outcome: r.get(1)?,
                reason: r.get(2)?,
                interval_ms: r.get(3)?,
                lateness_ms: r.get(4)?,
            })
        })
        .expect("query observations")
        .collect::<Result<_, _>>()
        .expect("read observations")
}

/// Creates an API token with `role` on a running Beacon's database (a second store handle;
/// SQLite serialises the two writers) and returns the token.
pub async fn api_token(beacon: &Beacon, role: &str) -> String {
    let store = Store::connect(&beacon.database).expect("open store");
    let (token, hash) = beacon::probe::new_token().expect("new token");
    let actor = beacon::domain::Actor {
        who: "test".into(),
        source: "test".into(),
    };
    store
        .create_token(
            format!("{role}-{}", &token[..6]),
            role.into(),
            hash,
            beacon::domain::Timestamp(0),
            actor,
        )
        .await
        .expect("create token");
    store.close().await.expect("close store");
    token
}

/// Calls the HTTP API: the status code and the JSON body (`Null` when it is not JSON).
pub async fn api(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
