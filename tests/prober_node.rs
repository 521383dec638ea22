//! The real `beacon probe` binary against a fake of the server's two endpoints (the real
//! ones land on another branch): assignment with ETag polling, batches of observations of a
//! local upstream, an assignment change, a server answering 503 and a server gone, a restart
//! of the node on its spool, and one log line per change of the link. Every probe run is
//! counted at the upstream, so "none lost, none twice" is checked by counting.

mod common;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use beacon::domain::remote::{
    AssignedProbe, BatchAccepted, ObservationBatch, ProbeAssignment, ProberReport,
};
use beacon::domain::{Observation, Outcome};
use common::wait_for;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

const TOKEN: &str = "prober-token-eu";
const EVERY_MS: u64 = 200;

fn now_ms() -> i64 {
    beacon::domain::Clock::now(&beacon::domain::SystemClock).millis()
}

/// An upstream that counts the requests of each probe (`/p/{probe}`).
struct CountingUpstream {
    addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, u64>>>,
}

impl CountingUpstream {
    async fn start() -> CountingUpstream {
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

    fn hits(&self, probe: &str) -> u64 {
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
struct Seen {
    unavailable: bool,
    assignment: Option<ProbeAssignment>,
    etag: String,
    answered_304: usize,
    /// 503s to the assignment poll and to batches.
    get_503: usize,
    post_503: usize,
    bad_auth: usize,
    /// Delivered observations in arrival order, each once.
    delivered: Vec<Observation>,
    keys: HashSet<(String, String, i64)>,
    duplicates: usize,
    reports: Vec<(i64, ProberReport)>,
    /// Batches whose observations were not oldest first.
    unordered_batches: usize,
}

type Shared = Arc<Mutex<Seen>>;

/// The server's two endpoints, on a port that can be closed (every connection with it) and
/// opened again.
struct FakeServer {
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
    async fn start(assignment: ProbeAssignment) -> FakeServer {
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
    async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn reopen(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("rebind");
        self.serve(listener);
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(&mut self.seen.lock().expect("seen"))
    }

    fn delivered(&self, probe: &str) -> Vec<Observation> {
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
fn assignment(upstream: SocketAddr, names: &[&str]) -> ProbeAssignment {
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
struct Node {
    child: Child,
    log: PathBuf,
}

impl Node {
    /// Starts the node; `by_env` passes server, location and token as environment variables.
    fn start(server: &str, spool: &FsPath, log: PathBuf, by_env: bool) -> Node {
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
    async fn terminate(mut self) -> (Option<i32>, String) {
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

    fn log_text(&self) -> String {
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
fn spooled(spool: &FsPath, probe: &str) -> u64 {
    let conn = common::open_db(spool);
    conn.query_row(
        "SELECT COUNT(*) FROM spool WHERE channel = 'web' AND probe = ?1",
        [probe],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| u64::try_from(n).expect("count"))
    .expect("count spool")
}

/// Makes the server answer 503 until the node's poll and two of its batches were refused.
async fn refuse_until_both_endpoints_saw_it(fake: &FakeServer) {
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

fn lines(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_probes_its_assignment_and_delivers_every_observation_once_oldest_first() {
    let t0 = now_ms();
    let upstream = CountingUpstream::start().await;
    let mut fake = FakeServer::start(assignment(upstream.addr, &["a"])).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool.sqlite");
    let node = Node::start(&fake.url(), &spool, dir.path().join("node1.log"), true);

    // The assignment is fetched and its probe's observations arrive, as the node saw them.
    wait_for(Duration::from_secs(10), "observations of web/a", || async {
        (fake.delivered("a").len() >= 3).then_some(())
    })
    .await;
    let first = fake.delivered("a");
    for o in &first {
        assert_eq!(
            (o.probe.channel.as_str(), o.location.as_str()),
            ("web", "eu")
        );
        assert_eq!(
            (o.outcome, o.status_code),
            (Outcome::Up, Some(200)),
            "{o:?}"
        );
        assert_eq!(o.interval_ms, EVERY_MS);
        assert!(o.at.millis() >= t0 && o.at.millis() <= now_ms(), "{o:?}");
    }
    let (reported_at, report) = fake.with(|s| s.reports[0].clone());
    assert_eq!(report.version, env!("CARGO_PKG_VERSION"));
    assert!(
        (t0..=reported_at).contains(&report.sent_at.millis()),
        "{report:?}"
    );

    // The node polls with the ETag (304s), then follows a changed assignment.
    wait_for(
        Duration::from_secs(6),
        "a 304 to the node's poll",
        || async { (fake.with(|s| s.answered_304) >= 1).then_some(()) },
    )
    .await;
    fake.with(|s| {
        s.assignment = Some(assignment(upstream.addr, &["a", "b"]));
        s.etag = "\"v2\"".into();
    });
    let changed = fake.with(|s| s.answered_304);
    wait_for(
        Duration::from_secs(6),
        "observations of the new probe b",
        || async { (fake.delivered("b").len() >= 2).then_some(()) },
    )
    .await;
    wait_for(Duration::from_secs(6), "a 304 for the new ETag", || async {
        (fake.with(|s| s.answered_304) > changed).then_some(())
    })
    .await;

    // The server answers 503: the node spools; restarted meanwhile, it resumes its spool
    // and its saved assignment (the server still cannot give it one).
    let cut = now_ms();
    refuse_until_both_endpoints_saw_it(&fake).await;
    let (code, log1) = node.terminate().await;
    assert_eq!(code, Some(0), "{log1}");
    let stopped = now_ms();
    let node = Node::start(&fake.url(), &spool, dir.path().join("node2.log"), false);
    let hits_b = upstream.hits("b");
    wait_for(
        Duration::from_secs(5),
        "probing from the saved assignment",
        || async { (upstream.hits("b") >= hits_b + 3).then_some(()) },
    )
    .await;
    let polls = fake.with(|s| {
        s.unavailable = false;
        s.answered_304
    });
    let restored = (upstream.hits("a"), upstream.hits("b"));
    wait_for(Duration::from_secs(10), "the saved ETag confirmed", || async {
        (fake.with(|s| s.answered_304) > polls).then_some(())
    })
    .await;
    wait_for(
        Duration::from_secs(10),
        "the spool delivered after the 503s",
        || async {
            let got = (
                fake.delivered("a").len() as u64,
                fake.delivered("b").len() as u64,
            );
            (got.0 >= restored.0 && got.1 >= restored.1).then_some(())
        },
    )
    .await;
    let during_cut = fake
        .delivered("a")
        .iter()
        .filter(|o| (cut..stopped).contains(&o.at.millis()))
        .count();
    assert!(
        during_cut >= 4,
        "observations of the first run's cut: {during_cut}"
    );

    // The server is gone (connection refused), then back. It is taken down while it
    // refuses batches, so no acknowledgement is lost with the connections (a lost one would
    // be a legitimate replay, which this test counts as a duplicate).
    refuse_until_both_endpoints_saw_it(&fake).await;
    fake.close().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.with(|s| s.unavailable = false);
    fake.reopen().await;
    let reopened = (upstream.hits("a"), upstream.hits("b"));
    wait_for(
        Duration::from_secs(15),
        "the spool delivered after the outage",
        || async {
            let got = (
                fake.delivered("a").len() as u64,
                fake.delivered("b").len() as u64,
            );
            (got.0 >= reopened.0 && got.1 >= reopened.1).then_some(())
        },
    )
    .await;

    // Stopped while the server refuses, so no batch is in flight: what is left stays spooled.
    refuse_until_both_endpoints_saw_it(&fake).await;
    let (code, log2) = node.terminate().await;
    assert_eq!(code, Some(0), "{log2}");

    // Every probe run was delivered once or is still in the spool; none twice; per probe
    // oldest first, every batch in order.
    for probe in ["a", "b"] {
        let delivered = fake.delivered(probe);
        let left = spooled(&spool, probe);
        assert_eq!(
            upstream.hits(probe),
            delivered.len() as u64 + left,
            "probe {probe}: runs = delivered + spooled ({left})"
        );
        assert!(
            delivered.windows(2).all(|w| w[0].at < w[1].at),
            "probe {probe} not oldest first"
        );
        assert!(delivered
            .iter()
            .all(|o| o.outcome == Outcome::Up && o.location == "eu"));
    }
    fake.with(|s| {
        assert_eq!((s.duplicates, s.unordered_batches, s.bad_auth), (0, 0, 0));
        let last = &s.reports.last().expect("reports").1;
        assert_eq!(last.spool_dropped, 0);
    });

    // One line per change of the link, however many attempts failed.
    let refused = fake.with(|s| s.post_503);
    assert!(refused >= 6, "several refused attempts: {refused}");
    assert_eq!(lines(&log1, "server reachable; sending"), 1, "{log1}");
    assert_eq!(lines(&log1, "server unreachable: HTTP 503"), 1, "{log1}");
    assert_eq!(
        lines(&log1, "probe assignment: cannot fetch (HTTP 503"),
        1,
        "{log1}"
    );
    // Second run: refused at start, back, refused then gone, back, refused at the end.
    assert_eq!(lines(&log2, "server unreachable: HTTP 503"), 3, "{log2}");
    assert_eq!(lines(&log2, "server reachable again; sending"), 2, "{log2}");
    assert_eq!(lines(&log2, "probe assignment: cannot fetch"), 3, "{log2}");
    assert_eq!(
        lines(&log2, "probing the assignment saved in the spool"),
        1,
        "{log2}"
    );
}
