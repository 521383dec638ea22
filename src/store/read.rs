//! Read queries, each on a pooled read-only connection.

use super::sql::{args, Db, Row, Value};
use super::{Result, Store};
use crate::domain::{Observation, Outcome, ProbeKey, State, Thresholds, Timestamp, Transition};
use std::collections::HashMap;

/// Transitions per probe and channel loaded to continue live tracking after a restart.
const RECENT: i64 = 64;

/// What the prober needs to continue where the previous run stopped.
#[derive(Debug, Default)]
pub struct LiveRestore {
    pub probes: HashMap<ProbeKey, ProbeRestore>,
    /// Recent channel transitions, oldest first.
    pub channels: HashMap<String, Vec<Transition>>,
}

/// One probe's saved state.
#[derive(Debug, Default)]
pub struct ProbeRestore {
    /// The serialized state machine after the latest observation.
    pub checkpoint: Option<String>,
    /// Recent transitions, oldest first (a multi-location probe's: the quorum's).
    pub transitions: Vec<Transition>,
    /// The latest observation from each location.
    pub last_observations: Vec<Observation>,
    /// A multi-location probe's saved part per location.
    pub locations: std::collections::BTreeMap<String, super::LocationRestore>,
}

impl Store {
    /// Loads checkpoints, recent transitions and the latest observation of every active probe.
    pub async fn load_live(&self) -> Result<LiveRestore> {
        self.read(|db: &dyn Db| {
            let mut live = LiveRestore::default();
            let probes = db.query_map(
                "SELECT p.id, p.channel_id, p.name, c.machine
                 FROM probes p LEFT JOIN probe_checkpoints c ON c.probe_id = p.id
                 WHERE p.active = 1",
                args![],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        ProbeKey {
                            channel: r.get(1)?,
                            probe: r.get(2)?,
                        },
                        r.get::<Option<String>>(3)?,
                    ))
                },
            )?;
            for (id, key, checkpoint) in probes {
                let restore = ProbeRestore {
                    checkpoint,
                    transitions: recent_transitions(
                        db,
                        "SELECT at_ms, state FROM probe_transitions WHERE probe_id = ?1
                         ORDER BY at_ms DESC LIMIT ?2",
                        args![id, RECENT],
                    )?,
                    last_observations: latest_observations(db, id, &key)?,
                    locations: super::locations::load_locations(db, id)?,
                };
                live.probes.insert(key, restore);
            }
            let ids = db.query_map("SELECT id FROM channels WHERE active = 1", args![], |r| {
                r.get::<String>(0)
            })?;
            for id in ids {
                let transitions = recent_transitions(
                    db,
                    "SELECT at_ms, state FROM channel_transitions WHERE channel_id = ?1
                     ORDER BY at_ms DESC LIMIT ?2",
                    args![id, RECENT],
                )?;
                live.channels.insert(id, transitions);
            }
            Ok(live)
        })
        .await
    }

    /// A probe's observations with `from <= at < to`, oldest first (locations of one instant
    /// by name).
    pub async fn observations(
        &self,
        probe: ProbeKey,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Observation>> {
        self.read(move |db: &dyn Db| {
            db.query_map(
                "SELECT o.at_ms, o.location, o.outcome, o.status_code, o.response_ms, o.reason,
                        o.interval_ms, o.failure_threshold, o.success_threshold, o.lateness_ms
                 FROM observations o JOIN probes p ON p.id = o.probe_id
                 WHERE p.channel_id = ?1 AND p.name = ?2 AND o.at_ms >= ?3 AND o.at_ms < ?4
                 ORDER BY o.at_ms, o.location",
                args![probe.channel, probe.probe, from.millis(), to.millis()],
                |r| observation_from_row(r, &probe),
            )
        })
        .await
    }

    /// The probe a push token (by its hash) belongs to.
    pub async fn probe_for_push_token(&self, token_hash: String) -> Result<ProbeKey> {
        self.read(move |db: &dyn Db| {
            let r = db.query_one(
                "SELECT p.channel_id, p.name FROM push_tokens t JOIN probes p ON p.id = t.probe_id
                 WHERE t.token_hash = ?1 AND p.active = 1",
                args![token_hash],
            )?;
            Ok(ProbeKey {
                channel: r.get(0)?,
                probe: r.get(1)?,
            })
        })
        .await
    }

    /// A channel's stored transitions with `from <= at < to`, oldest first.
    pub async fn channel_transitions(
        &self,
        channel: String,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Transition>> {
        self.read(move |db: &dyn Db| {
            db.query_map(
                "SELECT at_ms, state FROM channel_transitions
                 WHERE channel_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 ORDER BY at_ms",
                args![channel, from.millis(), to.millis()],
                transition_from_row,
            )
        })
        .await
    }
}

/// The newest transitions a `... ORDER BY at_ms DESC LIMIT n` query returns, oldest first.
fn recent_transitions(db: &dyn Db, sql: &str, args: &[Value]) -> Result<Vec<Transition>> {
    let mut out = db.query_map(sql, args, transition_from_row)?;
    out.reverse();
    Ok(out)
}

/// The latest observation of a probe from each location that made one in its latest day of
/// observations (a location's latest older than that is not worth showing), by location.
fn latest_observations(db: &dyn Db, probe_id: i64, key: &ProbeKey) -> Result<Vec<Observation>> {
    db.query_map(
        "SELECT o.at_ms, o.location, o.outcome, o.status_code, o.response_ms, o.reason,
                o.interval_ms, o.failure_threshold, o.success_threshold, o.lateness_ms
         FROM observations o
         JOIN (SELECT location, max(at_ms) AS at_ms FROM observations
               WHERE probe_id = ?1 AND at_ms >= (SELECT max(at_ms) FROM observations WHERE probe_id = ?1) - 86400000
               GROUP BY location) l
           ON l.location = o.location AND l.at_ms = o.at_ms
         WHERE o.probe_id = ?1
         ORDER BY o.location",
        args![probe_id],
        |r| observation_from_row(r, key),
    )
}

/// A transition from its `(at_ms, state)` columns; an unknown state reads as `Unknown`.
pub(super) fn transition_from_row(r: &Row) -> Result<Transition> {
    let state: String = r.get(1)?;
    Ok(Transition {
        at: Timestamp::from_millis(r.get(0)?),
        state: State::parse(&state).unwrap_or(State::Unknown),
    })
}

fn observation_from_row(r: &Row, key: &ProbeKey) -> Result<Observation> {
    let outcome: String = r.get(2)?;
    let interval: i64 = r.get(6)?;
    Ok(Observation {
        probe: key.clone(),
        at: Timestamp::from_millis(r.get(0)?),
        location: r.get(1)?,
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Down),
        status_code: r.get(3)?,
        response_ms: r.get(4)?,
        reason: r.get(5)?,
        interval_ms: u64::try_from(interval).unwrap_or(1),
        lateness_ms: r.get(9)?,
        thresholds: Thresholds {
            failure: r.get(7)?,
            success: r.get(8)?,
        },
    })
}
