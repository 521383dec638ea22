//! `beacon bench nodes`: two `beacon serve --role web,jobs` on one PostgreSQL database, this
//! binary as child processes. The same `wrk` line drives one node alone, then nginx
//! balancing both (round robin, keep-alive upstreams); then the jobs lease's failover time:
//! the holder is killed (`kill -9`) and the time until the other node's `/healthz` says it
//! runs the jobs is measured, the killed node restarted, and again.

use super::bench_load::{fetch, run_wrk, tools, LoadFigures, Nginx, WRK_SCRIPT};
use crate::store::Database;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct NodesBench {
    /// A scratch PostgreSQL database (its schema is created or migrated; channels and one
    /// incident are written to it).
    #[arg(long)]
    db: Database,
    /// wrk's concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// Length of each wrk run (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Times the lease holder is killed.
    #[arg(long, default_value_t = 5)]
    failovers: usize,
}

/// One `beacon serve` child, killed when dropped.
struct Node {
    child: Child,
    listen: String,
    log: std::path::PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn start(dir: &Path, url: &str, name: &str) -> anyhow::Result<Node> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let listen = format!("127.0.0.1:{port}");
        let log_path = dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(std::env::current_exe()?)
            .args([
                "serve", "--role", "web,jobs", "--listen", &listen, "--db", url,
            ])
            .arg("--config")
            .arg(dir.join("probes.toml"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start beacon serve")?;
        Ok(Node {
            child,
            listen,
            log: log_path,
        })
    }

    /// `/healthz`'s `jobs` field, if the node answers.
    async fn jobs(&self, client: &reqwest::Client) -> Option<String> {
        let health: serde_json::Value = client
            .get(format!("http://{}/healthz", self.listen))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        health["jobs"].as_str().map(str::to_owned)
    }

    /// Waits (at most `within`) until `/healthz`'s jobs field satisfies `wanted`.
    async fn wait_jobs(
        &self,
        client: &reqwest::Client,
        within: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.jobs(client).await.is_some_and(|j| wanted(&j)) {
                return Ok(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        bail!(
            "node {} did not get there within {within:?}; its log ends:\n{}",
            self.listen,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

/// What the bench measured.
pub struct NodesFigures {
    pub one_node: LoadFigures,
    /// One node through the same nginx, for the proxy's own cost.
    pub one_behind_nginx: LoadFigures,
    pub two_nodes: LoadFigures,
    /// Kill of the holder to the other node's `/healthz` saying it holds the lease.
    pub failovers: Vec<Duration>,
    pub wrk: String,
}

pub async fn command(bench: NodesBench) -> anyhow::Result<()> {
    println!(
        "beacon bench nodes: two web,jobs nodes on {}, wrk {}s x {} connections, {} failovers",
        bench.db,
        bench.duration.as_secs(),
        bench.connections,
        bench.failovers
    );
    println!("{}", nodes(&bench).await?);
    Ok(())
}

pub async fn nodes(bench: &NodesBench) -> anyhow::Result<NodesFigures> {
    let Database::Postgres(url) = &bench.db else {
        bail!("--db must be a PostgreSQL URL: several nodes share a PostgreSQL database");
    };
    let (wrk, nginx) = tools()?;
    let dir = std::env::temp_dir().join(format!("beacon-bench-nodes-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(bench, &dir, url, &wrk, &nginx).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    bench: &NodesBench,
    dir: &Path,
    url: &str,
    wrk: &Path,
    nginx: &Path,
) -> anyhow::Result<NodesFigures> {
    std::fs::write(dir.join("probes.toml"), config())?;
    std::fs::write(dir.join("report.lua"), WRK_SCRIPT)?;
    let client = reqwest::Client::new();
    let mut nodes = [Node::start(dir, url, "a")?, Node::start(dir, url, "b")?];
    for node in &nodes {
        node.wait_jobs(&client, Duration::from_secs(30), |_| true)
            .await?;
    }
    let wrk_line = |target: &str| {
        let mut command = Command::new(wrk);
        command
            .args(["-t2", &format!("-c{}", bench.connections)])
            .arg(format!("-d{}s", bench.duration.as_secs().max(1)))
            .args(["--timeout", "5s", "-s"])
            .arg(dir.join("report.lua"))
            .arg(format!("http://{target}/"))
            .stdin(Stdio::null());
        command
    };
    fetch(&format!("http://{}/", nodes[0].listen), false).await?;
    let one_node = run_wrk(wrk_line(&nodes[0].listen)).await?;
    // Through the balancer to one node, then to both: the proxy's own cost apart.
    let mut behind_nginx = Vec::new();
    for upstreams in [
        vec![nodes[0].listen.clone()],
        nodes.iter().map(|n| n.listen.clone()).collect(),
    ] {
        let mut balancer = Nginx::balance(
            nginx,
            &dir.join(format!("lb{}", upstreams.len())),
            &upstreams,
        )?;
        balancer
            .wait_ready(&format!("http://{}/", balancer.addr), false)
            .await?;
        let figures = run_wrk(wrk_line(&balancer.addr)).await;
        balancer.stop();
        behind_nginx.push(figures?);
    }
    let (Some(two_nodes), Some(one_behind_nginx)) = (behind_nginx.pop(), behind_nginx.pop()) else {
        bail!("no figures behind nginx");
    };

    let mut failovers = Vec::new();
    for round in 0..bench.failovers {
        let mut holder = None;
        for (i, node) in nodes.iter().enumerate() {
            if node
                .jobs(&client)
                .await
                .is_some_and(|j| j.starts_with("here"))
            {
                holder = Some(i);
            }
        }
        let Some(holder) = holder else {
            bail!("round {round}: no node holds the jobs lease");
        };
        let other = 1 - holder;
        nodes[holder].child.kill()?;
        let killed = Instant::now();
        let took = nodes[other]
            .wait_jobs(&client, Duration::from_secs(30), |j| j.starts_with("here"))
            .await?;
        failovers.push(took - killed);
        nodes[holder] = Node::start(dir, url, &format!("restart-{round}"))?;
        nodes[holder]
            .wait_jobs(&client, Duration::from_secs(30), |j| {
                j.starts_with("waiting")
            })
            .await?;
    }
    Ok(NodesFigures {
        one_node,
        one_behind_nginx,
        two_nodes,
        failovers,
        wrk: format!(
            "wrk -t2 -c{} -d{}s --timeout 5s -s report.lua URL/",
            bench.connections,
            bench.duration.as_secs()
        ),
    })
}

/// Twenty declared components in four groups (no probes: the page's cost, not the
/// prober's, is measured), rendered from the shared database on each node.
fn config() -> String {
    let mut text = String::from("[service]\nname = \"Bench support\"\n");
    for i in 0..20 {
        text.push_str(&format!(
            "\n[[channel]]\nid = \"c{i:02}\"\nname = \"Component {i}\"\ngroup = \"Group {}\"\n",
            i / 5
        ));
    }
    text
}

impl std::fmt::Display for NodesFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |f: &mut std::fmt::Formatter<'_>, name: &str, l: &LoadFigures| {
            writeln!(
                f,
                "{name:<24} {:>9.0} requests/s   p50 {:.2} ms   p99 {:.2} ms   errors {}",
                l.requests_per_second,
                l.p50_ms,
                l.p99_ms,
                l.socket_errors + l.bad_status
            )
        };
        writeln!(f, "load                     {}", self.wrk)?;
        line(f, "/ on one node", &self.one_node)?;
        line(f, "/ one node via nginx", &self.one_behind_nginx)?;
        line(f, "/ on two nodes (nginx)", &self.two_nodes)?;
        let mut sorted = self.failovers.clone();
        sorted.sort();
        if let (Some(median), Some(max)) = (sorted.get(sorted.len() / 2), sorted.last()) {
            writeln!(
                f,
                "jobs lease failover      median {} ms, max {} ms over {} kills",
                median.as_millis(),
                max.as_millis(),
                sorted.len()
            )?;
        }
        Ok(())
    }
}
