//! A real flood against the real binary under a 1,024 file limit: 2,000 connections that send
//! an unfinished request head and wait, 200 that drip one header byte per second, from
//! several client addresses (127.0.0.2 and up; loopback has all of 127.0.0.0/8), reconnecting
//! whenever Beacon closes them. Meanwhile new clients from 127.0.0.1 must get the page within
//! 1 s, `/healthz` must stay 200, the probe must run on schedule and never record down, and
//! the month's report must show no outage and no draft incident.

mod common;

use common::{open_db, stored_observations, Upstream};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");
const IDLE: usize = 2000;
const DRIP: usize = 200;
/// Idle connections come from 127.0.0.2 to 127.0.0.21, dripping ones from .22 to .25.
const IDLE_ADDRESSES: u8 = 20;
const DRIP_ADDRESSES: u8 = 4;
const FLOOD_FOR: Duration = Duration::from_secs(20);
const NEW_CLIENT_LIMIT: Duration = Duration::from_secs(1);

/// What the flood achieved, for the closing figures.
#[derive(Default)]
struct FloodStats {
    /// Flood sockets connected right now (accepted by Beacon or waiting in its backlog).
    open: AtomicUsize,
    /// The most flood sockets connected at once.
    peak_open: AtomicUsize,
    /// Connections opened in all.
    opened: AtomicUsize,
    /// Connections Beacon closed (timeouts, eviction, refusal).
    closed_by_server: AtomicUsize,
}

impl FloodStats {
    fn connected(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_open.fetch_max(now, Ordering::Relaxed);
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        self.closed_by_server.fetch_add(1, Ordering::Relaxed);
    }
}

/// One attacker connection, reopened whenever Beacon closes it: either the unfinished head of
/// the issue (`GET / HTTP/1.1\r\nHost: x\r\n` and nothing more) or one header byte a second.
async fn attacker(
    from: IpAddr,
    to: SocketAddr,
    drip: bool,
    stop: Arc<AtomicBool>,
    stats: Arc<FloodStats>,
) {
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n";
    while !stop.load(Ordering::Relaxed) {
        let Ok(socket) = TcpSocket::new_v4() else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if socket.bind(SocketAddr::new(from, 0)).is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let Ok(Ok(mut stream)) =
            tokio::time::timeout(Duration::from_secs(2), socket.connect(to)).await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        stats.connected();
        let mut buf = [0u8; 512];
        if drip {
            let mut i = 0;
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let byte = [HEAD[i % HEAD.len()]];
                i += 1;
                if stream.write_all(&byte).await.is_err() {
                    break;
                }
                // A read that ends means Beacon closed the connection.
                match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
                    Err(_) => continue,
                    Ok(Ok(n)) if n > 0 => continue,
                    Ok(_) => break,
                }
            }
        } else {
            if stream.write_all(HEAD).await.is_ok() {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf))
                        .await
                    {
                        Err(_) => continue,
                        Ok(Ok(n)) if n > 0 => continue,
                        Ok(_) => break,
                    }
                }
            }
        }
        stats.closed();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The open-file limit of this test process, raised to its hard limit as Beacon raises its
/// own: the flood needs more than 2,200 sockets of its own.
fn raise_own_fd_limit() {
    let limit = beacon::web::raise_fd_limit();
    assert!(
        limit >= 4096,
        "the flood needs 4,096 open files in the test process, the limit is {limit}"
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_and_dripping_connections_neither_silences_the_page_nor_fakes_an_outage() {
    raise_own_fd_limit();
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(
        &config,
        format!(
            "[service]\nname = \"Flood\"\nlocation = \"test-node\"\n\n\
             [[channel]]\nid = \"chat\"\nname = \"Chat\"\n\n\
             [[channel.probe]]\nname = \"health\"\nurl = \"{}\"\nevery = \"1s\"\ntimeout = \"500ms\"\n",
            upstream.url()
        ),
    )
    .unwrap();
    let db = dir.path().join("beacon.db");
    let addr: SocketAddr = common::free_listen().parse().unwrap();
    // `ulimit -n` in sh sets the soft and the hard limit: Beacon cannot raise it.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" \"$@\"")
        .arg(BEACON)
        .args(["serve", "--listen", &addr.to_string()])
        .env("BEACON_CONFIG", &config)
        .env("BEACON_DB", &db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // A new client opens a new connection for every request, from 127.0.0.1.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .local_address(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    common::wait_for(
        Duration::from_secs(15),
        "beacon up and the channel up",
        || {
            let client = client.clone();
            let url = format!("{base}/api/v1/status");
            async move {
                let body: serde_json::Value =
                    client.get(url).send().await.ok()?.json().await.ok()?;
                (body["channels"][0]["state"] == "up").then_some(())
            }
        },
    )
    .await;
    let probing_from = Instant::now();
    let runs_before = stored_observations(&db, "chat").len();

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(FloodStats::default());
    let mut attackers = Vec::new();
    for i in 0..IDLE + DRIP {
        let drip = i >= IDLE;
        let host = if drip {
            2 + IDLE_ADDRESSES + (i % DRIP_ADDRESSES as usize) as u8
        } else {
            2 + (i % IDLE_ADDRESSES as usize) as u8
        };
        attackers.push(tokio::spawn(attacker(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
            addr,
            drip,
            stop.clone(),
            stats.clone(),
        )));
    }
    // Let the flood build up before measuring.
    common::wait_for(Duration::from_secs(10), "every attacker to connect", || {
        let opened = stats.opened.load(Ordering::Relaxed);
        async move { (opened >= IDLE + DRIP).then_some(()) }
    })
    .await;

    let mut page = Vec::new();
    let mut health = Vec::new();
    let mut held = Vec::new();
    let mut limit = 0;
    let measuring = Instant::now();
    while measuring.elapsed() < FLOOD_FOR {
        for (path, times) in [("/", &mut page), ("/healthz", &mut health)] {
            let started = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{path} failed during the flood: {e}"));
            let status = response.status();
            let body = response.bytes().await.expect("body");
            let took = started.elapsed();
            assert_eq!(status, 200, "{path} during the flood");
            assert!(!body.is_empty());
            if path == "/healthz" {
                let reading: serde_json::Value = serde_json::from_slice(&body).unwrap();
                held.push(reading["connections"]["held"].as_u64().unwrap());
                limit = reading["connections"]["limit"].as_u64().unwrap();
            }
            assert!(
                took < NEW_CLIENT_LIMIT,
                "{path} took {took:?} for a new client during the flood"
            );
            times.push(took);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let peak_open = stats.peak_open.load(Ordering::Relaxed);
    let open_at_end = stats.open.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.abort();
    }
    let observations = stored_observations(&db, "chat");
    let during = &observations[runs_before..];
    let probed_for = probing_from.elapsed();

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(child.wait().unwrap().success(), "beacon exits cleanly");

    let month = time::OffsetDateTime::now_utc();
    let month = format!("{:04}-{:02}", month.year(), u8::from(month.month()));
    let report = Command::new(BEACON)
        .args(["report", "--month", &month, "--format", "json"])
        .env("BEACON_CONFIG", &config)
        .env("BEACON_DB", &db)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let drafts: i64 = open_db(&db)
        .query_row("SELECT count(*) FROM incidents", [], |r| r.get(0))
        .unwrap();

    page.sort();
    health.sort();
    let late: Vec<i64> = during.iter().map(|o| o.lateness_ms).collect();
    let max_late = late.iter().copied().max().unwrap_or(0);
    let outages = report["channels"][0]["outages"].as_u64();
    held.sort();
    println!(
        "flood figures: Beacon held {}..{} connections (limit {limit} under 1,024 files), \
         {peak_open} flood sockets open at peak ({open_at_end} at the end), \
         {} opened in all, {} closed by Beacon; new clients: {} page loads p50 {:?} p99 {:?} max {:?}, \
         {} /healthz p50 {:?} max {:?}; probe: {} runs in {:?}, max lateness {max_late} ms, \
         down {}; report outages {outages:?}, draft incidents {drafts}",
        held[0],
        held[held.len() - 1],
        stats.opened.load(Ordering::Relaxed),
        stats.closed_by_server.load(Ordering::Relaxed),
        page.len(),
        percentile(&page, 0.5),
        percentile(&page, 0.99),
        page[page.len() - 1],
        health.len(),
        percentile(&health, 0.5),
        health[health.len() - 1],
        during.len(),
        probed_for,
        during.iter().filter(|o| o.outcome == "down").count(),
    );

    assert!(
        stats.opened.load(Ordering::Relaxed) >= IDLE + DRIP,
        "every attacker connected"
    );
    assert!(
        during.iter().all(|o| o.outcome == "up"),
        "every probe run during the flood saw the upstream up: {:?}",
        during
            .iter()
            .filter(|o| o.outcome != "up")
            .collect::<Vec<_>>()
    );
    // One run a second: no run skipped (a skipped slot would be unknown time).
    let expected = probed_for.as_secs() as usize;
    assert!(
        during.len() + 2 >= expected,
        "{} runs in {probed_for:?}: runs were skipped",
        during.len()
    );
    assert_eq!(
        limit, 768,
        "a quarter of 1,024 descriptors kept for the prober and the store"
    );
    assert!(held[held.len() - 1] <= limit, "never more than the limit");
    assert!(max_late < 500, "a probe started {max_late} ms late");
    assert_eq!(
        outages,
        Some(0),
        "the report shows no outage: {}",
        report["channels"][0]
    );
    assert_eq!(report["channels"][0]["down_ms"], 0);
    assert_eq!(drafts, 0, "no draft incident was opened");
}
