//! `beacon probe`: a prober-only node for one location (see `probe::node`).

use crate::domain::SystemClock;
use crate::probe::node::{self, NodeSettings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The arguments of `beacon probe`.
#[derive(Debug, clap::Args)]
pub(super) struct ProbeArgs {
    /// The Beacon server's base URL, which assigns the probes and receives the observations.
    #[arg(long, env = "BEACON_SERVER")]
    server: String,
    /// This node's location id, one of the server's `[[location]]` ids.
    #[arg(long, env = "BEACON_LOCATION")]
    location: String,
    /// A prober token of this location (`beacon token create --role prober --location ID`);
    /// prefer the environment variable, which other users cannot read from the process list.
    #[arg(long, env = "BEACON_TOKEN", hide_env_values = true)]
    token: String,
    /// The spool file (SQLite) of observations not yet sent; default
    /// `beacon-probe-<location>.sqlite` in the current directory. A restart resumes it.
    #[arg(long)]
    spool: Option<PathBuf>,
    /// The spool holds at most what the assigned probes observe in this time (at least 1,000
    /// observations); past it the oldest are dropped, counted and logged.
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    spool_max: Duration,
}

/// Checks the arguments (exit 2 if they are unusable), then runs the node until SIGINT or
/// SIGTERM (exit 0) or a runtime failure such as an unwritable spool (exit 1).
pub(super) fn probe(args: ProbeArgs) -> ExitCode {
    let settings = match settings(args) {
        Ok(s) => s,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    super::report(super::runtime().and_then(|rt| {
        rt.block_on(node::run(
            settings,
            Arc::new(SystemClock),
            super::shutdown_signal(),
        ))
        .map_err(anyhow::Error::from)
    }))
}

fn settings(args: ProbeArgs) -> Result<NodeSettings, String> {
    let server =
        url::Url::parse(&args.server).map_err(|e| format!("--server {}: {e}", args.server))?;
    node::endpoints(&server, &args.location).map_err(|e| format!("--server: {e}"))?;
    check_location(&args.location)?;
    if args.token.trim().is_empty() {
        return Err("--token: empty".into());
    }
    if args.spool_max.is_zero() {
        return Err("--spool-max: must be longer than 0s".into());
    }
    let spool = args
        .spool
        .unwrap_or_else(|| PathBuf::from(format!("beacon-probe-{}.sqlite", args.location)));
    Ok(NodeSettings {
        server,
        location: args.location,
        token: args.token,
        spool,
        spool_max: args.spool_max,
    })
}

/// A location id goes into a URL path and the default spool file name: letters, digits,
/// `-`, `_` and `.` only (as the server's ids are).
fn check_location(location: &str) -> Result<(), String> {
    let fine = !location.is_empty()
        && !location.starts_with('.')
        && location
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if fine {
        Ok(())
    } else {
        Err(format!(
            "--location {location:?}: use the id of a [[location]] of the server (letters, digits, '-', '_', '.')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(server: &str, location: &str, token: &str) -> ProbeArgs {
        ProbeArgs {
            server: server.into(),
            location: location.into(),
            token: token.into(),
            spool: None,
            spool_max: Duration::from_secs(3600),
        }
    }

    #[test]
    fn arguments_are_checked_before_anything_runs() {
        let ok = settings(args("http://127.0.0.1:8080", "eu-west", "t")).expect("valid");
        assert_eq!(ok.spool, PathBuf::from("beacon-probe-eu-west.sqlite"));
        let rows = [
            (args("not a url", "eu", "t"), "--server"),
            (args("ftp://example.com", "eu", "t"), "http:// or https://"),
            (args("http://x", "../etc", "t"), "--location"),
            (args("http://x", "", "t"), "--location"),
            (args("http://x", "eu/west", "t"), "--location"),
            (args("http://x", "eu", " "), "--token"),
            (
                ProbeArgs {
                    spool_max: Duration::ZERO,
                    ..args("http://x", "eu", "t")
                },
                "--spool-max",
            ),
        ];
        for (given, want) in rows {
            let error = settings(given).expect_err("refused");
            assert!(error.contains(want), "{error}");
        }
    }
}
