//! The writer's hot path, many rows per statement: a run of observation records (what the
//! prober queues for every probe run) is written as a few multi-row statements instead of two
//! statements per record. On PostgreSQL every statement is a round trip to the server, so
//! this is what lets one writer keep up with thousands of observations a second; SQLite
//! gains too. The result is row for row what the records applied one by one would leave.

use super::sql::{Db, ToValue, Value};
use super::writer::ObservationRecord;
use super::{Error, Result};
use crate::domain::{Observation, ProbeKey, Timestamp};
use std::collections::HashMap;

/// Rows per statement: 256 observations are 2,816 parameters, far below both engines' limits
/// (SQLite 32,766, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 256;

const OBSERVATION_COLUMNS: &str = "INSERT INTO observations (probe_id, at_ms, location, outcome,
    status_code, response_ms, reason, interval_ms, lateness_ms, failure_threshold,
    success_threshold) VALUES ";

/// What to do with an observation already stored for the same probe, time and location.
#[derive(Clone, Copy)]
pub(super) enum OnConflict {
    /// Live writes: the latest word wins.
    Replace,
    /// Imports: what is stored stays, so importing twice adds nothing.
    Keep,
}

impl OnConflict {
    fn clause(self) -> &'static str {
        match self {
            OnConflict::Replace => {
                " ON CONFLICT (probe_id, at_ms, location) DO UPDATE SET outcome = excluded.outcome,
                 status_code = excluded.status_code, response_ms = excluded.response_ms,
                 reason = excluded.reason, interval_ms = excluded.interval_ms,
                 lateness_ms = excluded.lateness_ms,
                 failure_threshold = excluded.failure_threshold,
                 success_threshold = excluded.success_threshold"
            }
            OnConflict::Keep => " ON CONFLICT (probe_id, at_ms, location) DO NOTHING",
        }
    }
}

/// Inserts observations (probe id, observation); returns the rows written. With `Replace`,
/// of several observations with one key the last is written (as one by one would leave it;
/// PostgreSQL refuses to update one row twice in a statement).
pub(super) fn insert_observations(
    tx: &dyn Db,
    rows: &[(i64, &Observation)],
    on_conflict: OnConflict,
) -> Result<usize> {
    let rows = match on_conflict {
        OnConflict::Replace => last_per_key(rows, |(id, o)| (*id, o.at, o.location.clone())),
        OnConflict::Keep => rows.to_vec(),
    };
    let mut written = 0;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|(id, o)| observation_values(*id, o))
            .collect();
        let sql = format!(
            "{OBSERVATION_COLUMNS}{}{}",
            placeholders(chunk.len(), 11),
            on_conflict.clause()
        );
        written += tx.execute(&sql, &values)?;
    }
    Ok(written)
}

/// A run of single-location observation records, in queue order: their observations and
/// checkpoints in bulk, their (rare) state changes one by one in order.
pub(super) fn record_run(
    tx: &dyn Db,
    probe_ids: &HashMap<ProbeKey, i64>,
    records: &[&ObservationRecord],
) -> Result<()> {
    let mut observations = Vec::with_capacity(records.len());
    // Per probe: the latest instant, and the last record's machine and coverage (each
    // record's upsert replaces both and keeps the later instant).
    let mut checkpoints: HashMap<i64, (Timestamp, &str, Option<Timestamp>)> = HashMap::new();
    let mut order = Vec::new();
    for record in records {
        let obs = &record.observation;
        let probe_id = *probe_ids.get(&obs.probe).ok_or(Error::NotFound)?;
        observations.push((probe_id, obs));
        let entry = checkpoints.entry(probe_id).or_insert_with(|| {
            order.push(probe_id);
            (obs.at, "", None)
        });
        *entry = (
            entry.0.max(obs.at),
            record.checkpoint.as_str(),
            record.coverage_end,
        );
        super::locations::upsert_probe_transitions(tx, probe_id, &record.probe_transitions)?;
        if let Some((from, transitions)) = &record.channel_update {
            super::writer::replace_channel_transitions(tx, &obs.probe.channel, *from, transitions)?;
        }
    }
    insert_observations(tx, &observations, OnConflict::Replace)?;
    for chunk in order.chunks(ROWS_PER_STATEMENT) {
        let mut values = Vec::with_capacity(chunk.len() * 4);
        for id in chunk {
            let (at, machine, coverage) = checkpoints[id];
            values.extend([
                id.to_value(),
                at.millis().to_value(),
                machine.to_value(),
                coverage.map(Timestamp::millis).to_value(),
            ]);
        }
        // The later of the two instants, as a CASE: SQLite's scalar max() is GREATEST() on
        // PostgreSQL and neither engine knows the other's.
        let sql = format!(
            "INSERT INTO probe_checkpoints (probe_id, at_ms, machine, coverage_end_ms) VALUES {}
             ON CONFLICT (probe_id) DO UPDATE SET
                 at_ms = CASE WHEN excluded.at_ms > probe_checkpoints.at_ms
                              THEN excluded.at_ms ELSE probe_checkpoints.at_ms END,
                 machine = excluded.machine, coverage_end_ms = excluded.coverage_end_ms",
            placeholders(chunk.len(), 4)
        );
        tx.execute(&sql, &values)?;
    }
    Ok(())
}

fn observation_values(probe_id: i64, obs: &Observation) -> [Value; 11] {
    [
        probe_id.to_value(),
        obs.at.millis().to_value(),
        obs.location.to_value(),
        obs.outcome.as_str().to_value(),
        obs.status_code.to_value(),
        obs.response_ms.to_value(),
        obs.reason.to_value(),
        i64::try_from(obs.interval_ms)
            .unwrap_or(i64::MAX)
            .to_value(),
        obs.lateness_ms.to_value(),
        obs.thresholds.failure.to_value(),
        obs.thresholds.success.to_value(),
    ]
}

/// `(?1, ?2), (?3, ?4)` for `rows` rows of `width` values.
fn placeholders(rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for column in 0..width {
            if column > 0 {
                out.push_str(", ");
            }
            out.push('?');
            out.push_str(&(row * width + column + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// The rows with the last of each key kept, in the order of those last ones.
fn last_per_key<T: Clone, K: std::hash::Hash + Eq>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut last: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        last.insert(key(row), index);
    }
    rows.iter()
        .enumerate()
        .filter(|(index, row)| last.get(&key(row)) == Some(index))
        .map(|(_, row)| row.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value() {
        assert_eq!(placeholders(1, 2), "(?1, ?2)");
        assert_eq!(placeholders(2, 3), "(?1, ?2, ?3), (?4, ?5, ?6)");
        assert_eq!(placeholders(0, 3), "");
    }

    #[test]
    fn the_last_of_each_key_is_kept_in_order() {
        let rows = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)];
        assert_eq!(
            last_per_key(&rows, |(k, _)| *k),
            vec![("a", 3), ("c", 4), ("b", 5)]
        );
        assert!(last_per_key(&[] as &[(u8, u8)], |r| r.0).is_empty());
    }
}
