//! `beacon import observations|tickets|incidents`: history from other tools.

use super::{history, operator, with_config};
use crate::store::Database;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum ImportCommand {
    /// Observations as JSON Lines or CSV (channel, probe, time, outcome, response_time_ms,
    /// status); all or nothing, and re-importing the same file adds nothing twice.
    #[command(after_help = r#"Example:
  echo '{"channel":"live-chat","probe":"health","time":"2026-10-01T00:00:00Z","outcome":"up","response_time_ms":120}' > history.jsonl
  beacon import observations history.jsonl"#)]
    Observations {
        /// JSON Lines (one object per line) or CSV with a header row; times RFC 3339 or Unix ms.
        file: PathBuf,
        /// The configuration file, naming the channels.
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Tickets from a helpdesk export (CSV: external_id, source, severity, channels,
    /// subject, received_at, first_reply_at); all or nothing, idempotent per source and id.
    #[command(after_help = r#"Example:
  printf 'external_id,severity,channels,subject,received_at,first_reply_at\nHD-1042,high,live-chat,Chat does not load,2026-11-02T09:00:00Z,2026-11-02T09:20:00Z\n' > tickets.csv
  beacon import tickets tickets.csv"#)]
    Tickets {
        /// CSV with a header row; severity critical|high|medium|low, times RFC 3339.
        file: PathBuf,
        /// The configuration file, naming the channels.
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Incidents from a Statuspage `incidents.json` and maintenance windows from its
    /// `scheduled-maintenances.json` (v2), keeping their publication and planned times;
    /// all or nothing, and importing twice adds nothing.
    #[command(after_help = r#"Example:
  curl -o incidents.json https://status.example.com/api/v2/incidents.json
  beacon import incidents incidents.json --map "Live Chat=live-chat" --map "Knowledge base=helpdesk-portal""#)]
    Incidents {
        /// Statuspage's `incidents.json` (API v2), as saved from `/api/v2/incidents.json`.
        file: PathBuf,
        /// Statuspage component name to channel id, e.g. --map "Chat=live-chat"; repeatable.
        #[arg(long = "map")]
        map: Vec<String>,
        /// The configuration file, naming the channels.
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
}

/// Runs one import command.
pub(super) fn import(what: ImportCommand) -> ExitCode {
    match what {
        ImportCommand::Observations { file, config, db } => with_config(&config, |config| {
            history::import_observations(&file, &config, &db)
        }),
        ImportCommand::Tickets { file, config, db } => with_config(&config, |config| {
            operator::import_tickets(&file, &config, &db)
        }),
        ImportCommand::Incidents {
            file,
            map,
            config,
            db,
        } => with_config(&config, |config| {
            operator::import_incidents(&file, &map, &config, &db)
        }),
    }
}
