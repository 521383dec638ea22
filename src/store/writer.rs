//! The single writer: one thread owns the read-write connection and commits queued writes in
//! batches, one transaction per batch.

use super::bulk::{self, OnConflict};
use super::sql::{self, args, Connection, Db};
use super::{Error, Result};
use crate::domain::{Channel, Observation, ProbeKey, Timestamp, Transition};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Queued writes before producers wait (backpressure instead of unbounded memory).
const QUEUE: usize = 8192;

/// One probe run and everything it changed, committed together.
#[derive(Debug, Clone)]
pub struct ObservationRecord {
    pub observation: Observation,
    /// The probe's state machine after this observation, serialized by the prober.
    pub checkpoint: String,
    /// New transitions of the probe, in time order.
    pub probe_transitions: Vec<Transition>,
    /// Replace the channel's transitions at or after this instant with these.
    pub channel_update: Option<(Timestamp, Vec<Transition>)>,
    /// Where the probe's coverage ends after this observation.
    pub coverage_end: Option<Timestamp>,
    /// A multi-location probe: `checkpoint` is unused (empty), `probe_transitions` empty;
    /// its per-location changes and quorum timeline are here.
    pub located: Option<super::LocatedWrite>,
}

pub(super) enum WriteOp {
    Record(Box<ObservationRecord>),
    SyncConfig {
        channels: Vec<Channel>,
        /// Stamped on channels stored for the first time.
        created_at: Timestamp,
        ack: oneshot::Sender<Result<()>>,
    },
    ChannelTimeline {
        channel: String,
        from: Timestamp,
        transitions: Vec<Transition>,
    },
    /// A multi-location probe's change without an observation (a location went silent).
    Located {
        probe: ProbeKey,
        at: Timestamp,
        write: Box<super::LocatedWrite>,
        channel_update: Option<(Timestamp, Vec<Transition>)>,
    },
    PushToken {
        probe: ProbeKey,
        token_hash: String,
        at: Timestamp,
        ack: oneshot::Sender<Result<()>>,
    },
    /// Imported history: new observations (existing ones are kept as they are) and the
    /// timelines recomputed from them, in one transaction.
    Import {
        batch: Box<ImportBatch>,
        ack: oneshot::Sender<Result<usize>>,
    },
    /// Deletes observations older than the instant (state intervals are kept for ever).
    Prune {
        before: Timestamp,
        ack: oneshot::Sender<Result<usize>>,
    },
    Ping {
        ack: oneshot::Sender<Result<()>>,
    },
    /// A write that runs in its own transaction and answers its caller itself (incidents,
    /// tokens, audit: rare, so they need no batching).
    Job(Job),
    /// The notification outbox (`outbox.rs`).
    Outbox(super::outbox::OutboxOp),
    Shutdown {
        ack: oneshot::Sender<Result<()>>,
    },
}

/// See [`WriteOp::Job`].
pub(super) type Job = Box<dyn FnOnce(&mut dyn Connection) + Send>;

/// History to import: see [`super::Store::import`].
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    pub observations: Vec<Observation>,
    pub probes: Vec<ProbeRecompute>,
    /// Per channel: replace its transitions at or after `from` with these.
    pub channels: Vec<(String, Timestamp, Vec<Transition>)>,
}

/// A probe's timeline recomputed from all its observations.
#[derive(Debug, Clone)]
pub struct ProbeRecompute {
    pub probe: ProbeKey,
    /// Its transitions at or after this instant (its earliest observation) are replaced.
    pub from: Timestamp,
    pub transitions: Vec<Transition>,
    /// The state machine after its latest observation, at `checkpoint_at`; it replaces the
    /// stored checkpoint only if that one is not more recent.
    pub checkpoint: String,
    pub checkpoint_at: Timestamp,
    /// Where its coverage ends after its latest observation.
    pub coverage_end: Option<Timestamp>,
    /// A multi-location probe's per-location timelines and machines (then `checkpoint` is
    /// empty and `transitions` is the quorum's).
    pub locations: Vec<LocationRecompute>,
}

/// One location's recomputed part of a multi-location probe.
#[derive(Debug, Clone)]
pub struct LocationRecompute {
    pub location: String,
    /// Its transitions at or after this instant (its earliest observation) are replaced.
    pub from: Timestamp,
    pub transitions: Vec<Transition>,
    pub checkpoint: String,
    pub checkpoint_at: Timestamp,
}

impl WriteOp {
    /// True for a write that changes a channel's timeline (what the pages show).
    fn changes_a_channel(&self) -> bool {
        match self {
            WriteOp::Record(record) => record.channel_update.is_some(),
            WriteOp::Located { channel_update, .. } => channel_update.is_some(),
            WriteOp::ChannelTimeline { .. }
            | WriteOp::Import { .. }
            | WriteOp::SyncConfig { .. } => true,
            _ => false,
        }
    }

    /// Answers the caller once the batch is committed; `count` is the rows this op changed.
    fn reply(self, result: &std::result::Result<(), String>, count: usize) {
        let ack = match self {
            WriteOp::Record(_)
            | WriteOp::ChannelTimeline { .. }
            | WriteOp::Located { .. }
            | WriteOp::Job(_) => return,
            WriteOp::Outbox(op) => return op.reply(result, count),
            WriteOp::Import { ack, .. } | WriteOp::Prune { ack, .. } => {
                let _ = ack.send(result.clone().map(|()| count).map_err(Error::Write));
                return;
            }
            WriteOp::SyncConfig { ack, .. }
            | WriteOp::PushToken { ack, .. }
            | WriteOp::Ping { ack }
            | WriteOp::Shutdown { ack } => ack,
        };
        let _ = ack.send(result.clone().map_err(Error::Write));
    }
}

pub(super) fn spawn(
    conn: Box<dyn Connection>,
    writable: Arc<AtomicBool>,
) -> Result<mpsc::Sender<WriteOp>> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut writer = Writer {
        conn,
        probe_ids: HashMap::new(),
        writable,
    };
    // The first read runs on the writer's own thread too: a PostgreSQL connection blocks,
    // which it must not do on the async thread that opens the store.
    let (started, start) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("beacon-writer".into())
        .spawn(move || {
            let loaded = writer.reload_probe_ids();
            let ok = loaded.is_ok();
            let _ = started.send(loaded);
            if ok {
                writer.run(rx);
            }
        })
        .map_err(|e| Error::Task(format!("cannot start the writer thread: {e}")))?;
    start
        .recv()
        .map_err(|_| Error::Task("the writer thread stopped at start".into()))??;
    Ok(tx)
}

struct Writer {
    conn: Box<dyn Connection>,
    probe_ids: HashMap<ProbeKey, i64>,
    writable: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<WriteOp>) {
        while let Some(first) = rx.blocking_recv() {
            // Collect a batch; a job ends it (it runs in its own transaction, after the ops
            // queued before it, so order is kept).
            let mut batch = Vec::new();
            let mut job = None;
            let mut next = Some(first);
            while let Some(op) = next.take() {
                match op {
                    WriteOp::Job(j) => {
                        job = Some(j);
                        break;
                    }
                    other => batch.push(other),
                }
                if batch.len() >= MAX_BATCH {
                    break;
                }
                next = rx.try_recv().ok();
            }
            if !batch.is_empty() && self.commit_batch(batch, &mut rx) {
                return;
            }
            if let Some(job) = job {
                job(self.conn.as_mut());
            }
        }
    }

    /// Commits one batch and answers its callers; true once the writer must stop.
    fn commit_batch(&mut self, batch: Vec<WriteOp>, rx: &mut mpsc::Receiver<WriteOp>) -> bool {
        let shutdown = batch
            .iter()
            .any(|op| matches!(op, WriteOp::Shutdown { .. }));
        let (result, mut counts) = match self.commit(&batch) {
            Ok(counts) => (Ok(()), counts),
            Err(e) => {
                tracing::error!(error = %e, ops = batch.len(), "write batch failed; retrying one by one");
                self.commit_one_by_one(&batch)
            }
        };
        self.writable.store(result.is_ok(), Ordering::Relaxed);
        let mut result = result.map_err(|e| e.to_string());
        if shutdown {
            rx.close();
            // Writes that raced the shutdown are still committed, then the WAL is folded
            // into the main file so the database is one consistent file at rest.
            let rest: Vec<WriteOp> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
            let mut rest_counts = vec![0; rest.len()];
            if !rest.is_empty() {
                let (rest_result, c) = self.commit_one_by_one(&rest);
                rest_counts = c;
                if let Err(e) = rest_result {
                    result = Err(e.to_string());
                }
            }
            if let Err(e) = self.conn.at_rest() {
                tracing::warn!(error = %e, "final WAL checkpoint failed");
            }
            rest.into_iter()
                .zip(rest_counts)
                .for_each(|(op, n)| op.reply(&result, n));
        }
        counts.resize(batch.len(), 0);
        batch
            .into_iter()
            .zip(counts)
            .for_each(|(op, n)| op.reply(&result, n));
        if shutdown {
            tracing::info!("database writer stopped");
        }
        shutdown
    }

    /// Applies the batch in one transaction; returns the rows each op changed.
    fn commit(&mut self, batch: &[WriteOp]) -> Result<Vec<usize>> {
        let probe_ids = &mut self.probe_ids;
        sql::transaction(self.conn.as_mut(), |db| {
            let mut counts = Vec::with_capacity(batch.len());
            let mut rest = batch;
            while !rest.is_empty() {
                // A run of single-location observation records goes in bulk.
                let run: Vec<&ObservationRecord> = rest
                    .iter()
                    .map_while(|op| match op {
                        WriteOp::Record(r) if r.located.is_none() => Some(&**r),
                        _ => None,
                    })
                    .collect();
                if run.is_empty() {
                    counts.push(apply(db, probe_ids, &rest[0])?);
                    rest = &rest[1..];
                } else {
                    bulk::record_run(db, probe_ids, &run)?;
                    counts.extend(std::iter::repeat_n(1, run.len()));
                    rest = &rest[run.len()..];
                }
            }
            // A channel's state changed: the other nodes' pages show it.
            if batch.iter().any(WriteOp::changes_a_channel) {
                super::postgres::changes::notify(db)?;
            }
            Ok(counts)
        })
    }

    /// After a failed batch: commit each operation on its own so one bad write loses only
    /// itself. Returns the last error, if any.
    fn commit_one_by_one(&mut self, batch: &[WriteOp]) -> (Result<()>, Vec<usize>) {
        if let Err(e) = self.reload_probe_ids() {
            return (Err(e), vec![0; batch.len()]);
        }
        let mut outcome = Ok(());
        let mut counts = Vec::with_capacity(batch.len());
        for op in batch {
            match self.commit(std::slice::from_ref(op)) {
                Ok(c) => counts.push(c.first().copied().unwrap_or(0)),
                Err(e) => {
                    tracing::error!(error = %e, "write dropped");
                    counts.push(0);
                    outcome = Err(e);
                }
            }
        }
        (outcome, counts)
    }

    fn reload_probe_ids(&mut self) -> Result<()> {
        self.probe_ids = sql::transaction(self.conn.as_mut(), |db| {
            db.query_map("SELECT id, channel_id, name FROM probes", args![], |r| {
                Ok((
                    ProbeKey {
                        channel: r.get(1)?,
                        probe: r.get(2)?,
                    },
                    r.get(0)?,
                ))
            })
        })?
        .into_iter()
        .collect();
        Ok(())
    }
}

fn apply(tx: &dyn Db, probe_ids: &mut HashMap<ProbeKey, i64>, op: &WriteOp) -> Result<usize> {
    match op {
        WriteOp::Record(record) => match &record.located {
            Some(located) => insert_located(tx, probe_ids, record, located).map(|()| 1),
            None => bulk::record_run(tx, probe_ids, &[record]).map(|()| 1),
        },
        WriteOp::SyncConfig {
            channels,
            created_at,
            ..
        } => sync_config(tx, probe_ids, channels, *created_at).map(|()| 0),
        WriteOp::Import { batch, .. } => import(tx, probe_ids, batch),
        WriteOp::Prune { before, .. } => tx.execute(
            "DELETE FROM observations WHERE at_ms < ?1",
            args![before.millis()],
        ),
        WriteOp::ChannelTimeline {
            channel,
            from,
            transitions,
        } => replace_channel_transitions(tx, channel, *from, transitions).map(|()| 0),
        WriteOp::Located {
            probe,
            at,
            write,
            channel_update,
        } => {
            let probe_id = super::locations::probe_id(probe_ids, probe)?;
            super::locations::write_located(tx, probe_id, *at, write)?;
            if let Some((from, transitions)) = channel_update {
                replace_channel_transitions(tx, &probe.channel, *from, transitions)?;
            }
            Ok(0)
        }
        WriteOp::PushToken {
            probe,
            token_hash,
            at,
            ..
        } => {
            let probe_id = *probe_ids.get(probe).ok_or(Error::NotFound)?;
            tx.execute(
                "INSERT INTO push_tokens (probe_id, token_hash, created_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (probe_id) DO UPDATE SET token_hash = excluded.token_hash,
                     created_ms = excluded.created_ms",
                args![probe_id, token_hash, at.millis()],
            )?;
            Ok(1)
        }
        WriteOp::Outbox(op) => super::outbox::apply(tx, op),
        WriteOp::Ping { .. } | WriteOp::Shutdown { .. } | WriteOp::Job(_) => Ok(0),
    }
}

/// Inserts the observations that are new (same probe, time and location: kept as is), then
/// replaces the recomputed timelines. Returns the number of observations inserted.
fn import(tx: &dyn Db, probe_ids: &HashMap<ProbeKey, i64>, batch: &ImportBatch) -> Result<usize> {
    let rows = batch
        .observations
        .iter()
        .map(|obs| Ok((*probe_ids.get(&obs.probe).ok_or(Error::NotFound)?, obs)))
        .collect::<Result<Vec<_>>>()?;
    let inserted = bulk::insert_observations(tx, &rows, OnConflict::Keep)?;
    for p in &batch.probes {
        let probe_id = *probe_ids.get(&p.probe).ok_or(Error::NotFound)?;
        super::locations::replace_probe_transitions(tx, probe_id, p.from, &p.transitions)?;
        super::locations::import_recompute(tx, probe_id, p)?;
    }
    for (channel, from, transitions) in &batch.channels {
        replace_channel_transitions(tx, channel, *from, transitions)?;
    }
    Ok(inserted)
}

/// A multi-location probe's record (its single-location siblings go through
/// `bulk::record_run`).
fn insert_located(
    tx: &dyn Db,
    probe_ids: &HashMap<ProbeKey, i64>,
    record: &ObservationRecord,
    located: &super::LocatedWrite,
) -> Result<()> {
    let obs = &record.observation;
    let probe_id = *probe_ids.get(&obs.probe).ok_or(Error::NotFound)?;
    bulk::insert_observations(tx, &[(probe_id, obs)], OnConflict::Replace)?;
    super::locations::write_located(tx, probe_id, obs.at, located)?;
    super::locations::upsert_probe_transitions(tx, probe_id, &record.probe_transitions)?;
    if let Some((from, transitions)) = &record.channel_update {
        replace_channel_transitions(tx, &obs.probe.channel, *from, transitions)?;
    }
    Ok(())
}

/// Drops a channel's transitions at or after `from` and appends `transitions`.
pub(super) fn replace_channel_transitions(
    tx: &dyn Db,
    channel: &str,
    from: Timestamp,
    transitions: &[Transition],
) -> Result<()> {
    tx.execute(
        "DELETE FROM channel_transitions WHERE channel_id = ?1 AND at_ms >= ?2",
        args![channel, from.millis()],
    )?;
    for t in transitions {
        tx.execute(
            "INSERT INTO channel_transitions (channel_id, at_ms, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel_id, at_ms) DO UPDATE SET state = excluded.state",
            args![channel, t.at.millis(), t.state.as_str()],
        )?;
    }
    Ok(())
}

fn sync_config(
    tx: &dyn Db,
    probe_ids: &mut HashMap<ProbeKey, i64>,
    channels: &[Channel],
    created_at: Timestamp,
) -> Result<()> {
    tx.execute("UPDATE channels SET active = 0", args![])?;
    tx.execute("UPDATE probes SET active = 0", args![])?;
    for (position, ch) in channels.iter().enumerate() {
        tx.execute(
            "INSERT INTO channels (id, name, group_name, in_commitment, position, active, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, group_name = excluded.group_name,
                 in_commitment = excluded.in_commitment, position = excluded.position, active = 1",
            args![
            ch.id,
            ch.name,
            ch.group,
            ch.in_commitment,
                position,
                created_at.millis()
            ],
        )?;
        for probe in &ch.probes {
            let id = tx.insert_id(
                "INSERT INTO probes (channel_id, name, kind, target, active) VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (channel_id, name) DO UPDATE SET kind = excluded.kind,
                     target = excluded.target, active = 1
                 RETURNING id",
                args![ch.id, probe.name, probe.target.kind(), probe.target.describe()],
            )?;
            probe_ids.insert(
                ProbeKey {
                    channel: ch.id.clone(),
                    probe: probe.name.clone(),
                },
                id,
            );
        }
    }
    Ok(())
}
