//! `beacon incident create|update|resolve|list` and `beacon maintenance create|list`, on the
//! database directly or through a running Beacon with `--url` and `--token` (see [`remote`]).
//! Both ways produce the operator API's JSON, so the output is the same.

use super::operator::cli_actor;
use super::remote::{finish, Failure, Target};
use crate::domain::{
    Affected, Clock, Config, DeclaredStatus, Impact, IncidentKind, NewIncident, NewUpdate,
    SystemClock, Timestamp, UpdateStatus,
};
use crate::store::Database;
use crate::store::Store;
use crate::web::IncidentView;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum IncidentCommand {
    /// Declare an incident, published at once unless --draft.
    #[command(
        after_help = "Examples (on the database file, then through a running Beacon; TOKEN from `beacon token create`):
  beacon incident create --title \"Chat does not connect\" --channel live-chat=major_outage \\
    --message \"We are looking into it.\"
  beacon incident create --title \"Slow email replies\" --impact minor \\
    --channel email-gateway=degraded_performance --url http://127.0.0.1:8080 --token \"$TOKEN\""
    )]
    Create {
        /// Headline on the status page.
        #[arg(long)]
        title: String,
        /// Overall severity, shown as the incident's colour.
        #[arg(long, default_value = "major", value_parser = ["none", "minor", "major", "critical"])]
        impact: String,
        /// Text of the first update (status investigating); Markdown.
        #[arg(long, default_value = "")]
        message: String,
        /// Affected channel as `id=major_outage` (or `group:slug=partial_outage`); repeatable.
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Keep it off the page until published from the admin or the API.
        #[arg(long)]
        draft: bool,
        /// Checks the channels on the database path (the server checks them with --url).
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        #[command(flatten)]
        target: Target,
    },
    /// Post an update (investigating, identified, monitoring, resolved, postmortem).
    #[command(
        after_help = "Examples (on the database file, then through a running Beacon; TOKEN from `beacon token create`):
  beacon incident update 3 --status identified --message \"A faulty load balancer; replacing it.\"
  beacon incident update 3 --status monitoring --url http://127.0.0.1:8080 --token \"$TOKEN\""
    )]
    Update {
        /// The incident's id, as `beacon incident list` shows it.
        id: i64,
        /// investigating, identified, monitoring, resolved or postmortem.
        #[arg(long)]
        status: String,
        /// The update's text; Markdown.
        #[arg(long, default_value = "")]
        message: String,
        #[command(flatten)]
        target: Target,
    },
    /// Post a `resolved` update.
    #[command(
        after_help = "Examples (on the database file, then through a running Beacon; TOKEN from `beacon token create`):
  beacon incident resolve 3
  beacon incident resolve 3 --message \"Chats connect again.\" --url http://127.0.0.1:8080 --token \"$TOKEN\""
    )]
    Resolve {
        /// The incident's id, as `beacon incident list` shows it.
        id: i64,
        /// The update's text; Markdown.
        #[arg(long, default_value = "This incident has been resolved.")]
        message: String,
        #[command(flatten)]
        target: Target,
    },
    /// List incidents, newest first.
    #[command(
        after_help = "Examples (on the database file, then through a running Beacon; TOKEN from `beacon token create`):
  beacon incident list
  beacon incident list --json --url http://127.0.0.1:8080 --token \"$TOKEN\""
    )]
    List {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum MaintenanceCommand {
    /// Schedule a maintenance window (published at once); it starts and ends by itself
    /// unless --no-auto-start / --no-auto-end.
    #[command(
        after_help = "Examples (on the database file, then through a running Beacon; TOKEN from `beacon token create`):
  beacon maintenance create --title \"Chat server upgrade\" --channel live-chat \\
    --from 2026-12-13T02:00:00Z --until 2026-12-13T04:00:00Z
  beacon maintenance create --title \"Mail relay move\" --channel group:support-channels \\
    --from 2026-12-20T01:00:00Z --until 2026-12-20T03:00:00Z --url http://127.0.0.1:8080 --token \"$TOKEN\""
    )]
    Create {
        /// Headline on the status page.
        #[arg(long)]
        title: String,
        /// What users will notice; Markdown.
        #[arg(long, default_value = "")]
        message: String,
        /// Affected channel id or `group:slug`; repeatable.
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Start, RFC 3339 (e.g. 2026-11-29T02:00:00Z), from 2000 to 10 years ahead; a start
        /// in the past is accepted but counts only from now, when the window is announced.
        #[arg(long)]
        from: String,
        /// End, RFC 3339, after --from and at most 10 years ahead.
        #[arg(long)]
        until: String,
        /// Stay scheduled at --from until an operator posts `in_progress` (admin or API).
        #[arg(long)]
        no_auto_start: bool,
        /// Stay in progress at --until until an operator posts `completed` (admin or API).
        #[arg(long)]
        no_auto_end: bool,
        /// Checks the channels on the database path (the server checks them with --url).
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        #[command(flatten)]
        target: Target,
    },
    /// List maintenance windows, newest first.
    #[command(
        after_help = "Examples (on the database file, then through a running Beacon; TOKEN from `beacon token create`):
  beacon maintenance list
  beacon maintenance list --json --url http://127.0.0.1:8080 --token \"$TOKEN\""
    )]
    List {
        #[command(flatten)]
        target: Target,
    },
}

pub(super) fn incident(command: IncidentCommand) -> ExitCode {
    match command {
        IncidentCommand::Create {
            title,
            impact,
            message,
            channels,
            draft,
            config,
            target,
        } => {
            let outcome = block(async {
                let pairs = channel_pairs(&channels)?;
                if let Some(remote) = target.remote()? {
                    let body = json!({"title": title, "impact": impact, "message": message,
                                      "channels": pairs, "publish": !draft});
                    return remote
                        .call(Method::POST, "/api/v1/incidents", Some(body))
                        .await;
                }
                let config = load(&config)?;
                let affected = declared(&config, pairs)?;
                let impact = serde_json::from_value(Value::String(impact)).unwrap_or(Impact::Major);
                let new = NewIncident {
                    kind: IncidentKind::Incident,
                    title: non_empty(title, "--title")?,
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
                };
                create(&target.db, &config, new).await
            });
            finish(outcome, target.json, |v| {
                vec![match v["published_at"].as_str() {
                    Some(p) => format!("incident {} published at {p}", text(&v["id"])),
                    None => format!("incident {} created as a draft", text(&v["id"])),
                }]
            })
        }
        IncidentCommand::Update {
            id,
            status,
            message,
            target,
        } => update(id, status, message, &target),
        IncidentCommand::Resolve {
            id,
            message,
            target,
        } => update(id, "resolved".into(), message, &target),
        IncidentCommand::List { target } => list(IncidentKind::Incident, &target),
    }
}

pub(super) fn maintenance(command: MaintenanceCommand) -> ExitCode {
    match command {
        MaintenanceCommand::Create {
            title,
            message,
            channels,
            from,
            until,
            no_auto_start,
            no_auto_end,
            config,
            target,
        } => {
            let outcome = block(async {
                if let Some(remote) = target.remote()? {
                    let body = json!({"title": title, "message": message, "channels": channels,
                                      "scheduled_for": from, "scheduled_until": until,
                                      "auto_start": !no_auto_start, "auto_end": !no_auto_end});
                    return remote
                        .call(Method::POST, "/api/v1/maintenances", Some(body))
                        .await;
                }
                let config = load(&config)?;
                let now = SystemClock.now();
                let (from, until) = (
                    planned_time(&from, "--from", now)?,
                    planned_time(&until, "--until", now)?,
                );
                if until <= from {
                    return Err(Failure::BadInput("--until must be after --from".into()));
                }
                let affected = declared(
                    &config,
                    channels
                        .into_iter()
                        .map(|c| (c, "under_maintenance".to_owned()))
                        .collect(),
                )?;
                let new = NewIncident {
                    kind: IncidentKind::Maintenance,
                    title: non_empty(title, "--title")?,
                    impact: Impact::Maintenance,
                    service_wide: false,
                    started_at: None,
                    status: UpdateStatus::Scheduled,
                    message,
                    affected: Some(affected),
                    publish: true,
                    scheduled_for: Some(from),
                    scheduled_until: Some(until),
                    auto_start: !no_auto_start,
                    auto_end: !no_auto_end,
                };
                create(&target.db, &config, new).await
            });
            finish(outcome, target.json, |v| {
                let scheduled = format!(
                    "maintenance {} scheduled from {} to {}",
                    text(&v["id"]),
                    text(&v["scheduled_for"]),
                    text(&v["scheduled_until"])
                );
                // A window scheduled in the past counts only from its announcement.
                std::iter::once(scheduled)
                    .chain(v["announcement_note"].as_str().map(str::to_owned))
                    .collect()
            })
        }
        MaintenanceCommand::List { target } => list(IncidentKind::Maintenance, &target),
    }
}

fn update(id: i64, status: String, message: String, target: &Target) -> ExitCode {
    let outcome = block(async {
        if let Some(remote) = target.remote()? {
            let body = json!({"status": status, "message": message});
            let path = format!("/api/v1/incidents/{id}/updates");
            return remote.call(Method::POST, &path, Some(body)).await;
        }
        let Some(status) = UpdateStatus::parse(&status).filter(|s| s.fits(IncidentKind::Incident))
        else {
            return Err(Failure::BadInput(format!("--status {status:?}: expected investigating, identified, monitoring, resolved or postmortem")));
        };
        on_store(&target.db, |store| async move {
            let update = NewUpdate {
                status,
                message,
                affected: None,
            };
            let incident = store
                .add_update(id, update, SystemClock.now(), cli_actor())
                .await
                .map_err(|e| Failure::Runtime(anyhow::anyhow!("incident {id}: {e}")))?;
            view(incident)
        })
        .await
    });
    finish(outcome, target.json, |v| {
        vec![format!(
            "incident {} is now {}",
            text(&v["id"]),
            text(&v["status"])
        )]
    })
}

fn list(kind: IncidentKind, target: &Target) -> ExitCode {
    let outcome = block(async {
        if let Some(remote) = target.remote()? {
            let path = match kind {
                IncidentKind::Incident => "/api/v1/incidents",
                IncidentKind::Maintenance => "/api/v1/maintenances",
            };
            return remote.call(Method::GET, path, None).await;
        }
        on_store(&target.db, |store| async move {
            let incidents = store
                .incidents()
                .await?
                .into_iter()
                .filter(|i| i.kind == kind)
                .map(IncidentView::from)
                .collect::<Vec<_>>();
            Ok(json!({"incidents": incidents, "next": null}))
        })
        .await
    });
    finish(outcome, target.json, |v| {
        let rows = v["incidents"].as_array().cloned().unwrap_or_default();
        rows.iter()
            .map(|i| match kind {
                IncidentKind::Incident => format!(
                    "{}\t{}\t{}\t{}",
                    text(&i["id"]),
                    text(&i["status"]),
                    i["published_at"].as_str().unwrap_or("draft"),
                    text(&i["title"])
                ),
                IncidentKind::Maintenance => format!(
                    "{}\t{}\t{} to {}\t{}",
                    text(&i["id"]),
                    text(&i["status"]),
                    text(&i["scheduled_for"]),
                    text(&i["scheduled_until"]),
                    text(&i["title"])
                ),
            })
            .collect()
    })
}

/// Runs a command's future on a fresh runtime.
fn block(future: impl Future<Output = Result<Value, Failure>>) -> Result<Value, Failure> {
    super::runtime()?.block_on(future)
}

/// Runs `f` on the store at `db`, closing it afterwards.
async fn on_store<F, Fut>(db: &Database, f: F) -> Result<Value, Failure>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = Result<Value, Failure>>,
{
    let store = Store::connect(db)?;
    let result = f(store.clone()).await;
    store.close().await?;
    result
}

async fn create(db: &Database, config: &Config, new: NewIncident) -> Result<Value, Failure> {
    let config = config.clone();
    on_store(db, |store| async move {
        store
            .sync_config(
                &config,
                crate::domain::Clock::now(&crate::domain::SystemClock),
            )
            .await?;
        view(
            store
                .create_incident(new, SystemClock.now(), cli_actor())
                .await?,
        )
    })
    .await
}

/// The API's JSON of an incident.
fn view(incident: crate::domain::Incident) -> Result<Value, Failure> {
    serde_json::to_value(IncidentView::from(incident)).map_err(|e| Failure::Runtime(e.into()))
}

fn load(path: &Path) -> Result<Config, Failure> {
    crate::config::load(path).map_err(|e| Failure::BadInput(e.to_string()))
}

/// `--channel key=status` pairs, checked only for their shape (the statuses and keys are
/// checked by [`declared`] or by the server).
fn channel_pairs(pairs: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, status)) => Ok((key.to_owned(), status.to_owned())),
            None => Err(Failure::BadInput(format!(
                "--channel {pair:?}: expected id=status, e.g. live-chat=major_outage"
            ))),
        })
        .collect()
}

/// Checks each key names a channel or group of `config` and each status is a declared one.
fn declared(config: &Config, pairs: BTreeMap<String, String>) -> Result<Affected, Failure> {
    let mut affected = Affected::new();
    for (key, status) in pairs {
        if !config.knows_channel_key(&key) {
            return Err(Failure::BadInput(format!(
                "--channel {key:?}: unknown channel or group"
            )));
        }
        let status: DeclaredStatus = serde_json::from_value(Value::String(status.clone()))
            .map_err(|_| {
                Failure::BadInput(format!(
                    "--channel {key}={status}: status must be degraded_performance, partial_outage or major_outage"
                ))
            })?;
        affected.insert(key, status);
    }
    Ok(affected)
}

fn non_empty(text: String, option: &str) -> Result<String, Failure> {
    if text.trim().is_empty() {
        Err(Failure::BadInput(format!("{option} must not be empty")))
    } else {
        Ok(text)
    }
}

fn time(text: &str, option: &str) -> Result<Timestamp, Failure> {
    Timestamp::parse(text).ok_or_else(|| {
        Failure::BadInput(format!(
            "{option} {text:?} is not an RFC 3339 time (e.g. 2026-11-29T02:00:00Z)"
        ))
    })
}

/// A planned time, bounded as the API bounds it ([`Timestamp::check_planned`]).
fn planned_time(text: &str, option: &str, now: Timestamp) -> Result<Timestamp, Failure> {
    time(text, option)?
        .check_planned(now)
        .map_err(|e| Failure::BadInput(format!("{option} {text:?} {e}")))
}

/// A JSON string or number as plain text (`?` when absent).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "?".to_owned(),
        other => other.to_string(),
    }
}
