//! `beacon bench locations`: one server and three `beacon probe` nodes, each node running the
//! same N probes against a local upstream, every process a child of the bench so each one's
//! CPU and memory are its own. Then: observations made (counted by the upstream) against those
//! stored (none may be missing), the server's CPU per 1,000 observations, ingest latency
//! (observation start to committed, from the server's histogram), punctuality, and the RSS of
//! the server and of the nodes.

use super::bench::{peak_rss_kib, process_cpu_seconds, start_upstream};
use anyhow::{bail, Context};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The places the nodes report from.
const NODES: [&str; 3] = ["bench-a", "bench-b", "bench-c"];

/// `beacon bench locations` options.
#[derive(Debug, clap::Args)]
pub(super) struct LocationsBench {
    /// Probes each node runs (every probe runs at all three places, quorum 2).
    #[arg(long, default_value_t = 1000)]
    probes: usize,
    /// Interval of every probe.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    every: Duration,
    /// How long the nodes probe.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    duration: Duration,
}

/// What the bench measured.
#[derive(Debug)]
struct Figures {
    made: u64,
    stored: u64,
    /// Made during the nodes' shutdown, kept in their spools.
    spooled: u64,
    per_node: Vec<(String, u64)>,
    server_cpu_s: f64,
    ingest_p50_s: f64,
    ingest_p99_s: f64,
    on_schedule_share: f64,
    lateness_p99_ms: i64,
    server_rss_kib: u64,
    node_rss_kib: Vec<u64>,
}

/// A child process killed on drop, so a failed bench leaves nothing running.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) async fn command(bench: LocationsBench) -> anyhow::Result<()> {
    println!(
        "beacon bench locations: 1 server, {} nodes, {} probes each every {} for {}",
        NODES.len(),
        bench.probes,
        humantime::format_duration(bench.every),
        humantime::format_duration(bench.duration)
    );
    let (upstream, upstream_addr) = start_upstream()?;
    let _upstream = Proc(upstream);
    let dir = std::env::temp_dir().join(format!("beacon-bench-locations-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&bench, &dir, &upstream_addr).await;
    let _ = std::fs::remove_dir_all(&dir);
    let figures = result?;
    print!("{}", Report(&bench, &figures));
    if figures.stored + figures.spooled < figures.made {
        bail!(
            "{} observations made but {} stored and {} spooled",
            figures.made,
            figures.stored,
            figures.spooled
        );
    }
    Ok(())
}

fn config(bench: &LocationsBench, upstream: &str) -> String {
    let mut text =
        String::from("[service]\nname = \"Bench locations\"\nlocation = \"bench-server\"\n");
    for node in NODES {
        text.push_str(&format!("\n[[location]]\nid = \"{node}\"\n"));
    }
    let every = humantime::format_duration(bench.every);
    let per_channel = 10;
    for c in 0..bench.probes.div_ceil(per_channel) {
        text.push_str(&format!(
            "\n[[channel]]\nid = \"channel-{c:03}\"\nname = \"Channel {c}\"\n"
        ));
        for p in 0..per_channel.min(bench.probes - c * per_channel) {
            text.push_str(&format!(
                "[[channel.probe]]\nname = \"p{p}\"\nurl = \"http://{upstream}/{c}/{p}\"\nevery = \"{every}\"\ntimeout = \"5s\"\nlocations = [\"bench-a\", \"bench-b\", \"bench-c\"]\n"
            ));
        }
    }
    text
}

fn beacon(dir: &Path) -> anyhow::Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command.current_dir(dir);
    Ok(command)
}

async fn run(bench: &LocationsBench, dir: &Path, upstream: &str) -> anyhow::Result<Figures> {
    std::fs::write(dir.join("probes.toml"), config(bench, upstream))?;
    let listen = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.to_string()
    };
    let server_url = format!("http://{listen}");
    let server = Proc(
        beacon(dir)?
            .args(["serve", "--listen", &listen])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log"))?)
            .spawn()
            .context("cannot start the server")?,
    );
    let client = reqwest::Client::new();
    wait_healthy(&client, &server_url).await?;
    let mut nodes = Vec::new();
    for node in NODES {
        let out = beacon(dir)?
            .args([
                "token",
                "create",
                "--name",
                node,
                "--role",
                "prober",
                "--location",
                node,
            ])
            .output()?;
        if !out.status.success() {
            bail!("token create: {}", String::from_utf8_lossy(&out.stderr));
        }
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        nodes.push(Proc(
            beacon(dir)?
                .args([
                    "probe",
                    "--server",
                    &server_url,
                    "--location",
                    node,
                    "--token",
                    &token,
                ])
                .arg("--spool")
                .arg(dir.join(format!("{node}.spool")))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join(format!("{node}.log")))?)
                .spawn()
                .context("cannot start a prober node")?,
        ));
    }
    let cpu_before = process_cpu_seconds(&server.0.id().to_string());
    let requests_before = requests(&client, upstream).await?;
    tokio::time::sleep(bench.duration).await;
    // Stop the nodes (SIGTERM: they finish their runs and keep their spools), then let the
    // server take what they had not sent yet.
    let node_rss_kib: Vec<u64> = nodes
        .iter()
        .map(|n| peak_rss_kib(&n.0.id().to_string()))
        .collect();
    for node in &nodes {
        let _ = Command::new("kill")
            .args(["-TERM", &node.0.id().to_string()])
            .status();
    }
    for node in &mut nodes {
        let _ = node.0.wait();
    }
    let made = requests(&client, upstream).await? - requests_before;
    // Runs that finished during the nodes' shutdown stay in their spools (sent at their next
    // start): kept, not lost, and counted as such.
    let mut spooled = 0;
    for node in NODES {
        spooled += count_rows(&dir.join(format!("{node}.spool")), "spool")?;
    }
    let db = dir.join("beacon.db");
    let stored = settle(&db, made.saturating_sub(spooled)).await?;
    let server_cpu_s = process_cpu_seconds(&server.0.id().to_string()) - cpu_before;
    let metrics = client
        .get(format!("{server_url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let (ingest_p50_s, ingest_p99_s) = ingest_quantiles(&metrics);
    let server_rss_kib = peak_rss_kib(&server.0.id().to_string());
    drop(nodes);
    drop(server);
    let (per_node, on_schedule_share, lateness_p99_ms) = stored_figures(&db)?;
    Ok(Figures {
        made,
        stored,
        spooled,
        per_node,
        server_cpu_s,
        ingest_p50_s,
        ingest_p99_s,
        on_schedule_share,
        lateness_p99_ms,
        server_rss_kib,
        node_rss_kib,
    })
}

async fn wait_healthy(client: &reqwest::Client, server: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(answer) = client.get(format!("{server}/healthz")).send().await {
            if answer.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server did not become healthy within 30 s")
}

/// Waits until the store holds at least `made` observations, or until it stops growing for
/// 10 s; returns how many it holds.
async fn settle(db: &Path, made: u64) -> anyhow::Result<u64> {
    let mut last = 0;
    let mut still = Instant::now();
    loop {
        let now = count_rows(db, "observations")?;
        if now >= made {
            return Ok(now);
        }
        if now != last {
            last = now;
            still = Instant::now();
        } else if still.elapsed() > Duration::from_secs(10) {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Rows of `table` (a constant name) in an SQLite file.
fn count_rows(db: &Path, table: &str) -> anyhow::Result<u64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Observations per node, and their punctuality (share within 100 ms, p99 lateness).
type StoredFigures = (Vec<(String, u64)>, f64, i64);

fn stored_figures(db: &Path) -> anyhow::Result<StoredFigures> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let per_node: Vec<(String, u64)> = conn
        .prepare("SELECT location, count(*) FROM observations GROUP BY location ORDER BY location")?
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
        .collect::<Result<_, _>>()?;
    let mut lateness: Vec<i64> = conn
        .prepare("SELECT lateness_ms FROM observations")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    lateness.sort_unstable();
    let on_time = lateness.iter().filter(|l| **l <= 100).count();
    let share = if lateness.is_empty() {
        0.0
    } else {
        on_time as f64 / lateness.len() as f64
    };
    let p99 = lateness
        .get(((lateness.len() as f64 - 1.0) * 0.99).round().max(0.0) as usize)
        .copied()
        .unwrap_or(0);
    Ok((per_node, share, p99))
}

async fn requests(client: &reqwest::Client, upstream: &str) -> anyhow::Result<u64> {
    let text = client
        .get(format!("http://{upstream}/count"))
        .send()
        .await?
        .text()
        .await?;
    text.trim().parse().context("upstream count")
}

/// p50 and p99 of `beacon_ingest_latency_seconds` summed over locations, as the upper bound
/// of the bucket holding them (what a histogram can say).
fn ingest_quantiles(metrics: &str) -> (f64, f64) {
    let mut buckets: std::collections::BTreeMap<u64, (f64, u64)> = Default::default();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("beacon_ingest_latency_seconds_bucket{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let Some(le) = labels
            .split("le=\"")
            .nth(1)
            .and_then(|l| l.split('"').next())
        else {
            continue;
        };
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        let count: u64 = value.trim().parse().unwrap_or(0);
        let entry = buckets.entry(bound.to_bits()).or_insert((bound, 0));
        entry.1 += count;
    }
    let mut sorted: Vec<(f64, u64)> = buckets.into_values().collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = sorted.last().map_or(0, |b| b.1);
    let quantile = |q: f64| {
        let rank = (total as f64 * q).ceil() as u64;
        sorted
            .iter()
            .find(|(_, n)| *n >= rank.max(1))
            .map_or(f64::NAN, |(bound, _)| *bound)
    };
    (quantile(0.50), quantile(0.99))
}

struct Report<'a>(&'a LocationsBench, &'a Figures);

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (bench, fig) = (self.0, self.1);
        let scheduled = (bench.probes as f64 * NODES.len() as f64 * bench.duration.as_secs_f64()
            / bench.every.as_secs_f64())
        .round();
        writeln!(f, "observations scheduled   {scheduled}")?;
        writeln!(
            f,
            "observations made        {} (requests the upstream answered)",
            fig.made
        )?;
        writeln!(
            f,
            "observations stored      {} (+ {} kept in the nodes' spools at shutdown; missing: {})",
            fig.stored,
            fig.spooled,
            fig.made.saturating_sub(fig.stored + fig.spooled)
        )?;
        for (node, n) in &fig.per_node {
            writeln!(f, "  from {node:<18} {n}")?;
        }
        let per_thousand = if fig.stored == 0 {
            0.0
        } else {
            fig.server_cpu_s * 1000.0 / fig.stored as f64
        };
        writeln!(
            f,
            "server CPU               {:.2} s ({per_thousand:.3} s per 1,000 observations)",
            fig.server_cpu_s
        )?;
        writeln!(
            f,
            "ingest latency p50/p99   <= {} s / <= {} s (observation start to committed)",
            fig.ingest_p50_s, fig.ingest_p99_s
        )?;
        writeln!(
            f,
            "on schedule (<= 100 ms)  {:.2}% (lateness p99 {} ms)",
            100.0 * fig.on_schedule_share,
            fig.lateness_p99_ms
        )?;
        writeln!(
            f,
            "server peak RSS          {} MiB",
            fig.server_rss_kib / 1024
        )?;
        let nodes: Vec<String> = fig
            .node_rss_kib
            .iter()
            .map(|k| format!("{} MiB", k / 1024))
            .collect();
        writeln!(f, "node peak RSS            {}", nodes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_quantiles_read_the_bucket_holding_them_across_locations() {
        let metrics = "\
beacon_ingest_latency_seconds_bucket{location=\"a\",le=\"0.5\"} 10
beacon_ingest_latency_seconds_bucket{location=\"a\",le=\"1\"} 90
beacon_ingest_latency_seconds_bucket{location=\"a\",le=\"+Inf\"} 100
beacon_ingest_latency_seconds_bucket{location=\"b\",le=\"0.5\"} 0
beacon_ingest_latency_seconds_bucket{location=\"b\",le=\"1\"} 90
beacon_ingest_latency_seconds_bucket{location=\"b\",le=\"+Inf\"} 100
";
        let (p50, p99) = ingest_quantiles(metrics);
        assert_eq!(p50, 1.0);
        assert!(p99.is_infinite());
    }

    #[test]
    fn every_probe_runs_at_the_three_nodes() {
        let bench = LocationsBench {
            probes: 25,
            every: Duration::from_secs(10),
            duration: Duration::from_secs(60),
        };
        let config =
            crate::config::parse("bench.toml", &config(&bench, "127.0.0.1:9")).expect("valid");
        for node in NODES {
            assert_eq!(config.probes_at(node).count(), 25);
        }
        assert_eq!(config.probes_at("bench-server").count(), 0);
    }
}
