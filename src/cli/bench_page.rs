//! `beacon bench page`: the status page under load, side by side with nginx serving the same
//! bytes from a file, and the prober's punctuality during that load.
//!
//! A temporary database gets 90 days of history for 20 channels (synthetic 1-minute
//! observations through the store, as `bench report` makes them); Beacon runs in this process
//! exactly as `beacon serve` does, with a few hundred HTTP probes every 1 to 10 s against an
//! upstream in a child process. `wrk` then drives `/` with 64 connections; its Lua `done()`
//! hook prints the figures as JSON. The probes' lateness during that window comes from the
//! stored observations. Then Beacon stops, nginx (2 workers, generated config, unprivileged
//! port) serves the page's exact bytes from a file, and the same `wrk` line measures it.
//! By default neither side compresses (wrk sends no `Accept-Encoding`, nginx has `gzip off`);
//! with `--gzip`, wrk asks for gzip and both send Beacon's precompressed gzip bytes (nginx
//! through `gzip_static`, never compressing on the fly).

use super::bench::punctuality;
use super::bench::{cpu_seconds, start_upstream, with_channels};
use super::bench_load::{fetch, probe_figures, run_wrk, tools, LoadFigures, Nginx, WRK_SCRIPT};
use super::bench_report::import_history;
use crate::domain::{
    Channel, Clock, HttpTarget, ProbeSpec, ProbeTarget, Schedule, SystemClock, Thresholds,
    Timestamp,
};
use crate::store::Store;
use serde::Serialize;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;
/// The probe intervals, spread evenly over the probes ("every 1 to 10 s").
const INTERVALS_S: [u64; 4] = [1, 2, 5, 10];
/// Prober start-up (first runs at their spread offsets) before the load begins.
const WARM_UP: Duration = Duration::from_secs(3);
/// What to run (`beacon bench page` options).
#[derive(Debug, Clone, clap::Args)]
pub struct PageBench {
    /// Channels on the page, each with 90 days of synthetic history.
    #[arg(long, default_value_t = 20)]
    pub channels: usize,
    /// HTTP probes running during the load, every 1 to 10 s.
    #[arg(long, default_value_t = 300)]
    pub probes: usize,
    /// wrk's concurrent connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Length of each measured wrk run (e.g. 10s, 1m).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Rounds of Beacon then nginx, each `--duration` long.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Ask for gzip: both sides then send the same precompressed bytes.
    #[arg(long)]
    pub gzip: bool,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `beacon bench page`: runs and prints.
pub async fn command(bench: PageBench) -> anyhow::Result<()> {
    if !bench.json {
        println!(
            "beacon bench page: {} channels, {} probes, {} connections for {}",
            bench.channels,
            bench.probes,
            bench.connections,
            humantime::format_duration(bench.duration)
        );
    }
    let json = bench.json;
    let figures = page(bench).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        println!("{figures}");
    }
    Ok(())
}

/// What `beacon bench page` measured.
#[derive(Debug, Serialize)]
pub struct PageFigures {
    pub channels: usize,
    pub history_days: i64,
    pub history_observations: usize,
    pub page_bytes: usize,
    /// What each answer carries: the page itself, or its gzip variant with `--gzip`.
    pub sent_bytes: usize,
    pub encoding: &'static str,
    pub connections: usize,
    pub duration_s: f64,
    pub rounds: usize,
    pub wrk: String,
    /// All rounds together: requests over time; latencies are the rounds' medians.
    pub beacon: LoadFigures,
    pub nginx: LoadFigures,
    pub beacon_rounds: Vec<LoadFigures>,
    pub nginx_rounds: Vec<LoadFigures>,
    /// Beacon's requests per second over nginx's.
    pub ratio: f64,
    /// CPU time Beacon (this process) used during its load window.
    pub beacon_cpu_s: f64,
    pub probes: usize,
    pub probe_runs_expected: u64,
    pub probe_runs_recorded: u64,
    /// Runs that started at most 100 ms late, over the runs expected (a skipped run is late).
    pub on_schedule_share: f64,
    pub lateness_p50_ms: i64,
    pub lateness_p99_ms: i64,
    pub lateness_max_ms: i64,
}

pub async fn page(bench: PageBench) -> anyhow::Result<PageFigures> {
    let (wrk, nginx) = tools()?;
    let dir = std::env::temp_dir().join(format!("beacon-bench-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (mut upstream, upstream_addr) = start_upstream()?;
    let result = run(&bench, &dir, &upstream_addr, &wrk, &nginx).await;
    let _ = upstream.kill();
    let _ = upstream.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    bench: &PageBench,
    dir: &Path,
    upstream: &str,
    wrk: &Path,
    nginx: &Path,
) -> anyhow::Result<PageFigures> {
    let config = Arc::new(config(bench, upstream));
    let db = dir.join("bench.db");
    let store = Store::open(&db)?;
    store
        .sync_config(
            &config,
            crate::domain::Clock::now(&crate::domain::SystemClock),
        )
        .await?;
    let now = SystemClock.now();
    let history_observations = fill_history(&store, &config.channels, now).await?;

    // Beacon, as `beacon serve` runs it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let beacon = tokio::spawn(crate::run(
        config.clone(),
        None,
        store,
        listener,
        Arc::new(SystemClock),
        async move {
            let _ = stopped.await;
        },
    ));
    tokio::time::sleep(WARM_UP).await;
    let url = format!("http://{addr}/");
    let measured = measure(bench, dir, &url, wrk, nginx).await;
    let _ = stop.send(());
    beacon.await??;
    let measured = measured?;
    let probes = probe_figures(&db, &config.channels, &measured.beacon_windows)?;

    let wrk = format!(
        "wrk -t2 -c{} -d{}s --timeout 5s -s report.lua URL{}",
        bench.connections,
        bench.duration.as_secs().max(1),
        if bench.gzip {
            " -H 'Accept-Encoding: gzip'"
        } else {
            ""
        }
    );
    let beacon = LoadFigures::combine(&measured.beacon);
    let nginx = LoadFigures::combine(&measured.nginx);
    Ok(PageFigures {
        channels: config.channels.len(),
        history_days: 90,
        history_observations,
        page_bytes: measured.identity_bytes,
        sent_bytes: measured.sent_bytes,
        encoding: if bench.gzip { "gzip" } else { "identity" },
        connections: bench.connections,
        duration_s: bench.duration.as_secs_f64(),
        rounds: measured.beacon.len(),
        wrk,
        ratio: beacon.requests_per_second / nginx.requests_per_second.max(1.0),
        beacon,
        nginx,
        beacon_rounds: measured.beacon,
        nginx_rounds: measured.nginx,
        beacon_cpu_s: measured.beacon_cpu_s,
        probes: bench.probes,
        probe_runs_expected: probes.expected,
        probe_runs_recorded: probes.recorded,
        on_schedule_share: probes.on_schedule_share,
        lateness_p50_ms: probes.p50,
        lateness_p99_ms: probes.p99,
        lateness_max_ms: probes.max,
    })
}

/// What the rounds measured.
struct Measured {
    identity_bytes: usize,
    sent_bytes: usize,
    beacon: Vec<LoadFigures>,
    nginx: Vec<LoadFigures>,
    beacon_windows: Vec<(Timestamp, Timestamp)>,
    beacon_cpu_s: f64,
}

/// Starts nginx beside the running Beacon with the page's exact bytes, then alternates the
/// same wrk line on Beacon and on nginx, so that a change in the machine's background load
/// (other builds on a shared machine) falls on both alike. Beacon keeps probing while nginx
/// is measured (a few percent of a core), so both see the same background.
async fn measure(
    bench: &PageBench,
    dir: &Path,
    url: &str,
    wrk: &Path,
    nginx: &Path,
) -> anyhow::Result<Measured> {
    let identity = fetch(url, false).await?;
    let page = fetch(url, bench.gzip).await?;
    let script = dir.join("report.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    let wrk_line = |url: &str| {
        let mut command = Command::new(wrk);
        command.args([
            "-t2",
            &format!("-c{}", bench.connections),
            &format!("-d{}s", bench.duration.as_secs().max(1)),
            "--timeout",
            "5s",
            "-s",
        ]);
        command.arg(&script).arg(url);
        if bench.gzip {
            command.args(["-H", "Accept-Encoding: gzip"]);
        }
        command
    };
    let gzipped = bench.gzip.then_some(page.as_slice());
    let mut server = Nginx::start(nginx, dir, &identity, gzipped)?;
    let nginx_url = format!("http://{}/", server.addr);
    let rounds = async {
        if server.wait_ready(&nginx_url, bench.gzip).await? != page {
            anyhow::bail!("nginx does not serve the page's bytes");
        }
        let mut measured = Measured {
            identity_bytes: identity.len(),
            sent_bytes: page.len(),
            beacon: Vec::new(),
            nginx: Vec::new(),
            beacon_windows: Vec::new(),
            beacon_cpu_s: 0.0,
        };
        for _ in 0..bench.rounds.max(1) {
            let from = SystemClock.now();
            let cpu_before = cpu_seconds();
            measured.beacon.push(run_wrk(wrk_line(url)).await?);
            measured.beacon_cpu_s += cpu_seconds() - cpu_before;
            measured.beacon_windows.push((from, SystemClock.now()));
            measured.nginx.push(run_wrk(wrk_line(&nginx_url)).await?);
        }
        Ok(measured)
    }
    .await;
    server.stop();
    rounds
}

/// `channels` channels with `probes` HTTP probes among them (the first of each channel is
/// named `http`, the probe the synthetic history belongs to), every 1 to 10 s.
fn config(bench: &PageBench, upstream: &str) -> crate::domain::Config {
    let channels = bench.channels.max(1);
    let per_channel = bench.probes.div_ceil(channels).max(1);
    let mut n = 0;
    let list = (0..channels)
        .map(|c| Channel {
            id: format!("channel-{c:02}"),
            name: format!("Support channel {c}"),
            group: if c < channels / 2 {
                "Chat and phone"
            } else {
                "Portals"
            }
            .into(),
            in_commitment: true,
            probes: (0..per_channel)
                .map(|p| {
                    let every = Duration::from_secs(INTERVALS_S[n % INTERVALS_S.len()]);
                    n += 1;
                    ProbeSpec {
                        name: if p == 0 {
                            "http".into()
                        } else {
                            format!("http-{p}")
                        },
                        target: ProbeTarget::Http(HttpTarget::get(format!(
                            "http://{upstream}/probe/{c}/{p}"
                        ))),
                        schedule: Schedule::Every(every),
                        timeout: Duration::from_secs(1),
                        thresholds: Thresholds {
                            failure: 3,
                            success: 2,
                        },
                        conditions: vec![],
                        degraded_if: vec![],
                        locations: vec!["bench".into()],
                        quorum: 1,
                    }
                })
                .collect(),
        })
        .collect();
    let mut config = with_channels(list);
    config.service.name = "Bench support".into();
    config
}

/// 90 days of 1-minute observations and their state intervals for each channel's `http`
/// probe, ending now; returns how many observations were written.
async fn fill_history(
    store: &Store,
    channels: &[Channel],
    now: Timestamp,
) -> anyhow::Result<usize> {
    let end = Timestamp(now.millis() - now.millis().rem_euclid(MINUTE));
    let start = end.plus_ms(-90 * DAY);
    let mut written = 0;
    for (i, channel) in channels.iter().enumerate() {
        let (_, observations) =
            import_history(store, channel, i as u64 + 1, start, start, end).await?;
        written += observations;
    }
    Ok(written)
}

impl std::fmt::Display for PageFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |v: f64| format!("{v:.2} ms");
        writeln!(
            f,
            "page /                   {} bytes, {} channels, {} days of history ({} observations)",
            self.page_bytes, self.channels, self.history_days, self.history_observations
        )?;
        if self.encoding == "gzip" {
            writeln!(f, "encoding                 gzip on both sides: {} bytes per answer (Beacon's precompressed variant; nginx gzip_static with the same file)", self.sent_bytes)?;
        } else {
            writeln!(f, "encoding                 identity on both sides (wrk sends no Accept-Encoding; nginx gzip off)")?;
        }
        writeln!(
            f,
            "load                     {} ({} rounds each, alternating Beacon and nginx)",
            self.wrk, self.rounds
        )?;
        for (i, (b, n)) in self
            .beacon_rounds
            .iter()
            .zip(&self.nginx_rounds)
            .enumerate()
        {
            writeln!(
                f,
                "  round {}                {:>8.0} req/s p99 {:>6.2} ms | nginx {:>8.0} req/s p99 {:>6.2} ms",
                i + 1,
                b.requests_per_second,
                b.p99_ms,
                n.requests_per_second,
                n.p99_ms
            )?;
        }
        writeln!(
            f,
            "                         {:>14} {:>14}",
            "Beacon", "nginx"
        )?;
        writeln!(
            f,
            "requests/s               {:>14.0} {:>14.0}",
            self.beacon.requests_per_second, self.nginx.requests_per_second
        )?;
        for (label, b, n) in [
            (
                "latency p50 (median)",
                self.beacon.p50_ms,
                self.nginx.p50_ms,
            ),
            (
                "latency p99 (median)",
                self.beacon.p99_ms,
                self.nginx.p99_ms,
            ),
            ("latency max", self.beacon.max_ms, self.nginx.max_ms),
        ] {
            writeln!(f, "{label:<25}{:>14} {:>14}", ms(b), ms(n))?;
        }
        writeln!(
            f,
            "errors (socket/status)   {:>14} {:>14}",
            format!("{}/{}", self.beacon.socket_errors, self.beacon.bad_status),
            format!("{}/{}", self.nginx.socket_errors, self.nginx.bad_status)
        )?;
        writeln!(
            f,
            "Beacon / nginx           {:.2}x (Beacon used {:.1} s of CPU in {:.0} s of load)",
            self.ratio,
            self.beacon_cpu_s,
            self.duration_s * self.rounds as f64
        )?;
        writeln!(
            f,
            "probes during the load   {} probes every 1-10 s: {} runs expected, {} recorded",
            self.probes, self.probe_runs_expected, self.probe_runs_recorded
        )?;
        punctuality(
            f,
            self.on_schedule_share,
            [
                self.lateness_p50_ms,
                self.lateness_p99_ms,
                self.lateness_max_ms,
            ],
        )?;
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        write!(
            f,
            "targets                  >= 0.8x nginx: {}; p99 < 5 ms: {}; >= 99% of probes on schedule: {}",
            verdict(self.ratio >= 0.8),
            verdict(self.beacon.p99_ms < 5.0),
            verdict(self.on_schedule_share >= 0.99)
        )
    }
}
