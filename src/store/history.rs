//! Read queries for history: channels as recorded, probe timelines over a period.

use super::read::transition_from_row as transition;
use super::sql::{args, Db};
use super::{Result, Store};
use crate::domain::{ProbeKey, Timestamp, Transition};

/// A channel as stored (current configuration or, if inactive, as last configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRecord {
    pub id: String,
    pub name: String,
    pub group: String,
    pub in_commitment: bool,
    /// Still in the configuration.
    pub active: bool,
    /// When it was first stored (for channels stored before migration 007: its first
    /// transition).
    pub created_at: Timestamp,
}

/// One probe's stored timeline over a period, and its state machine checkpoint (which says
/// where its latest observation stops covering).
#[derive(Debug, Clone)]
pub struct ProbeHistory {
    pub probe: ProbeKey,
    /// The last transition before the period, then every one inside it, oldest first.
    pub transitions: Vec<Transition>,
    pub checkpoint: Option<String>,
    /// Where its latest coverage ends, as the recorder stored it (none on rows from before
    /// migration 008: read the checkpoint's machine).
    pub coverage_end: Option<Timestamp>,
}

impl Store {
    /// Every channel ever configured: active ones in configuration order, then the others.
    pub async fn channel_records(&self) -> Result<Vec<ChannelRecord>> {
        self.read(|db: &dyn Db| {
            db.query_map(
                "SELECT id, name, group_name, in_commitment, active, created_at_ms FROM channels
                 ORDER BY active DESC, position, id",
                args![],
                |r| {
                    Ok(ChannelRecord {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        group: r.get(2)?,
                        in_commitment: r.get(3)?,
                        active: r.get(4)?,
                        created_at: Timestamp::from_millis(r.get(5)?),
                    })
                },
            )
        })
        .await
    }

    /// Every probe's transitions relevant to `[from, to)`, with its checkpoint.
    pub async fn probe_histories(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ProbeHistory>> {
        self.read(move |db: &dyn Db| {
            let list = db.query_map(
                "SELECT p.id, p.channel_id, p.name, c.machine, c.coverage_end_ms
                 FROM probes p LEFT JOIN probe_checkpoints c ON c.probe_id = p.id ORDER BY p.id",
                args![],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        ProbeKey {
                            channel: r.get(1)?,
                            probe: r.get(2)?,
                        },
                        r.get::<Option<String>>(3)?,
                        r.get::<Option<i64>>(4)?,
                    ))
                },
            )?;
            let mut out = Vec::with_capacity(list.len());
            for (id, probe, checkpoint, coverage_end) in list {
                let mut transitions = db.query_map(
                    "SELECT at_ms, state FROM probe_transitions WHERE probe_id = ?1 AND at_ms < ?2
                     ORDER BY at_ms DESC LIMIT 1",
                    args![id, from.millis()],
                    transition,
                )?;
                transitions.extend(db.query_map(
                    "SELECT at_ms, state FROM probe_transitions WHERE probe_id = ?1 AND at_ms >= ?2 AND at_ms < ?3
                     ORDER BY at_ms",
                    args![id, from.millis(), to.millis()],
                    transition,
                )?);
                out.push(ProbeHistory {
                    probe,
                    transitions,
                    checkpoint,
                    coverage_end: coverage_end.map(Timestamp::from_millis),
                });
            }
            Ok(out)
        })
        .await
    }

    /// All stored transitions of one probe, oldest first.
    pub async fn probe_transitions(&self, probe: ProbeKey) -> Result<Vec<Transition>> {
        self.read(move |db: &dyn Db| {
            db.query_map(
                "SELECT t.at_ms, t.state FROM probe_transitions t JOIN probes p ON p.id = t.probe_id
                 WHERE p.channel_id = ?1 AND p.name = ?2 ORDER BY t.at_ms",
                args![probe.channel, probe.probe],
                transition,
            )
        })
        .await
    }
}
