//! Three `beacon probe` nodes in network namespaces of their own (`ip netns`, a veth pair each
//! to the host), one server on the host, one upstream on the host: one location's route to the
//! upstream is cut while the others still reach it (sla-rules section 3 rule 10, quorum 2 of
//! 3). Also: a prober killed with SIGKILL, a 60 s cut of one prober's link to the server during
//! an outage, and a restart of the server while the probers keep probing.
//!
//! Needs root and iproute2; compiled only under `BEACON_EXTERNAL_TESTS=1` (`.ci/run`), where a
//! missing `ip` fails the test.
#![cfg(external_tests)]

mod common;

use beacon::domain::{State, Timestamp, Transition};
use common::open_db;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");
const LOCATIONS: [&str; 3] = ["a", "b", "c"];
/// Longest allowed gap between two observations of one location when nothing was lost: the
/// probe runs every second.
const MAX_GAP_MS: i64 = 1_600;

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e} (iproute2 is required)"));
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The namespaces, their veth pairs and the two host addresses; removed on drop.
struct Net {
    namespaces: Vec<String>,
    upstream_ip: String,
    server_ip: String,
}

impl Net {
    fn new() -> Net {
        let tag = std::process::id() % 100_000;
        let subnet = 20 + std::process::id() % 200;
        let upstream_ip = format!("10.250.{subnet}.1");
        let server_ip = format!("10.250.{subnet}.2");
        let mut net = Net {
            namespaces: Vec::new(),
            upstream_ip,
            server_ip,
        };
        for address in [&net.upstream_ip, &net.server_ip] {
            ip(&["addr", "add", &format!("{address}/32"), "dev", "lo"]);
        }
        for (i, _) in LOCATIONS.iter().enumerate() {
            let ns = format!("bcn{tag}n{i}");
            let host_end = format!("bh{tag}n{i}");
            let ns_end = format!("bn{tag}n{i}");
            ip(&["netns", "add", &ns]);
            net.namespaces.push(ns.clone());
            ip(&[
                "link", "add", &host_end, "type", "veth", "peer", "name", &ns_end,
            ]);
            ip(&["link", "set", &ns_end, "netns", &ns]);
            let host_addr = format!("10.251.{subnet}.{}", i * 4 + 1);
            let ns_addr = format!("10.251.{subnet}.{}", i * 4 + 2);
            ip(&["addr", "add", &format!("{host_addr}/30"), "dev", &host_end]);
            ip(&["link", "set", &host_end, "up"]);
            ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]);
            ip(&[
                "netns",
                "exec",
                &ns,
                "ip",
                "addr",
                "add",
                &format!("{ns_addr}/30"),
                "dev",
                &ns_end,
            ]);
            ip(&["netns", "exec", &ns, "ip", "link", "set", &ns_end, "up"]);
            ip(&[
                "netns", "exec", &ns, "ip", "route", "add", "default", "via", &host_addr,
            ]);
        }
        net
    }

    fn ns(&self, location: &str) -> &str {
        let i = LOCATIONS.iter().position(|l| *l == location).unwrap();
        &self.namespaces[i]
    }

    /// Cuts `location`'s route to `address` (the kernel answers "no route to host").
    fn cut(&self, location: &str, address: &str) {
        ip(&[
            "netns",
            "exec",
            self.ns(location),
            "ip",
            "route",
            "add",
            "unreachable",
            &format!("{address}/32"),
        ]);
    }

    fn restore(&self, location: &str, address: &str) {
        ip(&[
            "netns",
            "exec",
            self.ns(location),
            "ip",
            "route",
            "del",
            "unreachable",
            &format!("{address}/32"),
        ]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            // Deleting a namespace deletes the veth end inside it, and so its peer.
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        for address in [&self.upstream_ip, &self.server_ip] {
            let _ = Command::new("ip")
                .args(["addr", "del", &format!("{address}/32"), "dev", "lo"])
                .status();
        }
    }
}

/// A plain HTTP upstream answering 200 to everything, on the host.
fn upstream(address: &str) -> String {
    let listener = TcpListener::bind(format!("{address}:0")).expect("bind upstream");
    let bound = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 2048];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    format!("http://{bound}/")
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(format!("{name}.log"))).expect("log file")
}

fn serve(dir: &Path, listen: &str) -> Proc {
    Proc(
        Command::new(BEACON)
            .current_dir(dir)
            .args(["serve", "--listen", listen])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file(dir, "server"))
            .spawn()
            .expect("start server"),
    )
}

fn prober(dir: &Path, net: &Net, location: &str, server: &str, token: &str) -> Proc {
    Proc(
        Command::new("ip")
            .args(["netns", "exec", net.ns(location), BEACON, "probe"])
            .args(["--server", server, "--location", location, "--token", token])
            .arg("--spool")
            .arg(dir.join(format!("{location}.spool")))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file(dir, &format!("prober-{location}")))
            .spawn()
            .expect("start prober"),
    )
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

/// The body of a GET to `address` (`IP:PORT`), if it answers 200 within a second.
fn get(address: &str, path: &str) -> Option<String> {
    let mut stream =
        std::net::TcpStream::connect_timeout(&address.parse().ok()?, Duration::from_secs(1))
            .ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    (head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200")).then(|| body.to_owned())
}

/// The channel's state as the server shows it, `None` while it does not answer.
fn state(server: &str) -> Option<String> {
    let address = server.trim_start_matches("http://");
    let body = get(address, "/api/v1/status")?;
    let json: serde_json::Value = serde_json::from_str(&body).ok()?;
    json["channels"][0]["state"].as_str().map(str::to_owned)
}

fn wait_until(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < within {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not within {within:?}");
}

/// Observation start times of one location, oldest first.
fn observation_times(db: &Path, location: &str, from: i64, to: i64) -> Vec<(i64, String)> {
    open_db(db)
        .prepare(
            "SELECT at_ms, outcome FROM observations WHERE location = ?1 AND at_ms >= ?2 AND at_ms < ?3
             ORDER BY at_ms",
        )
        .unwrap()
        .query_map(rusqlite::params![location, from, to], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn assert_no_gap(db: &Path, location: &str, from: i64, to: i64, what: &str) {
    let times = observation_times(db, location, from, to);
    assert!(!times.is_empty(), "{what}: no observation of {location}");
    for pair in times.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 <= MAX_GAP_MS,
            "{what}: {location} has a gap from {} to {}",
            Timestamp(pair[0].0).to_rfc3339(),
            Timestamp(pair[1].0).to_rfc3339()
        );
    }
}

/// The first observation of `location` with `outcome` at or after `from`.
fn first(db: &Path, location: &str, outcome: &str, from: i64) -> i64 {
    observation_times(db, location, from, i64::MAX)
        .into_iter()
        .find(|(_, o)| o == outcome)
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("no {outcome} observation of {location} after {from}"))
}

fn transitions(db: &Path, sql: &str, location: Option<&str>) -> Vec<Transition> {
    let conn = open_db(db);
    let mut stmt = conn.prepare(sql).unwrap();
    let map = |r: &rusqlite::Row<'_>| {
        Ok(Transition {
            at: Timestamp(r.get(0)?),
            state: State::parse(&r.get::<_, String>(1)?).unwrap(),
        })
    };
    let rows = match location {
        Some(l) => stmt.query_map([l], map).unwrap().collect::<Result<_, _>>(),
        None => stmt.query_map([], map).unwrap().collect::<Result<_, _>>(),
    };
    rows.unwrap()
}

fn channel_transitions(db: &Path) -> Vec<Transition> {
    transitions(
        db,
        "SELECT at_ms, state FROM channel_transitions ORDER BY at_ms",
        None,
    )
}

fn location_transitions(db: &Path, location: &str) -> Vec<Transition> {
    transitions(
        db,
        "SELECT at_ms, state FROM location_transitions WHERE location = ?1 ORDER BY at_ms",
        Some(location),
    )
}

fn config(upstream: &str) -> String {
    format!(
        r#"[service]
name = "Netns"
location = "server"

[[location]]
id = "a"
name = "Place A"

[[location]]
id = "b"
name = "Place B"

[[location]]
id = "c"
name = "Place C"

[[channel]]
id = "web"
name = "Web"

  [[channel.probe]]
  name = "home"
  url = "{upstream}"
  every = "1s"
  timeout = "500ms"
  failure_threshold = 2
  success_threshold = 1
  locations = ["a", "b", "c"]
  quorum = 2
"#
    )
}

#[test]
fn a_quorum_of_places_decides_and_nothing_is_lost() {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let up = upstream(&net.upstream_ip);
    std::fs::write(dir.join("probes.toml"), config(&up)).unwrap();
    let port = TcpListener::bind(format!("{}:0", net.server_ip))
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let listen = format!("{}:{port}", net.server_ip);
    let server_url = format!("http://{listen}");
    let db: PathBuf = dir.join("beacon.db");

    let mut server = serve(dir, &listen);
    wait_until(Duration::from_secs(20), "server up", || {
        state(&server_url).is_some()
    });
    let mut tokens = Vec::new();
    for location in LOCATIONS {
        let (code, out, err) = common::beacon_in(
            dir,
            [
                "token",
                "create",
                "--name",
                location,
                "--role",
                "prober",
                "--location",
                location,
            ],
        );
        assert_eq!(code, 0, "{err}");
        tokens.push(out.trim().to_owned());
    }
    let mut probers: Vec<Proc> = LOCATIONS
        .iter()
        .zip(&tokens)
        .map(|(l, t)| prober(dir, &net, l, &server_url, t))
        .collect();
    wait_until(
        Duration::from_secs(30),
        "channel up from the probers",
        || state(&server_url).as_deref() == Some("up"),
    );

    // One place cut off from the upstream: the channel stays up.
    net.cut("a", &net.upstream_ip);
    let cut_a = now_ms();
    let watch = Instant::now();
    // Never down. On a busy machine a late upload may leave a place silent for a moment
    // (its 1 s probe covers 2 s), and two silent places make the channel unknown until the
    // late batches take the silence back: that is rule 10 too, so only down is refused here.
    while watch.elapsed() < Duration::from_secs(5) {
        assert_ne!(
            state(&server_url).as_deref(),
            Some("down"),
            "one place alone is no quorum"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_until(
        Duration::from_secs(10),
        "channel up with one place cut",
        || state(&server_url).as_deref() == Some("up"),
    );
    assert_eq!(
        location_transitions(&db, "a").last().map(|t| t.state),
        Some(State::Down),
        "place a itself sees it down"
    );

    // A second place: down, dated from the second place's first failed observation.
    let cut_b = now_ms();
    net.cut("b", &net.upstream_ip);
    wait_until(Duration::from_secs(10), "channel down", || {
        state(&server_url).as_deref() == Some("down")
    });
    let b_first_failure = first(&db, "b", "down", cut_b);
    assert!(first(&db, "a", "down", cut_a) < b_first_failure);
    let down = channel_transitions(&db)
        .into_iter()
        .rev()
        .find(|t| t.state == State::Down)
        .expect("a down transition");
    assert_eq!(
        down.at,
        Timestamp(b_first_failure),
        "the quorum is reached at b's first failure"
    );
    net.restore("a", &net.upstream_ip);
    net.restore("b", &net.upstream_ip);
    wait_until(Duration::from_secs(10), "channel up again", || {
        state(&server_url).as_deref() == Some("up")
    });

    // A prober killed: its place turns unknown, the other two keep the quorum.
    let killed = probers.remove(2);
    drop(killed);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        location_transitions(&db, "c").last().map(|t| t.state),
        Some(State::Unknown),
        "a place that stops reporting is never up"
    );
    assert_eq!(state(&server_url).as_deref(), Some("up"));
    probers.push(prober(dir, &net, "c", &server_url, &tokens[2]));

    // Place a loses the server for 60 s; meanwhile a and b see an outage of 10 s. The server
    // first sees only b down (a silent): no quorum. Once a's spool arrives, the outage is
    // there, dated as a and b saw it.
    let link_cut = now_ms();
    net.cut("a", &net.server_ip);
    std::thread::sleep(Duration::from_secs(5));
    let outage_from = now_ms();
    net.cut("a", &net.upstream_ip);
    net.cut("b", &net.upstream_ip);
    std::thread::sleep(Duration::from_secs(10));
    net.restore("a", &net.upstream_ip);
    net.restore("b", &net.upstream_ip);
    std::thread::sleep(Duration::from_secs(45));
    assert_ne!(
        state(&server_url).as_deref(),
        Some("down"),
        "b alone is no quorum"
    );
    net.restore("a", &net.server_ip);
    let link_back = now_ms();
    wait_until(Duration::from_secs(30), "a's spool delivered", || {
        observation_times(&db, "a", link_back, i64::MAX).len() > 2
    });
    assert_no_gap(
        &db,
        "a",
        link_cut - 2_000,
        link_back + 2_000,
        "60 s link cut",
    );
    let start = first(&db, "a", "down", outage_from).max(first(&db, "b", "down", outage_from));
    let end = first(&db, "a", "up", start).min(first(&db, "b", "up", start));
    let channel = channel_transitions(&db);
    let during: Vec<&Transition> = channel
        .iter()
        .filter(|t| t.at.millis() >= link_cut)
        .collect();
    assert_eq!(
        during.iter().map(|t| (t.at, t.state)).collect::<Vec<_>>(),
        vec![(Timestamp(start), State::Down), (Timestamp(end), State::Up)],
        "the outage as a and b saw it"
    );

    // The server restarts while the probers keep probing: they spool, nothing is lost.
    let _ = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status();
    let _ = server.0.wait();
    let stopped = now_ms();
    std::thread::sleep(Duration::from_secs(5));
    server = serve(dir, &listen);
    wait_until(Duration::from_secs(20), "server back", || {
        state(&server_url).is_some()
    });
    let back = now_ms();
    wait_until(
        Duration::from_secs(30),
        "spools delivered after the restart",
        || {
            LOCATIONS
                .iter()
                .all(|l| observation_times(&db, l, back + 1_000, i64::MAX).len() > 1)
        },
    );
    for location in LOCATIONS {
        assert_no_gap(
            &db,
            location,
            stopped - 2_000,
            back + 1_000,
            "server restart",
        );
    }

    // The month's report equals rule 10 computed here from the three places' timelines.
    let slices: Vec<Vec<Transition>> = LOCATIONS
        .iter()
        .map(|l| location_transitions(&db, l))
        .collect();
    let refs: Vec<&[Transition]> = slices.iter().map(Vec::as_slice).collect();
    let quorum = beacon::sla::combine_quorum(&refs, 2);
    let now = Timestamp(now_ms());
    let month = now.to_rfc3339()[..7].to_owned();
    let (year, number) = beacon::sla::parse_month(&month).unwrap();
    let (month_start, _) = beacon::sla::month_bounds(year, number).unwrap();
    let down_ms: i64 = beacon::sla::segments(&quorum, month_start, now)
        .iter()
        .filter(|s| s.state == State::Down)
        .map(|s| s.end.millis() - s.start.millis())
        .sum();
    assert!(down_ms > 0);
    let (code, json, err) =
        common::beacon_in(dir, ["report", "--month", &month, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        report["channels"][0]["down_ms"], down_ms,
        "{}",
        report["channels"][0]
    );
    assert_eq!(report["channels"][0]["outages"], 2);
    drop(probers);
    drop(server);
}
