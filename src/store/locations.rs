//! Per-location timelines and checkpoints of multi-location probes (migration 008): written
//! with the observation that changed them (or by a silence check), read to continue live
//! tracking, to recompute an import and to show each location's view.

use super::read::transition_from_row;
use super::sql::{args, Db};
use super::{Error, Result, Store};
use crate::domain::{ProbeKey, State, Timestamp, Transition};
use std::collections::{BTreeMap, HashMap};

/// Recent transitions per location loaded to continue live tracking.
const RECENT: i64 = 64;

/// What a multi-location probe's observation (or a silence) changed, for the writer.
#[derive(Debug, Clone, Default)]
pub struct LocatedWrite {
    /// The observing location's state machine after the observation: (location, JSON).
    pub checkpoint: Option<(String, String)>,
    /// Per location: replace its transitions at or after `from` with these.
    pub locations: Vec<(String, Timestamp, Vec<Transition>)>,
    /// The probe's quorum timeline: replace at or after `from` with these.
    pub probe: Option<(Timestamp, Vec<Transition>)>,
    /// Where the probe's coverage ends (fewer than its quorum covered past it).
    pub coverage_end: Option<Timestamp>,
}

/// One location's saved part of a probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationRestore {
    pub checkpoint: Option<String>,
    /// Recent transitions, oldest first.
    pub transitions: Vec<Transition>,
}

/// Keeps a location's machine unless the stored one is more recent (an import of older
/// history never rolls it back).
const UPSERT_LOCATION_CHECKPOINT: &str =
    "INSERT INTO location_checkpoints (probe_id, location, at_ms, machine) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (probe_id, location) DO UPDATE SET at_ms = excluded.at_ms, machine = excluded.machine
     WHERE excluded.at_ms >= location_checkpoints.at_ms";

pub(super) fn write_located(
    tx: &dyn Db,
    probe_id: i64,
    at: Timestamp,
    write: &LocatedWrite,
) -> Result<()> {
    if let Some((location, machine)) = &write.checkpoint {
        tx.execute(
            UPSERT_LOCATION_CHECKPOINT,
            args![probe_id, location, at.millis(), machine],
        )?;
    }
    for (location, from, transitions) in &write.locations {
        replace_location_transitions(tx, probe_id, location, *from, transitions)?;
    }
    if let Some((from, transitions)) = &write.probe {
        replace_probe_transitions(tx, probe_id, *from, transitions)?;
    }
    write_probe_coverage(tx, probe_id, at, "", write.coverage_end)
}

/// Drops a location's transitions of a probe at or after `from` and appends `transitions`.
fn replace_location_transitions(
    tx: &dyn Db,
    probe_id: i64,
    location: &str,
    from: Timestamp,
    transitions: &[Transition],
) -> Result<()> {
    tx.execute(
        "DELETE FROM location_transitions WHERE probe_id = ?1 AND location = ?2 AND at_ms >= ?3",
        args![probe_id, location, from.millis()],
    )?;
    for t in transitions {
        tx.execute(
            "INSERT INTO location_transitions (probe_id, location, at_ms, state)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (probe_id, location, at_ms) DO UPDATE SET state = excluded.state",
            args![probe_id, location, t.at.millis(), t.state.as_str()],
        )?;
    }
    Ok(())
}

/// Drops a probe's transitions at or after `from` and appends `transitions`.
pub(super) fn replace_probe_transitions(
    tx: &dyn Db,
    probe_id: i64,
    from: Timestamp,
    transitions: &[Transition],
) -> Result<()> {
    tx.execute(
        "DELETE FROM probe_transitions WHERE probe_id = ?1 AND at_ms >= ?2",
        args![probe_id, from.millis()],
    )?;
    upsert_probe_transitions(tx, probe_id, transitions)
}

/// Stores a probe's new transitions (one already at the same instant takes the new state).
pub(super) fn upsert_probe_transitions(
    tx: &dyn Db,
    probe_id: i64,
    transitions: &[Transition],
) -> Result<()> {
    for t in transitions {
        tx.execute(
            "INSERT INTO probe_transitions (probe_id, at_ms, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (probe_id, at_ms) DO UPDATE SET state = excluded.state",
            args![probe_id, t.at.millis(), t.state.as_str()],
        )?;
    }
    Ok(())
}

/// The probe's checkpoint row: its machine (empty for a multi-location probe, whose machines
/// are per location) and where its coverage ends. A multi-location probe's silence check
/// moves only the coverage, never back in time.
pub(super) fn write_probe_coverage(
    tx: &dyn Db,
    probe_id: i64,
    at: Timestamp,
    machine: &str,
    coverage_end: Option<Timestamp>,
) -> Result<()> {
    // The later of the two instants, as a CASE: SQLite's scalar max() is GREATEST() on
    // PostgreSQL and neither engine knows the other's.
    tx.execute(
        "INSERT INTO probe_checkpoints (probe_id, at_ms, machine, coverage_end_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (probe_id) DO UPDATE SET
             at_ms = CASE WHEN excluded.at_ms > probe_checkpoints.at_ms
                          THEN excluded.at_ms ELSE probe_checkpoints.at_ms END,
             machine = excluded.machine, coverage_end_ms = excluded.coverage_end_ms",
        args![
            probe_id,
            at.millis(),
            machine,
            coverage_end.map(Timestamp::millis)
        ],
    )?;
    Ok(())
}

/// An import's recomputed probe: its checkpoint and coverage (unless a more recent one is
/// stored) and each location's timeline and machine.
pub(super) fn import_recompute(
    tx: &dyn Db,
    probe_id: i64,
    p: &super::ProbeRecompute,
) -> Result<()> {
    tx.execute(
        "INSERT INTO probe_checkpoints (probe_id, at_ms, machine, coverage_end_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (probe_id) DO UPDATE SET at_ms = excluded.at_ms, machine = excluded.machine,
             coverage_end_ms = excluded.coverage_end_ms
         WHERE excluded.at_ms >= probe_checkpoints.at_ms",
        args![
            probe_id,
            p.checkpoint_at.millis(),
            p.checkpoint,
            p.coverage_end.map(Timestamp::millis)
        ],
    )?;
    for l in &p.locations {
        replace_location_transitions(tx, probe_id, &l.location, l.from, &l.transitions)?;
        tx.execute(
            UPSERT_LOCATION_CHECKPOINT,
            args![probe_id, l.location, l.checkpoint_at.millis(), l.checkpoint],
        )?;
    }
    Ok(())
}

/// Every location's checkpoint and recent transitions of one probe.
pub(super) fn load_locations(
    db: &dyn Db,
    probe_id: i64,
) -> Result<BTreeMap<String, LocationRestore>> {
    let mut out: BTreeMap<String, LocationRestore> = BTreeMap::new();
    for r in db.query(
        "SELECT location, machine FROM location_checkpoints WHERE probe_id = ?1",
        args![probe_id],
    )? {
        out.entry(r.get::<String>(0)?).or_default().checkpoint = Some(r.get(1)?);
    }
    let locations = db.query_map(
        "SELECT DISTINCT location FROM location_transitions WHERE probe_id = ?1",
        args![probe_id],
        |r| r.get::<String>(0),
    )?;
    for location in locations {
        let mut transitions = db.query_map(
            "SELECT at_ms, state FROM location_transitions WHERE probe_id = ?1 AND location = ?2
             ORDER BY at_ms DESC LIMIT ?3",
            args![probe_id, location, RECENT],
            transition_from_row,
        )?;
        transitions.reverse();
        out.entry(location).or_default().transitions = transitions;
    }
    Ok(out)
}

impl Store {
    /// All stored transitions of one probe at one location, oldest first.
    pub async fn location_transitions(
        &self,
        probe: ProbeKey,
        location: String,
    ) -> Result<Vec<Transition>> {
        self.read(move |db: &dyn Db| {
            db.query_map(
                "SELECT t.at_ms, t.state FROM location_transitions t JOIN probes p ON p.id = t.probe_id
                 WHERE p.channel_id = ?1 AND p.name = ?2 AND t.location = ?3 ORDER BY t.at_ms",
                args![probe.channel, probe.probe, location],
                transition_from_row,
            )
        })
        .await
    }

    /// Every location's transitions of every probe relevant to `[from, to)` (the last one
    /// before `from`, then those inside), with each location's checkpoint: what a report
    /// needs to recompute rule 10 itself.
    pub async fn location_histories(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<HashMap<ProbeKey, BTreeMap<String, LocationRestore>>> {
        self.read(move |db: &dyn Db| {
            let mut out: HashMap<ProbeKey, BTreeMap<String, LocationRestore>> = HashMap::new();
            for r in db.query(
                "SELECT p.channel_id, p.name, t.location, t.at_ms, t.state
                 FROM location_transitions t JOIN probes p ON p.id = t.probe_id
                 WHERE t.at_ms < ?2 AND (t.at_ms >= ?1 OR t.at_ms = (
                     SELECT max(b.at_ms) FROM location_transitions b
                     WHERE b.probe_id = t.probe_id AND b.location = t.location AND b.at_ms < ?1))
                 ORDER BY t.probe_id, t.location, t.at_ms",
                args![from.millis(), to.millis()],
            )? {
                let key = ProbeKey {
                    channel: r.get(0)?,
                    probe: r.get(1)?,
                };
                let t = Transition {
                    at: Timestamp::from_millis(r.get(3)?),
                    state: State::parse(&r.get::<String>(4)?).unwrap_or(State::Unknown),
                };
                out.entry(key)
                    .or_default()
                    .entry(r.get::<String>(2)?)
                    .or_default()
                    .transitions
                    .push(t);
            }
            for r in db.query(
                "SELECT p.channel_id, p.name, c.location, c.machine
                 FROM location_checkpoints c JOIN probes p ON p.id = c.probe_id",
                args![],
            )? {
                let key = ProbeKey {
                    channel: r.get(0)?,
                    probe: r.get(1)?,
                };
                out.entry(key)
                    .or_default()
                    .entry(r.get::<String>(2)?)
                    .or_default()
                    .checkpoint = Some(r.get(3)?);
            }
            Ok(out)
        })
        .await
    }
}

/// A location's write for a probe the writer does not know is an error like any other.
pub(super) fn probe_id(ids: &HashMap<ProbeKey, i64>, probe: &ProbeKey) -> Result<i64> {
    ids.get(probe).copied().ok_or(Error::NotFound)
}
