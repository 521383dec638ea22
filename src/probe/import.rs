//! `beacon import observations`: history from another monitor (JSON Lines or CSV), checked
//! line by line, then imported in one transaction with the timelines recomputed by the same
//! state machine the prober uses.

use crate::config::shortest_interval;
use crate::domain::{Config, Observation, Outcome, ProbeKey, Timestamp, Transition};
use crate::sla::{combine_worst, located_history, ObservationInput, ProbeMachine};
use crate::store::{ImportBatch, LocationRecompute, ProbeRecompute, Store};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Most line errors listed before giving up (the file is rejected at the first anyway).
const MAX_ERRORS: usize = 20;

/// Why an import was refused; nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {}", .errors.join("\n"))]
    Lines { path: String, errors: Vec<String> },
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("{0}")]
    Internal(String),
}

/// One line of the file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    channel: String,
    #[serde(default)]
    probe: Option<ProbeRef>,
    time: TimeField,
    outcome: String,
    #[serde(default)]
    response_time_ms: Option<u32>,
    #[serde(default)]
    status: Option<u16>,
    /// Where it was seen from (default: the server's own location).
    #[serde(default)]
    location: Option<String>,
}

/// A probe by name, or by its index within the channel.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ProbeRef {
    Index(usize),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TimeField {
    Millis(i64),
    Text(String),
}

/// Parses `text` (JSON Lines, or CSV with a header row) against `config`; every bad line is
/// named. `path` only labels messages.
pub fn parse(path: &str, text: &str, config: &Config) -> Result<Vec<Observation>, ImportError> {
    let is_json = text.trim_start().starts_with('{');
    let lines: Vec<(usize, Result<Line, String>)> = if is_json {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                (
                    i + 1,
                    serde_json::from_str::<Line>(l).map_err(|e| e.to_string()),
                )
            })
            .collect()
    } else {
        csv_lines(text)
    };
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (number, line) in lines {
        match line.and_then(|l| observation(l, config)) {
            Ok(obs) => out.push(obs),
            Err(e) if errors.len() < MAX_ERRORS => errors.push(format!("line {number}: {e}")),
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ImportError::Lines {
            path: path.to_owned(),
            errors,
        })
    }
}

/// The CSV columns, all as text (empty optional cells allowed).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    channel: String,
    #[serde(default)]
    probe: Option<String>,
    time: String,
    outcome: String,
    #[serde(default)]
    response_time_ms: Option<u32>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    location: Option<String>,
}

/// CSV with a header row; each record with its line number in the file.
fn csv_lines(text: &str) -> Vec<(usize, Result<Line, String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return vec![(1, Err(format!("header: {e}")))],
    };
    reader
        .records()
        .map(|record| {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    return (
                        e.position().map_or(0, |p| p.line() as usize),
                        Err(e.to_string()),
                    )
                }
            };
            let number = record.position().map_or(0, |p| p.line() as usize);
            let row = record
                .deserialize::<CsvRow>(Some(&headers))
                .map_err(|e| e.to_string());
            (
                number,
                row.map(|r| Line {
                    channel: r.channel,
                    probe: r
                        .probe
                        .filter(|p| !p.is_empty())
                        .map(|p| match p.parse::<usize>() {
                            Ok(i) => ProbeRef::Index(i),
                            Err(_) => ProbeRef::Name(p),
                        }),
                    time: TimeField::Text(r.time),
                    outcome: r.outcome,
                    response_time_ms: r.response_time_ms,
                    status: r.status,
                    location: r.location.filter(|l| !l.is_empty()),
                }),
            )
        })
        .collect()
}

fn observation(line: Line, config: &Config) -> Result<Observation, String> {
    let channel = config
        .channels
        .iter()
        .find(|c| c.id == line.channel)
        .ok_or_else(|| format!("unknown channel {:?}", line.channel))?;
    let spec = match &line.probe {
        None => channel.probes.first(),
        Some(ProbeRef::Index(i)) => channel.probes.get(*i),
        Some(ProbeRef::Name(name)) => channel.probes.iter().find(|p| &p.name == name),
    }
    .ok_or_else(|| match &line.probe {
        None => format!("channel {:?} has no probe", channel.id),
        Some(ProbeRef::Index(i)) => format!("channel {:?} has no probe number {i}", channel.id),
        Some(ProbeRef::Name(n)) => format!("channel {:?} has no probe {n:?}", channel.id),
    })?;
    let at = match &line.time {
        TimeField::Millis(ms) => Timestamp(*ms),
        TimeField::Text(t) => Timestamp::parse(t.trim())
            .ok_or_else(|| format!("time {t:?} is not RFC 3339 or epoch milliseconds"))?,
    };
    let location = line
        .location
        .clone()
        .unwrap_or_else(|| config.service.location.clone());
    if !spec.locations.contains(&location) {
        return Err(format!(
            "location {location:?}: probe {:?} of channel {:?} runs from {}",
            spec.name,
            channel.id,
            spec.locations.join(", ")
        ));
    }
    let outcome = match Outcome::parse(line.outcome.trim()) {
        Some(o @ (Outcome::Up | Outcome::Degraded | Outcome::Down)) => o,
        _ => {
            return Err(format!(
                "outcome {:?} is not up, degraded or down",
                line.outcome
            ))
        }
    };
    Ok(Observation {
        probe: ProbeKey {
            channel: channel.id.clone(),
            probe: spec.name.clone(),
        },
        at,
        outcome,
        status_code: line.status,
        response_ms: line.response_time_ms,
        reason: (outcome == Outcome::Down).then(|| "imported".to_owned()),
        location,
        interval_ms: u64::try_from(shortest_interval(&spec.schedule).as_millis())
            .unwrap_or(u64::MAX),
        lateness_ms: 0,
        thresholds: spec.thresholds,
    })
}

/// A one-location probe's timeline from all its observations.
fn single_recompute(
    probe: ProbeKey,
    observations: &[Observation],
    from: Timestamp,
    checkpoint_at: Timestamp,
) -> Result<ProbeRecompute, ImportError> {
    let mut machine = ProbeMachine::new();
    let transitions: Vec<Transition> = observations
        .iter()
        .flat_map(|o| machine.observe(o.into()))
        .collect();
    Ok(ProbeRecompute {
        probe,
        from,
        transitions,
        checkpoint: serde_json::to_string(&machine)
            .map_err(|e| ImportError::Internal(e.to_string()))?,
        checkpoint_at,
        coverage_end: machine.coverage_end(),
        locations: Vec::new(),
    })
}

/// A multi-location probe's timelines from all its observations, by rule 10 as the recorder
/// derives them live (`sla::located_history`).
fn located_recompute(
    probe: ProbeKey,
    quorum: usize,
    observations: &[Observation],
    from: Timestamp,
    checkpoint_at: Timestamp,
) -> Result<ProbeRecompute, ImportError> {
    let mut by_location: BTreeMap<String, Vec<ObservationInput>> = BTreeMap::new();
    let mut last_at: BTreeMap<String, Timestamp> = BTreeMap::new();
    for o in observations {
        by_location
            .entry(o.location.clone())
            .or_default()
            .push(o.into());
        last_at.insert(o.location.clone(), o.at);
    }
    let history = located_history(&by_location, quorum);
    let mut locations = Vec::new();
    for (location, track) in history.locations {
        let first = by_location
            .get(&location)
            .and_then(|l| l.first())
            .map_or(from, |o| o.at);
        locations.push(LocationRecompute {
            checkpoint: serde_json::to_string(&track.machine)
                .map_err(|e| ImportError::Internal(e.to_string()))?,
            checkpoint_at: last_at.get(&location).copied().unwrap_or(checkpoint_at),
            from: first,
            transitions: track.log,
            location,
        });
    }
    Ok(ProbeRecompute {
        probe,
        from,
        transitions: history.probe,
        checkpoint: String::new(),
        checkpoint_at,
        coverage_end: history.coverage_end,
        locations,
    })
}

/// Imports parsed observations: recomputes each affected probe's timeline from all its
/// observations (stored and new) and each affected channel's from its probes, and writes it
/// all in one transaction. Returns how many observations were new (re-importing adds none).
pub async fn import(
    store: &Store,
    config: &Config,
    new: Vec<Observation>,
) -> Result<usize, ImportError> {
    store
        .sync_config(
            config,
            crate::domain::Clock::now(&crate::domain::SystemClock),
        )
        .await?;
    let mut by_probe: BTreeMap<ProbeKey, Vec<Observation>> = BTreeMap::new();
    for obs in &new {
        by_probe
            .entry(obs.probe.clone())
            .or_default()
            .push(obs.clone());
    }
    let mut recomputed: BTreeMap<ProbeKey, Vec<Transition>> = BTreeMap::new();
    let mut probes = Vec::new();
    let mut channel_from: BTreeMap<String, Timestamp> = BTreeMap::new();
    for (key, mut observations) in by_probe {
        let stored = store
            .observations(key.clone(), Timestamp(i64::MIN), Timestamp(i64::MAX))
            .await?;
        let known: BTreeSet<(i64, String)> = stored
            .iter()
            .map(|o| (o.at.millis(), o.location.clone()))
            .collect();
        observations.retain(|o| !known.contains(&(o.at.millis(), o.location.clone())));
        observations.extend(stored);
        observations.sort_by_key(|o| o.at);
        observations.dedup_by_key(|o| (o.at, o.location.clone()));
        let (Some(first), Some(last)) = (observations.first(), observations.last()) else {
            continue;
        };
        let (from, checkpoint_at) = (first.at, last.at);
        let spec = config
            .channels
            .iter()
            .find(|c| c.id == key.channel)
            .and_then(|c| c.probes.iter().find(|p| p.name == key.probe));
        let recompute = match spec {
            Some(spec) if spec.is_multi_location() => {
                located_recompute(key.clone(), spec.quorum, &observations, from, checkpoint_at)?
            }
            _ => single_recompute(key.clone(), &observations, from, checkpoint_at)?,
        };
        let entry = channel_from.entry(key.channel.clone()).or_insert(from);
        *entry = (*entry).min(from);
        recomputed.insert(key, recompute.transitions.clone());
        probes.push(recompute);
    }
    let mut channels = Vec::new();
    for (channel_id, from) in channel_from {
        let Some(channel) = config.channels.iter().find(|c| c.id == channel_id) else {
            continue;
        };
        let mut logs = Vec::new();
        for spec in &channel.probes {
            let key = ProbeKey {
                channel: channel_id.clone(),
                probe: spec.name.clone(),
            };
            logs.push(match recomputed.get(&key) {
                Some(t) => t.clone(),
                None => store.probe_transitions(key).await?,
            });
        }
        let slices: Vec<&[Transition]> = logs.iter().map(Vec::as_slice).collect();
        let merged = combine_worst(&slices);
        channels.push((
            channel_id,
            from,
            merged.into_iter().filter(|t| t.at >= from).collect(),
        ));
    }
    let inserted = store
        .import(ImportBatch {
            observations: new,
            probes,
            channels,
        })
        .await?;
    Ok(inserted)
}
