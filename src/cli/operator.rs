//! Operator commands on the database directly: `beacon token ...`, `beacon incident ...`.

use super::{load_config, report, runtime};
use crate::domain::{
    Actor, Clock, Impact, IncidentKind, NewIncident, NewUpdate, SystemClock, UpdateStatus,
};
use crate::store::Store;
use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Create an API token and print it once (only its hash is stored).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "operator", value_parser = ["operator", "admin"])]
        role: String,
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: PathBuf,
    },
    /// List tokens with their last use.
    List {
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: PathBuf,
    },
    /// Revoke a token by name; it stops working at once.
    Revoke {
        name: String,
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum IncidentCommand {
    /// Declare an incident, published at once unless --draft.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "major", value_parser = ["none", "minor", "major", "critical"])]
        impact: String,
        #[arg(long, default_value = "")]
        message: String,
        /// Affected channel as `id=major_outage` (or `group:slug=partial_outage`); repeatable.
        #[arg(long = "channel")]
        channels: Vec<String>,
        #[arg(long)]
        draft: bool,
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: PathBuf,
    },
    /// Post an update (investigating, identified, monitoring, resolved, postmortem).
    Update {
        id: i64,
        #[arg(long)]
        status: String,
        #[arg(long, default_value = "")]
        message: String,
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: PathBuf,
    },
    /// Post a `resolved` update.
    Resolve {
        id: i64,
        #[arg(long, default_value = "This incident has been resolved.")]
        message: String,
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: PathBuf,
    },
    /// List incidents, newest first.
    List {
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: PathBuf,
    },
}

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
pub(super) fn with_store<F, Fut>(db: &Path, f: F) -> ExitCode
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    report(runtime().and_then(|rt| {
        rt.block_on(async {
            let store = Store::open(db)?;
            let result = f(store.clone()).await;
            store.close().await?;
            result
        })
    }))
}

pub(super) fn token(command: TokenCommand) -> ExitCode {
    let now = SystemClock.now();
    match command {
        TokenCommand::Create { name, role, db } => with_store(&db, |store| async move {
            let (token, hash) = crate::probe::new_token()
                .map_err(|_| anyhow::anyhow!("no secure random source"))?;
            store
                .create_token(name.clone(), role.clone(), hash, now, cli_actor())
                .await?;
            println!("{token}");
            eprintln!("token {name:?} ({role}) created; it is shown only this once. Use: Authorization: Bearer TOKEN");
            Ok(())
        }),
        TokenCommand::List { db } => with_store(&db, |store| async move {
            for t in store.tokens().await? {
                println!(
                    "{}\t{}\tcreated {}\tlast used {}\t{}",
                    t.name,
                    t.role,
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

pub(super) fn incident(command: IncidentCommand) -> ExitCode {
    let now = SystemClock.now();
    match command {
        IncidentCommand::Create {
            title,
            impact,
            message,
            channels,
            draft,
            config,
            db,
        } => {
            let config = match load_config(&config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut affected = crate::domain::Affected::new();
            for pair in &channels {
                let Some((key, status)) = pair.split_once('=') else {
                    eprintln!("error: --channel {pair:?}: expected id=status, e.g. live-chat=major_outage");
                    return ExitCode::from(2);
                };
                let known = config.knows_channel_key(key);
                let status = serde_json::from_value(serde_json::Value::String(status.to_owned()));
                match (known, status) {
                    (true, Ok(s)) => {
                        affected.insert(key.to_owned(), s);
                    }
                    (false, _) => {
                        eprintln!("error: --channel {pair:?}: unknown channel or group {key:?}");
                        return ExitCode::from(2);
                    }
                    (_, Err(_)) => {
                        eprintln!("error: --channel {pair:?}: status must be degraded_performance, partial_outage or major_outage");
                        return ExitCode::from(2);
                    }
                }
            }
            let impact =
                serde_json::from_value(serde_json::Value::String(impact)).unwrap_or(Impact::Major);
            with_store(&db, |store| async move {
                store.sync_config(&config).await?;
                let incident = store
                    .create_incident(
                        NewIncident {
                            kind: IncidentKind::Incident,
                            title,
                            impact,
                            service_wide: false,
                            started_at: None,
                            status: UpdateStatus::Investigating,
                            message,
                            affected: Some(affected),
                            publish: !draft,
                            scheduled_for: None,
                            scheduled_until: None,
                            auto_start: false,
                            auto_end: false,
                        },
                        now,
                        cli_actor(),
                    )
                    .await?;
                println!(
                    "incident {} {}",
                    incident.id,
                    incident
                        .published_at
                        .map_or("created as a draft".to_owned(), |p| format!(
                            "published at {p}"
                        ))
                );
                Ok(())
            })
        }
        IncidentCommand::Update {
            id,
            status,
            message,
            db,
        } => post_update(&db, id, &status, message, now),
        IncidentCommand::Resolve { id, message, db } => {
            post_update(&db, id, "resolved", message, now)
        }
        IncidentCommand::List { db } => with_store(&db, |store| async move {
            for i in store.incidents().await? {
                println!(
                    "{}\t{:?}\t{}\t{}\t{}",
                    i.id,
                    i.kind,
                    i.status().map_or("?", |s| s.as_str()),
                    i.published_at
                        .map_or("draft".to_owned(), |p| p.to_rfc3339()),
                    i.title
                );
            }
            Ok(())
        }),
    }
}

fn post_update(
    db: &Path,
    id: i64,
    status: &str,
    message: String,
    now: crate::domain::Timestamp,
) -> ExitCode {
    let Some(status) = UpdateStatus::parse(status).filter(|s| s.fits(IncidentKind::Incident))
    else {
        eprintln!("error: --status {status:?}: expected investigating, identified, monitoring, resolved or postmortem");
        return ExitCode::from(2);
    };
    with_store(db, |store| async move {
        let incident = store
            .add_update(
                id,
                NewUpdate {
                    status,
                    message,
                    affected: None,
                },
                now,
                cli_actor(),
            )
            .await
            .with_context(|| format!("incident {id}"))?;
        println!("incident {} is now {}", incident.id, status.as_str());
        Ok(())
    })
}

/// `beacon import incidents`: exit 2 for a bad file (nothing imported).
pub(super) fn import_incidents(
    file: &Path,
    map: &[String],
    config: &crate::domain::Config,
    db: &Path,
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
        store.sync_config(&config).await?;
        let added = store
            .import_incidents(incidents, SystemClock.now(), cli_actor())
            .await?;
        println!(
            "imported {added} new incidents ({} already present)",
            total - added
        );
        Ok(())
    })
}

/// `beacon import tickets`: exit 2 for a bad file (nothing imported).
pub(super) fn import_tickets(file: &Path, config: &crate::domain::Config, db: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let rows = match crate::ticket::import::parse(&text, config) {
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
        store.sync_config(&config).await?;
        // One transaction for the tickets and their replies: all or nothing.
        let added = store.import_tickets(rows, cli_actor()).await?;
        println!("imported {added} new tickets");
        Ok(())
    })
}

/// `beacon push-token`: creates or rotates a push probe's token and prints it once.
pub(super) async fn push_token(
    config: crate::domain::Config,
    db: &Path,
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
    let store = Store::open(db)?;
    store.sync_config(&config).await?;
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
