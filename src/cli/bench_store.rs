//! `beacon bench store`: the store's ingest rate on either engine, as the prober's recorder
//! drives it: one `ObservationRecord` per observation (the observation, the probe's new
//! checkpoint and coverage, now and then a state change with the channel's timeline), queued
//! without waiting and committed by the writer in batches.

use crate::domain::{Clock, Observation, SystemClock, Timestamp, Transition};
use crate::store::{Database, ObservationRecord, Store};
use std::time::{Duration, Instant};

/// What the ingest benchmark measured.
#[derive(Debug)]
pub struct IngestFigures {
    pub engine: &'static str,
    pub probes: usize,
    pub observations: usize,
    pub elapsed: Duration,
}

impl std::fmt::Display for IngestFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "engine                   {}", self.engine)?;
        writeln!(f, "probes                   {}", self.probes)?;
        writeln!(
            f,
            "observations             {} in {:.2} s",
            self.observations,
            self.elapsed.as_secs_f64()
        )?;
        write!(
            f,
            "ingested                 {:.0} observations/s (committed)",
            self.observations as f64 / self.elapsed.as_secs_f64().max(1e-9)
        )
    }
}

/// Records `observations` spread over `probes` probes into a temporary SQLite file, or into
/// `database` (an empty PostgreSQL database made for it).
pub async fn ingest(
    probes: usize,
    observations: usize,
    database: Option<Database>,
) -> anyhow::Result<IngestFigures> {
    let Some(database) = database else {
        let dir = std::env::temp_dir().join(format!("beacon-bench-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let result = run(probes, observations, Database::Sqlite(dir.join("bench.db"))).await;
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    };
    run(probes, observations, database).await
}

async fn run(
    probes: usize,
    observations: usize,
    database: Database,
) -> anyhow::Result<IngestFigures> {
    let config = super::bench_report::config(probes);
    let store = Store::connect(&database)?;
    store.sync_config(&config, SystemClock.now()).await?;
    let start = Timestamp::parse("2026-11-01T00:00:00Z").unwrap_or(Timestamp(0));
    let timelines: Vec<Vec<Transition>> = config
        .channels
        .iter()
        .enumerate()
        .map(|(i, _)| {
            super::bench_report::year_of_states(i as u64 + 1, start, start.plus_ms(30 * 86_400_000))
        })
        .collect();
    let minutes = observations.div_ceil(probes.max(1));
    let records: Vec<ObservationRecord> = (0..minutes)
        .flat_map(|minute| {
            let at = start.plus_ms(minute as i64 * 60_000);
            config
                .channels
                .iter()
                .zip(&timelines)
                .filter_map(move |(channel, timeline)| {
                    observation(channel, timeline, at).map(|o| record(o, timeline, at))
                })
        })
        .take(observations)
        .collect();
    let count = records.len();
    let started = Instant::now();
    for record in records {
        store.record(record).await?;
    }
    store.ping().await?;
    let elapsed = started.elapsed();
    store.close().await?;
    Ok(IngestFigures {
        engine: if database.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        probes,
        observations: count,
        elapsed,
    })
}

fn observation(
    channel: &crate::domain::Channel,
    timeline: &[Transition],
    at: Timestamp,
) -> Option<Observation> {
    super::bench_report::raw_minutes(channel, timeline, at, at.plus_ms(60_000))
        .into_iter()
        .next()
}

/// What the recorder queues for this observation: the checkpoint always, and the state
/// change when the synthetic timeline changes at this minute.
fn record(observation: Observation, timeline: &[Transition], at: Timestamp) -> ObservationRecord {
    let changes: Vec<Transition> = timeline
        .iter()
        .filter(|t| t.at > at.plus_ms(-60_000) && t.at <= at)
        .copied()
        .collect();
    let channel_update = changes.first().map(|t| (t.at, changes.clone()));
    ObservationRecord {
        checkpoint: format!(
            "{{\"state\":\"{}\",\"run\":1,\"last\":{}}}",
            crate::sla::state_at(timeline, at).as_str(),
            at.millis()
        ),
        probe_transitions: changes,
        channel_update,
        coverage_end: Some(at.plus_ms(120_000)),
        located: None,
        observation,
    }
}
