//! The measuring side of `beacon bench page`: Debian's `wrk` with a Lua hook that prints its
//! figures as JSON, nginx from a generated configuration serving a page from a file, and the
//! probes' punctuality read back from the stored observations.

use crate::domain::{Channel, Timestamp};
use anyhow::{bail, Context};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// wrk's hook: one line of JSON after the run, found by its prefix.
pub(super) const WRK_SCRIPT: &str = r#"done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"socket_errors":%.0f,"bad_status":%.0f,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99), latency.max))
end
"#;

/// What one server did under wrk.
#[derive(Debug, Clone, Serialize)]
pub struct LoadFigures {
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
    /// Answers other than 2xx or 3xx.
    pub bad_status: u64,
}

impl LoadFigures {
    /// Rounds together: requests per second over their whole time, the median round's
    /// latencies (one round disturbed by a neighbour's build neither hides nor decides).
    pub(super) fn combine(rounds: &[LoadFigures]) -> LoadFigures {
        let median = |pick: fn(&LoadFigures) -> f64| {
            let mut values: Vec<f64> = rounds.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(0.0)
        };
        let requests = rounds.iter().map(|r| r.requests).sum::<u64>();
        let seconds = rounds.iter().map(|r| r.seconds).sum::<f64>();
        LoadFigures {
            requests,
            seconds,
            requests_per_second: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            p50_ms: median(|r| r.p50_ms),
            p99_ms: median(|r| r.p99_ms),
            max_ms: rounds.iter().map(|r| r.max_ms).fold(0.0, f64::max),
            socket_errors: rounds.iter().map(|r| r.socket_errors).sum(),
            bad_status: rounds.iter().map(|r| r.bad_status).sum(),
        }
    }
}

/// `wrk` and `nginx`, or how to install them.
pub(super) fn tools() -> anyhow::Result<(PathBuf, PathBuf)> {
    let find = |name: &str| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    match (find("wrk"), find("nginx")) {
        (Some(wrk), Some(nginx)) => Ok((wrk, nginx)),
        (wrk, _) => bail!(
            "{} not found: install with `apt-get install -y wrk nginx` (Debian's packages)",
            if wrk.is_none() { "wrk" } else { "nginx" }
        ),
    }
}

/// The bytes `url` sends, gzipped (and checked to be) if `gzip`, as sent (never decoded).
pub(super) async fn fetch(url: &str, gzip: bool) -> anyhow::Result<Vec<u8>> {
    let client = reqwest::Client::builder().no_gzip().no_deflate().build()?;
    let mut request = client.get(url);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = request.send().await?.error_for_status()?;
    let encoding = response.headers().get("content-encoding").cloned();
    if gzip && encoding.as_ref().is_none_or(|e| e != "gzip") {
        bail!("{url} did not answer gzipped");
    }
    Ok(response.bytes().await?.to_vec())
}

/// Runs one wrk line and reads the JSON its hook printed.
pub(super) async fn run_wrk(mut command: Command) -> anyhow::Result<LoadFigures> {
    let output = tokio::task::spawn_blocking(move || command.stderr(Stdio::inherit()).output())
        .await?
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK_JSON "))
        .with_context(|| format!("wrk printed no figures:\n{stdout}"))?;
    let raw: serde_json::Value = serde_json::from_str(json).context("wrk's JSON")?;
    let number = |key: &str| raw[key].as_f64().unwrap_or(0.0);
    let seconds = number("duration_us") / 1e6;
    Ok(LoadFigures {
        requests: number("requests") as u64,
        seconds,
        requests_per_second: if seconds > 0.0 {
            number("requests") / seconds
        } else {
            0.0
        },
        p50_ms: number("p50_us") / 1000.0,
        p99_ms: number("p99_us") / 1000.0,
        max_ms: number("max_us") / 1000.0,
        socket_errors: number("socket_errors") as u64,
        bad_status: number("bad_status") as u64,
    })
}

/// nginx from a generated configuration in the bench's directory.
pub(super) struct Nginx {
    binary: PathBuf,
    dir: PathBuf,
    child: std::process::Child,
    pub(super) addr: String,
}

impl Nginx {
    /// Serves `page` as `/`, and `gzipped` (the same page, compressed) with `gzip_static` to
    /// clients that accept gzip; nginx never compresses on the fly.
    pub(super) fn start(
        binary: &Path,
        dir: &Path,
        page: &[u8],
        gzipped: Option<&[u8]>,
    ) -> anyhow::Result<Nginx> {
        let www = dir.join("nginx/www");
        std::fs::create_dir_all(&www)?;
        std::fs::write(www.join("index.html"), page)?;
        if let Some(gzipped) = gzipped {
            std::fs::write(www.join("index.html.gz"), gzipped)?;
        }
        let gzip_static = if gzipped.is_some() { "on" } else { "off" };
        let root = www.display();
        Nginx::run(
            binary,
            dir,
            &format!("  gzip_static {gzip_static};\n  types {{ text/html html; }}\n"),
            &format!("    root {root};\n    index index.html;\n"),
        )
    }

    /// A round-robin load balancer in front of `upstreams` (`HOST:PORT` each), with
    /// keep-alive connections to them, as a deployment's balancer would be.
    pub(super) fn balance(
        binary: &Path,
        dir: &Path,
        upstreams: &[String],
    ) -> anyhow::Result<Nginx> {
        let servers: String = upstreams
            .iter()
            .map(|u| format!("    server {u} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        Nginx::run(
            binary,
            dir,
            &format!("  upstream nodes {{\n{servers}    keepalive 64;\n  }}\n"),
            "    location / {\n      proxy_pass http://nodes;\n      proxy_http_version 1.1;\n      \
             proxy_set_header Connection \"\";\n      proxy_next_upstream error timeout;\n    }\n",
        )
    }

    /// nginx with `http_extra` in its `http` block and `server_body` in its one server.
    fn run(
        binary: &Path,
        dir: &Path,
        http_extra: &str,
        server_body: &str,
    ) -> anyhow::Result<Nginx> {
        let dir = dir.join("nginx");
        std::fs::create_dir_all(dir.join("tmp"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let d = dir.display();
        let conf = format!(
            "worker_processes 2;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n\
               keepalive_timeout 65;\n  keepalive_requests 1000000;\n  gzip off;\n{http_extra}\
               client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n\
               fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n\
               scgi_temp_path {d}/tmp/scgi;\n\
               server {{\n    listen {addr};\n{server_body}  }}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf)?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .spawn()
            .context("cannot start nginx")?;
        Ok(Nginx {
            binary: binary.to_owned(),
            dir,
            child,
            addr,
        })
    }

    /// The page nginx serves (gzipped if `gzip`), once it answers (within 5 s).
    pub(super) async fn wait_ready(&mut self, url: &str, gzip: bool) -> anyhow::Result<Vec<u8>> {
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("nginx exited with {status}; see its error log");
            }
            if let Ok(page) = fetch(url, gzip).await {
                return Ok(page);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("nginx did not answer on {url} within 5 s")
    }

    /// Graceful stop through nginx's own signal command (a killed master leaves its workers).
    pub(super) fn stop(mut self) {
        let _ = Command::new(&self.binary)
            .arg("-p")
            .arg(&self.dir)
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .args(["-s", "stop"])
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) struct ProbeFigures {
    pub(super) expected: u64,
    pub(super) recorded: u64,
    pub(super) on_schedule_share: f64,
    pub(super) p50: i64,
    pub(super) p99: i64,
    pub(super) max: i64,
}

/// The probes' runs scheduled inside the `windows`, from the stored observations (Beacon has
/// stopped, so every run is committed). A run's scheduled time is its start minus its
/// lateness; a skipped run shows as a gap of more than one interval between two scheduled
/// times and counts as late, so the share is exact rather than estimated from the intervals.
pub(super) fn probe_figures(
    db: &Path,
    channels: &[Channel],
    windows: &[(Timestamp, Timestamp)],
) -> anyhow::Result<ProbeFigures> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut query = conn.prepare(
        "SELECT probe_id, at_ms - lateness_ms, lateness_ms, interval_ms FROM observations
         WHERE at_ms - lateness_ms >= ?1 AND at_ms - lateness_ms < ?2
         ORDER BY probe_id, at_ms",
    )?;
    let configured = channels.iter().map(|c| c.probes.len()).sum::<usize>();
    let mut lateness = Vec::new();
    let mut missed = 0i64;
    for (from, until) in windows {
        let runs: Vec<(i64, i64, i64, i64)> = query
            .query_map([from.millis(), until.millis()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut seen = 0;
        for (i, (probe, scheduled, late, interval)) in runs.iter().enumerate() {
            lateness.push(*late);
            match i.checked_sub(1).map(|p| runs[p]) {
                Some((previous, earlier, _, _)) if previous == *probe => {
                    let steps = (scheduled - earlier + interval / 2) / (*interval).max(1);
                    missed += (steps - 1).max(0);
                }
                _ => seen += 1,
            }
        }
        // A probe that never ran in the window missed every run of it: count the shortest
        // interval's worth, a lower bound (never seen in practice).
        let window = until.millis() - from.millis();
        missed += (configured.saturating_sub(seen) as i64) * (window / 10_000);
    }
    lateness.sort_unstable();
    let percentile = |p: f64| -> i64 {
        let index = ((lateness.len() as f64 - 1.0) * p).round().max(0.0) as usize;
        lateness.get(index).copied().unwrap_or(0)
    };
    let on_time = lateness.iter().filter(|l| **l <= 100).count() as f64;
    let expected = lateness.len() as f64 + missed as f64;
    Ok(ProbeFigures {
        expected: expected as u64,
        recorded: lateness.len() as u64,
        on_schedule_share: if expected > 0.0 {
            on_time / expected
        } else {
            0.0
        },
        p50: percentile(0.50),
        p99: percentile(0.99),
        max: lateness.last().copied().unwrap_or(0),
    })
}
