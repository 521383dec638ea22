//! What the server knows of each prober node, from the batches it posts to
//! `POST /api/v1/observations`: when it was last heard from, its clock offset, its version,
//! its spool, and how far its observations lag. In memory only (a restart forgets it until
//! the nodes post again, within seconds); `/healthz` and the admin read it.
//!
//! A batch refused for its observations (a clock too far ahead, say) still tells when the
//! node was heard from and what its clock says: that is how a node whose every batch is
//! refused for skew shows as `clock_skew` instead of `silent`. Only accepted batches count
//! observations.

use crate::domain::remote::{BatchAccepted, ProberReport};
use crate::domain::{Config, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A node not heard from for this long is reported `silent` (nodes post at least every few
/// seconds, an empty batch being a heartbeat).
pub const SILENT_AFTER_MS: i64 = 60_000;
/// A clock offset beyond this (either way) is reported `clock_skew`: the same 5 s the
/// server allows an observation to lie in its future.
pub const SKEW_LIMIT_MS: i64 = 5_000;

/// The registry: a cloneable handle, one entry per location that has posted.
#[derive(Clone, Default)]
pub struct ProberRegistry(Arc<Mutex<BTreeMap<String, ProberSeen>>>);

/// What the latest batches of one location's node said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProberSeen {
    /// Server time of the latest batch.
    pub last_seen: Timestamp,
    /// Server receipt time minus the node's `sent_at` (positive: the node's clock is behind).
    pub clock_offset_ms: i64,
    pub version: String,
    pub spool_backlog: u64,
    pub spool_dropped: u64,
    /// Observations accepted and replays counted as duplicates, since the server started.
    pub accepted: u64,
    pub duplicates: u64,
    /// The latest `at` of an accepted observation: its age is the node's lag.
    pub latest_observation: Option<Timestamp>,
}

/// How a node is doing, as `/healthz` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProberStatus {
    Ok,
    /// Not heard from for [`SILENT_AFTER_MS`], or never since the server started.
    Silent,
    /// Its clock is more than [`SKEW_LIMIT_MS`] away from the server's.
    ClockSkew,
}

impl ProberRegistry {
    /// Notes a batch from `location`'s node received at `received`, accepted or not.
    pub fn heard(&self, location: &str, report: &ProberReport, received: Timestamp) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = map
            .entry(location.to_owned())
            .or_insert_with(|| ProberSeen {
                last_seen: received,
                clock_offset_ms: 0,
                version: String::new(),
                spool_backlog: 0,
                spool_dropped: 0,
                accepted: 0,
                duplicates: 0,
                latest_observation: None,
            });
        seen.last_seen = received;
        seen.clock_offset_ms = received.millis().saturating_sub(report.sent_at.millis());
        seen.version.clone_from(&report.version);
        seen.spool_backlog = report.spool_backlog;
        seen.spool_dropped = report.spool_dropped;
    }

    /// Counts an accepted batch whose latest observation is `latest` (after [`Self::heard`]).
    pub fn counted(&self, location: &str, answer: BatchAccepted, latest: Option<Timestamp>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(seen) = map.get_mut(location) {
            seen.accepted = seen.accepted.saturating_add(answer.accepted as u64);
            seen.duplicates = seen.duplicates.saturating_add(answer.duplicates as u64);
            seen.latest_observation = seen.latest_observation.max(latest);
        }
    }

    /// Every location heard from, by id.
    pub fn snapshot(&self) -> Vec<(String, ProberSeen)> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(l, s)| (l.clone(), s.clone())).collect()
    }
}

/// A node's status at `now`; silence is reported before skew (an old offset says little).
pub fn status(seen: Option<&ProberSeen>, now: Timestamp) -> ProberStatus {
    match seen {
        None => ProberStatus::Silent,
        Some(s) if now.millis().saturating_sub(s.last_seen.millis()) > SILENT_AFTER_MS => {
            ProberStatus::Silent
        }
        Some(s) if s.clock_offset_ms.saturating_abs() > SKEW_LIMIT_MS => ProberStatus::ClockSkew,
        Some(_) => ProberStatus::Ok,
    }
}

/// One location's node on `/healthz`; the fields a never-heard node cannot have are null.
#[derive(Debug, Serialize)]
pub struct ProberHealth {
    pub location: String,
    pub status: ProberStatus,
    pub last_seen: Option<String>,
    pub age_ms: Option<i64>,
    pub clock_offset_ms: Option<i64>,
    pub version: Option<String>,
    pub spool_backlog: Option<u64>,
    pub spool_dropped: Option<u64>,
    pub observations_accepted: u64,
    pub observations_duplicates: u64,
    pub latest_observation: Option<String>,
    pub lag_ms: Option<i64>,
}

/// Every declared remote location (heard from or not) and every location heard from (a
/// location removed by a reload stays until restart), by id.
pub fn health(registry: &ProberRegistry, config: &Config, now: Timestamp) -> Vec<ProberHealth> {
    let mut seen: BTreeMap<String, Option<ProberSeen>> = crate::account::remote_ids(config)
        .into_iter()
        .map(|id| (id.to_owned(), None))
        .collect();
    for (location, s) in registry.snapshot() {
        seen.insert(location, Some(s));
    }
    seen.into_iter()
        .map(|(location, s)| {
            let status = status(s.as_ref(), now);
            let age = |t: Timestamp| now.millis().saturating_sub(t.millis());
            match s {
                None => ProberHealth {
                    location,
                    status,
                    last_seen: None,
                    age_ms: None,
                    clock_offset_ms: None,
                    version: None,
                    spool_backlog: None,
                    spool_dropped: None,
                    observations_accepted: 0,
                    observations_duplicates: 0,
                    latest_observation: None,
                    lag_ms: None,
                },
                Some(s) => ProberHealth {
                    location,
                    status,
                    last_seen: Some(s.last_seen.to_rfc3339()),
                    age_ms: Some(age(s.last_seen)),
                    clock_offset_ms: Some(s.clock_offset_ms),
                    version: Some(s.version),
                    spool_backlog: Some(s.spool_backlog),
                    spool_dropped: Some(s.spool_dropped),
                    observations_accepted: s.accepted,
                    observations_duplicates: s.duplicates,
                    latest_observation: s.latest_observation.map(Timestamp::to_rfc3339),
                    lag_ms: s.latest_observation.map(age),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sent_at: i64) -> ProberReport {
        ProberReport {
            version: "1.2.3".into(),
            sent_at: Timestamp(sent_at),
            spool_backlog: 4,
            spool_dropped: 1,
        }
    }

    #[test]
    fn status_by_silence_then_skew() {
        let now = Timestamp(1_000_000);
        let seen = |last_seen: i64, offset: i64| ProberSeen {
            last_seen: Timestamp(last_seen),
            clock_offset_ms: offset,
            version: String::new(),
            spool_backlog: 0,
            spool_dropped: 0,
            accepted: 0,
            duplicates: 0,
            latest_observation: None,
        };
        let table = [
            (None, ProberStatus::Silent),
            (Some(seen(1_000_000, 0)), ProberStatus::Ok),
            (Some(seen(1_000_000 - SILENT_AFTER_MS, 0)), ProberStatus::Ok),
            (
                Some(seen(1_000_000 - SILENT_AFTER_MS - 1, 0)),
                ProberStatus::Silent,
            ),
            (Some(seen(1_000_000, SKEW_LIMIT_MS)), ProberStatus::Ok),
            (Some(seen(1_000_000, -SKEW_LIMIT_MS)), ProberStatus::Ok),
            (
                Some(seen(1_000_000, SKEW_LIMIT_MS + 1)),
                ProberStatus::ClockSkew,
            ),
            (
                Some(seen(1_000_000, -SKEW_LIMIT_MS - 1)),
                ProberStatus::ClockSkew,
            ),
            (Some(seen(0, 60_000)), ProberStatus::Silent),
            (Some(seen(0, i64::MIN)), ProberStatus::Silent),
            (Some(seen(1_000_000, i64::MIN)), ProberStatus::ClockSkew),
        ];
        for (seen, expected) in table {
            assert_eq!(status(seen.as_ref(), now), expected, "{seen:?}");
        }
    }

    #[test]
    fn batches_update_the_entry_and_counts_add_up() {
        let registry = ProberRegistry::default();
        registry.heard("eu", &report(9_000), Timestamp(10_000));
        let answer = |accepted, duplicates| BatchAccepted {
            accepted,
            duplicates,
        };
        registry.counted("eu", answer(3, 0), Some(Timestamp(8_000)));
        registry.heard("eu", &report(20_500), Timestamp(20_000));
        registry.counted("eu", answer(1, 2), Some(Timestamp(7_000)));
        registry.counted("nowhere", answer(5, 5), None);
        let snapshot = registry.snapshot();
        assert_eq!(snapshot.len(), 1, "{snapshot:?}");
        let (location, seen) = &snapshot[0];
        assert_eq!(location, "eu");
        assert_eq!(
            *seen,
            ProberSeen {
                last_seen: Timestamp(20_000),
                clock_offset_ms: -500,
                version: "1.2.3".into(),
                spool_backlog: 4,
                spool_dropped: 1,
                accepted: 4,
                duplicates: 2,
                latest_observation: Some(Timestamp(8_000)),
            }
        );
    }

    #[test]
    fn health_lists_declared_locations_never_heard_from() {
        let text = "[service]\nlocation = \"fra\"\nallow_empty = true\n\
                    [[location]]\nid = \"eu\"\n[[location]]\nid = \"us\"\n";
        let config = crate::config::parse("t.toml", text).expect("valid");
        let registry = ProberRegistry::default();
        registry.heard("us", &report(15_000), Timestamp(10_000));
        registry.counted(
            "us",
            BatchAccepted {
                accepted: 2,
                duplicates: 0,
            },
            Some(Timestamp(9_000)),
        );
        let health = health(&registry, &config, Timestamp(12_000));
        let summary: Vec<_> = health
            .iter()
            .map(|h| {
                (
                    h.location.as_str(),
                    h.status,
                    h.age_ms,
                    h.clock_offset_ms,
                    h.lag_ms,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("eu", ProberStatus::Silent, None, None, None),
                (
                    "us",
                    ProberStatus::Ok,
                    Some(2_000),
                    Some(-5_000),
                    Some(3_000)
                ),
            ]
        );
    }
}
