//! What `tests/prober_node.rs` runs the real `beacon probe` against: an upstream that counts
//! each probe's runs, a fake of the server's two endpoints (until the real server side is
//! merged) whose port can be closed with every connection, and the node process itself.

use super::common::wait_for;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use beacon::domain::remote::{
    AssignedProbe, BatchAccepted, ObservationBatch, ProbeAssignment, ProberReport,
};
use beacon::domain::Observation;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

pub const TOKEN: &str = "prober-token-eu";
pub const EVERY_MS: u64 = 200;

pub fn now_ms() -> i64 {
    beacon::domain::Clock::now(&beacon::domain::SystemClock).millis()
}

/// An upstream that counts the requests of each probe (`/p/{probe}`).
pub struct CountingUpstream {
    pub addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, u64>>>,
}

impl CountingUpstream {
    pub async fn start() -> CountingUpstream {
        let hits: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let counted = hits.clone();
        let app = Router::new().route(
            "/p/{probe}",
            get(move |Path(probe): Path<String>| {
                *counted.lock().expect("hits").entry(probe).or_default() += 1;
                async { "ok" }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CountingUpstream { addr, hits }
    }

    pub fn hits(&self, probe: &str) -> u64 {
        self.hits
            .lock()
            .expect("hits")
            .get(probe)
            .copied()
            .unwrap_or(0)
    }
}

/// What the fake server saw and how it answers.
#[derive(Default)]
pub struct Seen {
    pub unavailable: bool,
    /// Refuse every batch for good with this status (a 4xx), as the server does a bad one.
    pub refuse: Option<u16>,
    /// The sizes of the batches refused that way, in order.
    pub refused: Vec<usize>,
    pub assignment: Option<ProbeAssignment>,
    pub etag: String,
    pub answered_304: usize,
    /// 503s to the assignment poll and to batches.
    pub get_503: usize,
    pub post_503: usize,
    pub bad_auth: usize,
    /// Delivered observations in arrival order, each once.
    pub delivered: Vec<Observation>,
    pub keys: HashSet<(String, String, i64)>,
    pub duplicates: usize,
    pub reports: Vec<(i64, ProberReport)>,
    /// Batches whose observations were not oldest first.
    pub unordered_batches: usize,
}

pub type Shared = Arc<Mutex<Seen>>;

/// The server's two endpoints, on a port that can be closed (every connection with it) and
/// opened again.
pub struct FakeServer {
    addr: SocketAddr,
    seen: Shared,
    task: Option<JoinHandle<()>>,
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

async fn probes(
    State(seen): State<Shared>,
    Path(location): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut seen = seen.lock().expect("seen");
    if !authorized(&headers) {
        seen.bad_auth += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if seen.unavailable {
        seen.get_503 += 1;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"error\": \"restarting\"}",
        )
            .into_response();
    }
    let Some(assignment) = seen.assignment.clone().filter(|a| a.location == location) else {
        return (StatusCode::NOT_FOUND, "{\"error\": \"no such location\"}").into_response();
    };
    let etag = seen.etag.clone();
    if headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        seen.answered_304 += 1;
        return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
    }
    ([("etag", etag)], Json(assignment)).into_response()
}

async fn observations(
    State(seen): State<Shared>,
    headers: HeaderMap,
    Json(batch): Json<ObservationBatch>,
) -> Response {
    let mut seen = seen.lock().expect("seen");
    if !authorized(&headers) {
        seen.bad_auth += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if seen.unavailable {
        seen.post_503 += 1;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"error\": \"restarting\"}",
        )
            .into_response();
    }
    if let Some(status) = seen.refuse {
        seen.refused.push(batch.observations.len());
        let status = StatusCode::from_u16(status).expect("status");
        let error = "{\"error\": \"observations[0].at: 9 s in the server's future\", \"field\": \"observations[0].at\"}";
        return (status, error).into_response();
    }
    if batch.observations.windows(2).any(|w| w[0].at > w[1].at) {
        seen.unordered_batches += 1;
    }
    let mut accepted = 0;
    let mut duplicates = 0;
    for o in batch.observations {
        let key = (
            o.probe.channel.clone(),
            o.probe.probe.clone(),
            o.at.millis(),
        );
        if seen.keys.insert(key) {
            seen.delivered.push(o);
            accepted += 1;
        } else {
            duplicates += 1;
        }
    }
    seen.duplicates += duplicates;
    seen.reports.push((now_ms(), batch.prober));
    Json(BatchAccepted {
        accepted,
        duplicates,
    })
    .into_response()
}

impl FakeServer {
    pub async fn start(assignment: ProbeAssignment) -> FakeServer {
        let seen: Shared = Arc::new(Mutex::new(Seen {
            assignment: Some(assignment),
            etag: "\"v1\"".into(),
            ..Seen::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut server = FakeServer {
            addr,
            seen,
            task: None,
        };
        server.serve(listener);
        server
    }

    fn serve(&mut self, listener: TcpListener) {
        let router = Router::new()
            .route("/api/v1/locations/{id}/probes", get(probes))
            .route("/api/v1/observations", post(observations))
            .with_state(self.seen.clone());
        self.task = Some(tokio::spawn(async move {
            // Connections live in this set: aborting the task closes every one of them.
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let router = router.clone();
                connections.spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| router.clone().oneshot(request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        }));
    }

    /// Stops listening and cuts every connection: the node sees "connection refused".
    pub async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    pub async fn reopen(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind");
        self.serve(listener);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.seen.lock().expect("seen"))
    }

    pub fn delivered(&self, probe: &str) -> Vec<Observation> {
        self.with(|s| {
            s.delivered
                .iter()
                .filter(|o| o.probe.probe == probe)
                .cloned()
                .collect()
        })
    }
}

/// The probes `names` of channel `web` against the upstream, every 200 ms, from `eu`.
pub fn assignment(upstream: SocketAddr, names: &[&str]) -> ProbeAssignment {
    let mut text = String::from(
        "[service]\nname = \"T\"\nallow_fast_probes = true\n[[location]]\nid = \"eu\"\n\
         [[channel]]\nid = \"web\"\nname = \"Web\"\n",
    );
    for name in names {
        text.push_str(&format!(
            "[[channel.probe]]\nname = \"{name}\"\nurl = \"http://{upstream}/p/{name}\"\n\
             every = \"{EVERY_MS}ms\"\ntimeout = \"180ms\"\nlocations = [\"eu\"]\n"
        ));
    }
    let config = beacon::config::parse("test.toml", &text).expect("valid config");
    ProbeAssignment {
        location: "eu".into(),
        probes: config.channels[0]
            .probes
            .iter()
            .map(|spec| AssignedProbe {
                channel: "web".into(),
                spec: spec.clone(),
            })
            .collect(),
    }
}

/// One run of `beacon probe`, its log in a file.
pub struct Node {
    child: Child,
    log: PathBuf,
}

impl Node {
    /// Starts the node; `by_env` passes server, location and token as environment variables.
    pub fn start(server: &str, spool: &FsPath, log: PathBuf, by_env: bool) -> Node {
        let mut command = Command::new(env!("CARGO_BIN_EXE_beacon"));
        command
            .arg("probe")
            .arg("--spool")
            .arg(spool)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        if by_env {
            command
                .env("BEACON_SERVER", server)
                .env("BEACON_LOCATION", "eu")
                .env("BEACON_TOKEN", TOKEN);
        } else {
            command.env_remove("BEACON_TOKEN").args([
                "--server",
                server,
                "--location",
                "eu",
                "--token",
                TOKEN,
            ]);
        }
        Node {
            child: command.spawn().expect("start beacon probe"),
            log,
        }
    }

    /// SIGTERM, and the exit code once it stopped (within 10 s).
    pub async fn terminate(mut self) -> (Option<i32>, String) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: signalling our own child process by its id.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status.code(), self.log_text());
            }
            assert!(tokio::time::Instant::now() < deadline, "node did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).expect("read log")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Observations left in the spool file, per probe.
pub fn spooled(spool: &FsPath, probe: &str) -> u64 {
    count(spool, "spool", probe)
}

/// Observations moved aside as refused, per probe.
pub fn rejected(spool: &FsPath, probe: &str) -> u64 {
    count(spool, "rejected", probe)
}

fn count(spool: &FsPath, table: &str, probe: &str) -> u64 {
    let conn = super::common::open_db(spool);
    conn.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE channel = 'web' AND probe = ?1"),
        [probe],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| u64::try_from(n).expect("count"))
    .expect("count spool")
}

/// Makes the server answer 503 until the node's poll and two of its batches were refused.
pub async fn refuse_until_both_endpoints_saw_it(fake: &FakeServer) {
    let before = fake.with(|s| {
        s.unavailable = true;
        (s.get_503, s.post_503)
    });
    wait_for(
        Duration::from_secs(10),
        "a refused poll and two refused batches",
        || async {
            let now = fake.with(|s| (s.get_503, s.post_503));
            (now.0 > before.0 && now.1 >= before.1 + 2).then_some(())
        },
    )
    .await;
}

pub fn lines(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}
