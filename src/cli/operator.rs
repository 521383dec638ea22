//! Operator commands on the database directly: `beacon token ...`, `beacon import incidents|tickets`,
//! `beacon push-token` (incidents and maintenance are in `incidents.rs`).

use super::{report, runtime};
use crate::account::{ScopeError, TokenScope};
use crate::domain::{Actor, Clock, SystemClock};
use crate::store::Database;
use crate::store::Store;
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Create an API token and print it once (only its hash is stored).
    #[command(after_help = "Examples:
  beacon token create --name deploy-bot
  beacon token create --name lead --role admin
A prober token, after declaring its location in probes.toml:
    [[location]]
    id = \"eu-west\"
  beacon token create --name eu --role prober --location eu-west")]
    Create {
        /// Who or what uses the token; the audit log names its writes `token:NAME`.
        #[arg(long)]
        name: String,
        /// `operator`: incidents, maintenance, tickets; `admin`: also accounts, tokens, imports;
        /// `prober`: a prober node's probes and observations for one location, nothing else.
        #[arg(long, default_value = "operator", value_parser = ["operator", "admin", "prober"])]
        role: String,
        /// The `[[location]]` a prober token posts for (required with `--role prober`, refused
        /// otherwise); checked against the configuration.
        #[arg(long, required_if_eq("role", "prober"))]
        location: Option<String>,
        /// The configuration file declaring the locations (read for `--role prober` only).
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// List tokens with their last use.
    #[command(after_help = "Example:\n  beacon token list --db beacon.db")]
    List {
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Revoke a token by name; it stops working at once.
    #[command(after_help = "Example:\n  beacon token revoke deploy-bot")]
    Revoke {
        /// The token's name, as `beacon token list` shows it (every active token of that name).
        name: String,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
}

/// Who the audit log names for a command run on the database directly.
pub(super) fn cli_actor() -> Actor {
    Actor {
        who: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
        source: "cli".into(),
    }
}

/// Runs `f` on the store at `db`, closing it afterwards.
pub(super) fn with_store<F, Fut>(db: &Database, f: F) -> ExitCode
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    report(runtime().and_then(|rt| {
        rt.block_on(async {
            let store = Store::connect(db)?;
            let result = f(store.clone()).await;
            store.close().await?;
            result
        })
    }))
}

pub(super) fn token(command: TokenCommand) -> ExitCode {
    let now = SystemClock.now();
    match command {
        TokenCommand::Create {
            name,
            role,
            location,
            config,
            db,
        } => {
            let scope = match token_scope_of(&role, location.as_deref(), &config) {
                Ok(scope) => scope,
                Err(code) => return code,
            };
            with_store(&db, |store| async move {
                let (token, hash) = crate::probe::new_token()
                    .map_err(|_| anyhow::anyhow!("no secure random source"))?;
                let what = match scope {
                    TokenScope::Prober { location } => {
                        let what = format!("prober at {location}");
                        store
                            .create_prober_token(name.clone(), location, hash, now, cli_actor())
                            .await?;
                        what
                    }
                    other => {
                        let role = other.role().to_owned();
                        store
                            .create_token(name.clone(), role.clone(), hash, now, cli_actor())
                            .await?;
                        role
                    }
                };
                println!("{token}");
                eprintln!("token {name:?} ({what}) created; it is shown only this once. Use: Authorization: Bearer TOKEN");
                Ok(())
            })
        }
        TokenCommand::List { db } => with_store(&db, |store| async move {
            for t in store.tokens().await? {
                println!(
                    "{}\t{}\tlocation {}\tcreated {}\tlast used {}\t{}",
                    t.name,
                    t.role,
                    t.location.as_deref().unwrap_or("-"),
                    t.created_at,
                    t.last_used_at
                        .map_or("never".to_owned(), |a| a.to_rfc3339()),
                    t.revoked_at
                        .map_or("active".to_owned(), |r| format!("revoked {r}"))
                );
            }
            Ok(())
        }),
        TokenCommand::Revoke { name, db } => with_store(&db, |store| async move {
            store
                .revoke_token(name.clone(), now, cli_actor())
                .await
                .with_context(|| format!("no active token named {name:?}"))?;
            println!("revoked {name}");
            Ok(())
        }),
    }
}

/// The new token's scope, or exit 2 saying why not. The configuration is read only for a
/// prober token (its location must be declared there), so operator tokens need no file.
fn token_scope_of(
    role: &str,
    location: Option<&str>,
    config: &Path,
) -> Result<TokenScope, ExitCode> {
    let refuse = |e: ScopeError| {
        eprintln!("error: --location: {e}");
        ExitCode::from(2)
    };
    let scope = TokenScope::parse(role, location).map_err(refuse)?;
    if let TokenScope::Prober { .. } = scope {
        let config = crate::config::load(config).map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })?;
        scope.check_declared(&config).map_err(refuse)?;
    }
    Ok(scope)
}

/// `beacon import incidents`: exit 2 for a bad file (nothing imported).
pub(super) fn import_incidents(
    file: &Path,
    map: &[String],
    config: &crate::domain::Config,
    db: &Database,
) -> ExitCode {
    let mut names = std::collections::BTreeMap::new();
    for pair in map {
        match pair.split_once('=') {
            Some((name, id)) => {
                names.insert(name.to_owned(), id.to_owned());
            }
            None => {
                eprintln!("error: --map {pair:?}: expected \"Component name=channel-id\"");
                return ExitCode::from(2);
            }
        }
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let incidents = match crate::incident::statuspage::parse(&text, &config.channels, &names) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}\nnothing imported", file.display());
            return ExitCode::from(2);
        }
    };
    let total = incidents.len();
    let config = config.clone();
    with_store(db, |store| async move {
        store
            .sync_config(
                &config,
                crate::domain::Clock::now(&crate::domain::SystemClock),
            )
            .await?;
        let added = store
            .import_incidents(incidents, SystemClock.now(), cli_actor())
            .await?;
        println!(
            "imported {added} new incidents and maintenance windows ({} already present)",
            total - added
        );
        Ok(())
    })
}

/// `beacon import tickets`: exit 2 for a bad file (nothing imported).
pub(super) fn import_tickets(
    file: &Path,
    config: &crate::domain::Config,
    db: &Database,
) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let now = crate::domain::Clock::now(&crate::domain::SystemClock);
    let rows = match crate::ticket::import::parse(&text, config, now) {
        Ok(r) => r,
        Err(errors) => {
            eprintln!(
                "error: {}:\n{}\nnothing imported",
                file.display(),
                errors.join("\n")
            );
            return ExitCode::from(2);
        }
    };
    let config = config.clone();
    with_store(db, |store| async move {
        store
            .sync_config(
                &config,
                crate::domain::Clock::now(&crate::domain::SystemClock),
            )
            .await?;
        // One transaction for the tickets and their replies: all or nothing.
        let added = store.import_tickets(rows, cli_actor()).await?;
        println!("imported {added} new tickets");
        Ok(())
    })
}

/// `beacon push-token`: creates or rotates a push probe's token and prints it once.
pub(super) async fn push_token(
    config: crate::domain::Config,
    db: &Database,
    channel: String,
    probe: String,
) -> anyhow::Result<()> {
    let spec = config
        .channels
        .iter()
        .find(|c| c.id == channel)
        .with_context(|| format!("no channel \"{channel}\" in the configuration"))?
        .probes
        .iter()
        .find(|p| p.name == probe)
        .with_context(|| format!("no probe \"{probe}\" in channel \"{channel}\""))?;
    anyhow::ensure!(
        matches!(spec.target, crate::domain::ProbeTarget::Push { .. }),
        "probe \"{probe}\" of channel \"{channel}\" is a {} probe, not a push probe",
        spec.target.kind()
    );
    let store = Store::connect(db)?;
    store
        .sync_config(
            &config,
            crate::domain::Clock::now(&crate::domain::SystemClock),
        )
        .await?;
    let (token, hash) =
        crate::probe::new_token().map_err(|_| anyhow::anyhow!("no secure random source"))?;
    let key = crate::domain::ProbeKey { channel, probe };
    store
        .set_push_token(key, hash, crate::domain::Clock::now(&SystemClock))
        .await?;
    store.close().await?;
    println!("{token}");
    eprintln!("push with: curl -X POST http://HOST:PORT/api/v1/push/{token} (this token is shown only once; a new one replaces it)");
    Ok(())
}
