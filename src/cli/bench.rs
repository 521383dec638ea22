//! `beacon bench probes`: N HTTP probes through the real scheduler, recorder and store
//! against a local upstream in a child process, then the figures that matter: runs executed
//! (counted by the upstream) against runs scheduled, lateness, CPU per 1,000 runs, peak RSS.

use crate::domain::{
    Channel, Config, HttpTarget, ProbeSpec, ProbeTarget, Schedule, SystemClock, Thresholds,
};
use crate::probe::Prober;
use crate::store::Store;
use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `beacon bench probes` measured.
#[derive(Debug)]
pub struct ProbeFigures {
    pub scheduled: u64,
    pub executed: u64,
    pub recorded: u64,
    pub on_schedule_share: f64,
    pub lateness_p50_ms: i64,
    pub lateness_p99_ms: i64,
    pub lateness_max_ms: i64,
    pub cpu_seconds: f64,
    pub peak_rss_kib: u64,
    pub observations_per_second: f64,
}

pub async fn probes(
    count: usize,
    every: Duration,
    duration: Duration,
) -> anyhow::Result<ProbeFigures> {
    let (mut upstream, upstream_addr) = start_upstream()?;
    let result = run(count, every, duration, &upstream_addr).await;
    let _ = upstream.kill();
    let _ = upstream.wait();
    result
}

/// Starts `beacon bench-upstream` in a child process (so its CPU is not counted as the
/// prober's); returns the child, to kill when done, and the address it listens on.
pub(super) fn start_upstream() -> anyhow::Result<(std::process::Child, String)> {
    let mut upstream = Command::new(std::env::current_exe()?)
        .args(["bench-upstream"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the upstream process")?;
    let mut first_line = String::new();
    BufReader::new(upstream.stdout.take().context("upstream stdout")?)
        .read_line(&mut first_line)
        .context("upstream did not say where it listens")?;
    Ok((upstream, first_line.trim().to_owned()))
}

async fn run(
    count: usize,
    every: Duration,
    duration: Duration,
    upstream: &str,
) -> anyhow::Result<ProbeFigures> {
    let dir = std::env::temp_dir().join(format!("beacon-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("bench.db");
    let config = Arc::new(config(count, every, upstream));
    let store = Store::open(&db)?;
    store
        .sync_config(
            &config,
            crate::domain::Clock::now(&crate::domain::SystemClock),
        )
        .await?;
    let requests_before = requests(upstream).await?;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let clock: Arc<dyn crate::domain::Clock> = Arc::new(SystemClock);
    let handles = crate::probe::ProbeHandles::new(&config, store.clone(), clock.clone());
    let prober = Prober::start(config, store.clone(), clock, handles, true).await?;
    tokio::time::sleep(duration).await;
    prober.stop().await;
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let executed = requests(upstream).await? - requests_before;
    store.close().await?;

    let conn = rusqlite::Connection::open(&db)?;
    let mut lateness: Vec<i64> = conn
        .prepare("SELECT lateness_ms FROM observations")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    lateness.sort_unstable();
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);

    let recorded = lateness.len() as u64;
    let percentile = |p: f64| -> i64 {
        if lateness.is_empty() {
            return 0;
        }
        let index = ((lateness.len() as f64 - 1.0) * p).round() as usize;
        lateness[index.min(lateness.len() - 1)]
    };
    let on_time = lateness.iter().filter(|l| **l <= 100).count();
    Ok(ProbeFigures {
        scheduled: (count as f64 * duration.as_secs_f64() / every.as_secs_f64()).round() as u64,
        executed,
        recorded,
        on_schedule_share: if lateness.is_empty() {
            0.0
        } else {
            on_time as f64 / lateness.len() as f64
        },
        lateness_p50_ms: percentile(0.50),
        lateness_p99_ms: percentile(0.99),
        lateness_max_ms: lateness.last().copied().unwrap_or(0),
        cpu_seconds: cpu,
        peak_rss_kib: peak_rss_kib("self"),
        observations_per_second: recorded as f64 / elapsed.as_secs_f64(),
    })
}

impl std::fmt::Display for ProbeFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per_thousand = if self.executed == 0 {
            0.0
        } else {
            self.cpu_seconds * 1000.0 / self.executed as f64
        };
        writeln!(f, "runs scheduled           {}", self.scheduled)?;
        writeln!(
            f,
            "runs executed (upstream) {} ({:.1}% of scheduled)",
            self.executed,
            100.0 * self.executed as f64 / self.scheduled.max(1) as f64
        )?;
        writeln!(f, "observations recorded    {}", self.recorded)?;
        punctuality(
            f,
            self.on_schedule_share,
            [
                self.lateness_p50_ms,
                self.lateness_p99_ms,
                self.lateness_max_ms,
            ],
        )?;
        writeln!(
            f,
            "CPU                      {:.2} s ({per_thousand:.3} s per 1,000 runs)",
            self.cpu_seconds
        )?;
        writeln!(
            f,
            "peak RSS                 {:.1} MiB",
            self.peak_rss_kib as f64 / 1024.0
        )?;
        write!(
            f,
            "observations written/s   {:.1}",
            self.observations_per_second
        )
    }
}

fn config(count: usize, every: Duration, upstream: &str) -> Config {
    let channels = (0..count)
        .map(|i| Channel {
            id: format!("bench-{i:04}"),
            name: format!("Bench {i}"),
            group: "Bench".into(),
            in_commitment: true,
            probes: vec![ProbeSpec {
                name: "http".into(),
                target: ProbeTarget::Http(HttpTarget::get(format!("http://{upstream}/probe/{i}"))),
                schedule: Schedule::Every(every),
                timeout: every.min(Duration::from_secs(5)),
                thresholds: Thresholds {
                    failure: 3,
                    success: 2,
                },
                conditions: vec![],
                degraded_if: vec![],
                locations: vec!["bench".into()],
                quorum: 1,
            }],
        })
        .collect();
    with_channels(channels)
}

/// A configuration with the defaults of `probes.toml` (parsed, so benches never drift from
/// them) and the given channels.
/// The two punctuality lines both benchmarks print: the share of runs started within 100 ms
/// of schedule, and lateness p50 / p99 / max.
pub(super) fn punctuality(
    f: &mut std::fmt::Formatter<'_>,
    on_schedule_share: f64,
    [p50, p99, max]: [i64; 3],
) -> std::fmt::Result {
    writeln!(
        f,
        "on schedule (<= 100 ms)  {:.2}%",
        100.0 * on_schedule_share
    )?;
    writeln!(f, "lateness p50/p99/max     {p50} / {p99} / {max} ms")
}

pub(super) fn with_channels(channels: Vec<Channel>) -> Config {
    // Channels are added below; the text alone has none.
    const SERVICE: &str = "[service]\nname = \"Bench\"\nlocation = \"bench\"\nallow_empty = true\n";
    let mut config = crate::config::parse("bench", SERVICE).unwrap_or_else(|e| {
        // The text is a constant: this only fails if the defaults themselves are broken.
        panic!("bench configuration: {e}")
    });
    config.channels = channels;
    config
}

async fn requests(upstream: &str) -> anyhow::Result<u64> {
    let text = reqwest::get(format!("http://{upstream}/count"))
        .await?
        .text()
        .await?;
    text.trim().parse().context("upstream count")
}

/// User plus system CPU time of this process, from /proc (Linux).
pub(super) fn cpu_seconds() -> f64 {
    process_cpu_seconds("self")
}

/// User plus system CPU time of process `pid` (a number, or `self`), from /proc (Linux).
pub(super) fn process_cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set size of process `pid` (a number, or `self`), VmHWM in KiB.
pub(super) fn peak_rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The bench's upstream (`beacon bench-upstream`): answers 200 to everything, counts
/// requests, serves the count on `/count`, prints its address on the first stdout line.
pub async fn upstream() -> anyhow::Result<()> {
    use axum::routing::get;
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    let app = axum::Router::new()
        .route(
            "/count",
            get(move || {
                let n = count.load(Ordering::Relaxed);
                async move { n.to_string() }
            }),
        )
        .fallback(move || {
            counted.fetch_add(1, Ordering::Relaxed);
            async { "ok" }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub(super) enum BenchCommand {
    /// Monthly report time over a year of data for N channels.
    #[command(after_help = "Example:\n  beacon bench report --channels 100")]
    Report {
        /// Channels, each with a year of synthetic 1-minute observations.
        #[arg(long, default_value_t = 100)]
        channels: usize,
        /// An empty database to fill (e.g. a PostgreSQL URL); default a temporary SQLite file.
        #[arg(long)]
        db: Option<crate::store::Database>,
    },
    /// The store's ingest rate: observation records as the recorder queues them, committed in
    /// batches, on a temporary SQLite file or an empty PostgreSQL database.
    #[command(after_help = "Examples:
  beacon bench store --observations 200000
  beacon bench store --db postgres://beacon@127.0.0.1/bench")]
    Store {
        /// Probes (one channel each) the observations are spread over.
        #[arg(long, default_value_t = 100)]
        probes: usize,
        /// Observations to record.
        #[arg(long, default_value_t = 200_000)]
        observations: usize,
        /// An empty database to fill; default a temporary SQLite file.
        #[arg(long)]
        db: Option<crate::store::Database>,
    },
    /// N HTTP probes through the real scheduler and store against a local upstream.
    #[command(
        after_help = "Example:\n  beacon bench probes --count 1000 --every 10s --duration 60s"
    )]
    Probes {
        /// HTTP probes to run.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Interval of every probe (e.g. 10s, 1m).
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        every: std::time::Duration,
        /// How long to run them (e.g. 60s, 5m).
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
    },
    /// The status page under wrk beside nginx serving the same bytes, and the probes'
    /// punctuality during that load (needs Debian's `wrk` and `nginx`).
    #[command(after_help = "Examples:
  beacon bench page --rounds 1 --duration 5s
  beacon bench page --gzip --json > bench-page.json")]
    Page(super::bench_page::PageBench),
    /// One server and three `beacon probe` nodes on this machine, N probes each: every
    /// observation counted, the server's CPU per 1,000, ingest latency, memory.
    #[command(
        after_help = "Example:\n  beacon bench locations --probes 1000 --every 10s --duration 60s"
    )]
    Locations(super::bench_locations::LocationsBench),
    /// Two `web,jobs` nodes on one PostgreSQL: the page under wrk on one node and through
    /// nginx balancing both, and the jobs lease's failover time after `kill -9` of its
    /// holder (needs Debian's `wrk` and `nginx`).
    #[command(
        after_help = "Example:\n  beacon bench nodes --db postgres://beacon@127.0.0.1/bench --duration 10s"
    )]
    Nodes(super::bench_nodes::NodesBench),
}

/// Runs one benchmark command.
pub(super) fn bench(what: BenchCommand) -> std::process::ExitCode {
    use super::{report, runtime};
    match what {
        BenchCommand::Probes {
            count,
            every,
            duration,
        } => report(runtime().and_then(|rt| {
            rt.block_on(async {
                println!(
                    "beacon bench probes: {count} probes every {} for {}",
                    humantime::format_duration(every),
                    humantime::format_duration(duration)
                );
                let figures = probes(count, every, duration).await?;
                println!("{figures}");
                Ok(())
            })
        })),
        BenchCommand::Store {
            probes,
            observations,
            db,
        } => report(runtime().and_then(|rt| {
            rt.block_on(async {
                println!("beacon bench store: {observations} observations of {probes} probes");
                println!(
                    "{}",
                    super::bench_store::ingest(probes, observations, db).await?
                );
                Ok(())
            })
        })),
        BenchCommand::Report { channels, db } => report(runtime().and_then(|rt| {
            rt.block_on(async {
                println!("beacon bench report: a year of data for {channels} channels");
                println!("{}", super::bench_report::report(channels, db).await?);
                Ok(())
            })
        })),
        BenchCommand::Page(bench) => {
            report(runtime().and_then(|rt| rt.block_on(super::bench_page::command(bench))))
        }
        BenchCommand::Locations(bench) => {
            report(runtime().and_then(|rt| rt.block_on(super::bench_locations::command(bench))))
        }
        BenchCommand::Nodes(bench) => {
            report(runtime().and_then(|rt| rt.block_on(super::bench_nodes::command(bench))))
        }
    }
}
