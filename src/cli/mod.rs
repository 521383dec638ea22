//! The command line: `serve`, `check`, `backup`, `healthcheck`.
//!
//! Owns: arguments, environment variables, logging setup, exit codes. May use every module.
//! Exit codes: 0 success, 1 runtime failure (port in use, unwritable database...), 2 invalid
//! configuration.

mod bench;
mod bench_load;
mod bench_locations;
mod bench_nodes;
mod bench_page;
mod bench_report;
mod bench_store;
mod history;
mod import;
mod incidents;
mod init;
mod operator;
mod probe_node;
mod remote;
mod store_copy;
mod users;

use crate::domain::{Config, SystemClock};
use crate::store::Database;
use crate::{config, store};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "beacon",
    version,
    about = "Uptime monitor, public status page and support-SLA clock"
)]
pub struct Cli {
    /// Log format on stderr; the level comes from RUST_LOG (default info).
    #[arg(long, value_enum, default_value = "human", global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Probe every channel and serve the status page until SIGINT or SIGTERM.
    #[command(
        after_help = "Example:\n  beacon serve --config probes.toml --db beacon.db --listen 0.0.0.0:8080\n\nExample, one of several nodes on PostgreSQL:\n  beacon serve --db postgres://beacon@db/beacon --role web,jobs --listen 0.0.0.0:8080"
    )]
    Serve {
        /// The configuration file (TOML).
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
        /// Address to serve on, `HOST:PORT` (`0.0.0.0:8080` for every interface).
        #[arg(long, env = "BEACON_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// What this node does: `all` (web, jobs and the server's own probes: one node), or
        /// `web`, `jobs` or `web,jobs` for one of several nodes on PostgreSQL (the jobs run
        /// on one node at a time, under a lease).
        #[arg(long, env = "BEACON_ROLE", default_value = "all")]
        role: crate::app::Roles,
    },
    /// Run only the probes the server assigns to one location, sending what they see to it.
    #[command(
        after_help = "Example, on a machine in another region (the server declares [[location]] id = \"eu-west\"):
  BEACON_TOKEN=... beacon probe --server https://status.example.com --location eu-west"
    )]
    Probe(probe_node::ProbeArgs),
    /// Write a commented starter configuration (never over an existing file).
    #[command(after_help = "Example:\n  beacon init && beacon check && beacon serve")]
    Init {
        /// Where to write it.
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
    },
    /// Validate a configuration and print one line per channel.
    #[command(after_help = "Example:\n  beacon check --config probes.toml")]
    Check {
        /// The configuration file to validate.
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
    },
    /// Write a consistent copy of the database, safe while Beacon runs.
    #[command(after_help = "Example:\n  beacon backup --db beacon.db beacon-2026-11-30.db")]
    Backup {
        /// Destination file; must not exist.
        file: PathBuf,
        /// The database to copy.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Create or rotate the token of a push (heartbeat) probe; prints it once.
    #[command(
        after_help = "Example, after adding a push probe to a channel of probes.toml:
    [[channel.probe]]
    name = \"queue-worker\"
    push = true
    every = \"5m\"
  beacon push-token email-gateway queue-worker"
    )]
    PushToken {
        /// Channel id.
        channel: String,
        /// Probe name within the channel.
        probe: String,
        /// The configuration file, naming the channels.
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Write a month's uptime report (exit 2 for a malformed or future month).
    #[command(after_help = "Examples:
  beacon report --month 2026-11 --out report-2026-11.html
  beacon report --month 2026-11 --format csv --out report-2026-11.csv")]
    Report {
        /// `YYYY-MM` (UTC calendar month).
        #[arg(long)]
        month: String,
        /// Output format: an HTML page, CSV rows, or the JSON of the report.
        #[arg(long, value_enum, default_value = "html")]
        format: ReportFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The configuration file, naming the channels.
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// API tokens for the operator API.
    Token {
        #[command(subcommand)]
        what: operator::TokenCommand,
    },
    /// Operator accounts for the web admin (`/admin`).
    User {
        #[command(subcommand)]
        what: users::UserCommand,
    },
    /// Declare and update incidents (on the database, or a running Beacon with --url).
    Incident {
        #[command(subcommand)]
        what: incidents::IncidentCommand,
    },
    /// Schedule and list maintenance windows (on the database, or a running Beacon with --url).
    Maintenance {
        #[command(subcommand)]
        what: incidents::MaintenanceCommand,
    },
    /// Import history from another monitor.
    Import {
        #[command(subcommand)]
        what: import::ImportCommand,
    },
    /// Move a history between databases (SQLite and PostgreSQL, either way).
    Store {
        #[command(subcommand)]
        what: store_copy::StoreCommand,
    },
    /// Benchmarks, printing figures (not part of CI).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
    /// The benchmark's upstream server (started by `beacon bench`).
    #[command(hide = true)]
    BenchUpstream,
    /// Exit 0 if the running Beacon answers /healthz with 200 (for container health checks).
    #[command(after_help = "Examples:
  beacon healthcheck --listen 127.0.0.1:8080
  HEALTHCHECK CMD [\"beacon\", \"healthcheck\"]    # Dockerfile; the address comes from BEACON_LISTEN")]
    Healthcheck {
        /// The address `beacon serve` listens on; 0.0.0.0 and [::] are asked on loopback.
        #[arg(long, env = "BEACON_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReportFormat {
    Html,
    Csv,
    Json,
}

impl From<ReportFormat> for crate::report::Format {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Html => crate::report::Format::Html,
            ReportFormat::Csv => crate::report::Format::Csv,
            ReportFormat::Json => crate::report::Format::Json,
        }
    }
}

/// Parses arguments, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service logs its life at info; one-shot commands only speak up when something is off.
    let default_level = match cli.command {
        Command::Serve { .. } | Command::Probe(_) => "info",
        _ => "warn",
    };
    init_logging(cli.log_format, default_level);
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Probe(args) => probe_node::probe(args),
        Command::Init { config } => report(init::init(&config)),
        Command::Serve {
            config,
            db,
            listen,
            role,
        } => {
            let config_path = config;
            let config = match load_config(&config_path) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let file = Some(config_path.clone());
            report(runtime().and_then(|rt| rt.block_on(serve(config, file, &db, &listen, role))))
        }
        Command::Backup { file, db } => report(
            store::backup(&db, &file)
                .map(|()| println!("wrote a consistent copy of {} to {}", db, file.display()))
                .map_err(anyhow::Error::from),
        ),
        Command::PushToken {
            channel,
            probe,
            config,
            db,
        } => with_config(&config, |config| {
            report(
                runtime()
                    .and_then(|rt| rt.block_on(operator::push_token(config, &db, channel, probe))),
            )
        }),
        Command::Token { what } => operator::token(what),
        Command::Incident { what } => incidents::incident(what),
        Command::Maintenance { what } => incidents::maintenance(what),
        Command::User { what } => users::user(what),
        Command::Report {
            month,
            format,
            out,
            config,
            db,
        } => with_config(&config, |config| {
            history::report_month(&config, &db, &month, format.into(), out.as_deref())
        }),
        Command::Import { what } => import::import(what),
        Command::Store { what } => store_copy::store(what),
        Command::Bench { what } => bench::bench(what),
        Command::BenchUpstream => report(runtime().and_then(|rt| rt.block_on(bench::upstream()))),
        Command::Healthcheck { listen } => {
            report(runtime().and_then(|rt| rt.block_on(healthcheck(&listen))))
        }
    }
}

fn check(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    for channel in &config.channels {
        println!("{}", summary(channel));
    }
    println!(
        "{}: ok, {} channels, {} probes",
        path.display(),
        config.channels.len(),
        config
            .channels
            .iter()
            .map(|c| c.probes.len())
            .sum::<usize>()
    );
    ExitCode::SUCCESS
}

/// One line describing a channel, e.g. `live-chat "Live chat" [Support channels] in
/// commitment: health every 30s timeout 10s (3/2) https://...`.
fn summary(channel: &crate::domain::Channel) -> String {
    let scope = if channel.in_commitment {
        "in commitment"
    } else {
        "outside commitment"
    };
    let probes = if channel.probes.is_empty() {
        "declared only (no probes)".to_owned()
    } else {
        channel
            .probes
            .iter()
            .map(|p| {
                format!(
                    "{} {} timeout {} (fail {}/recover {}) {}",
                    p.name,
                    p.schedule.describe(),
                    humantime::format_duration(p.timeout),
                    p.thresholds.failure,
                    p.thresholds.success,
                    p.target.describe()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "{} \"{}\" [{}] {scope}: {probes}",
        channel.id, channel.name, channel.group
    )
}

/// Runs `f` with the loaded config, or prints why it is invalid and exits 2.
pub(super) fn with_config(path: &Path, f: impl FnOnce(Config) -> ExitCode) -> ExitCode {
    match load_config(path) {
        Ok(config) => f(config),
        Err(code) => code,
    }
}

/// Loads the config or prints why not and returns exit code 2.
fn load_config(path: &Path) -> Result<Config, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

async fn serve(
    config: Config,
    file: crate::app::ConfigFile,
    db: &Database,
    listen: &str,
    roles: crate::app::Roles,
) -> anyhow::Result<()> {
    if matches!(db, Database::Sqlite(_)) && roles != crate::app::Roles::ALL {
        anyhow::bail!(
            "--role {roles} needs a PostgreSQL database shared by several nodes; on a SQLite \
             file one serve does everything (--role all)"
        );
    }
    // Before the store opens: a second serve on this SQLite file is refused before it
    // migrates or probes anything. Held until serve returns. Nodes on one PostgreSQL share
    // it, with the jobs under a lease (`app::jobs`).
    let _single_node = match db {
        Database::Sqlite(path) => Some(store::lock_file::acquire(path)?),
        Database::Postgres(_) => None,
    };
    let store = store::Store::connect(db)?;
    let listener = crate::web::listen(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    crate::run_as(
        roles,
        Arc::new(config),
        file,
        store,
        listener,
        Arc::new(SystemClock),
        shutdown_signal(),
    )
    .await?;
    Ok(())
}

async fn healthcheck(listen: &str) -> anyhow::Result<()> {
    let addr = listen
        .replace("0.0.0.0", "127.0.0.1")
        .replace("[::]", "[::1]");
    let url = format!("http://{addr}/healthz");
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(3))
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "GET {url}: {status} {body}");
    println!("healthy: {body}");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod help_tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every option and argument of every command has help text, and every command that runs
    /// something shows an example: `beacon help` is the manual.
    #[test]
    fn every_option_has_help_and_every_command_an_example() {
        let mut missing = Vec::new();
        walk(&Cli::command(), "beacon", &mut missing);
        assert!(missing.is_empty(), "missing help:\n{}", missing.join("\n"));
    }

    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if arg.is_hide_set() || id == "help" || id == "version" {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path}: option {id} has no help text"));
            }
        }
        let subcommands: Vec<_> = command
            .get_subcommands()
            .filter(|c| !c.is_hide_set() && c.get_name() != "help")
            .collect();
        if subcommands.is_empty() && path != "beacon" {
            let example = command
                .get_after_help()
                .is_some_and(|h| h.to_string().contains("Example"));
            if !example {
                missing.push(format!("{path}: no example"));
            }
        }
        for sub in subcommands {
            if sub.get_about().is_none() {
                missing.push(format!("{path} {}: no description", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
}
