//! What several nodes on one database need from the store: the jobs lease (who runs the
//! work that must happen once, with its fencing epoch), the queue in which a node without
//! the lease leaves what prober nodes and pushes sent it, and the claim of a notification
//! before it is sent.

use super::postgres::lease::{self, LeaseEvent};
use super::sql::{args, Db, Engine};
use super::{Database, Result, Store};
use crate::domain::Timestamp;
use std::sync::atomic::Ordering;

/// Who holds the jobs lease, as the database says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// Grows by one with each takeover; 0 before any node took it (and always on SQLite).
    pub epoch: i64,
    /// The holder's description (host, process, address), empty before any took it.
    pub holder: String,
    pub since: Timestamp,
}

/// This node's hold on the jobs lease, as a stream of events.
pub struct JobsLease {
    /// On PostgreSQL, the lease thread's events; `None` on SQLite, where this node is the
    /// only serve of the file (its lock file) and so holds the lease from the start.
    events: Option<lease::Contender>,
    granted: bool,
}

impl JobsLease {
    /// Gives the lease up and waits until it is free for another node (PostgreSQL), so a
    /// node restarted at once takes it at its first try instead of a second later.
    pub async fn release(self) {
        if let Some(contender) = self.events {
            if let Err(e) = tokio::task::spawn_blocking(move || contender.release()).await {
                tracing::error!(error = %e, "releasing the jobs lease failed");
            }
        }
    }

    /// The next change: acquired, then lost (and acquired again...). Pends for ever once
    /// there is nothing more to tell (SQLite after the first grant, or a stopped thread).
    pub async fn next(&mut self) -> LeaseEvent {
        match &mut self.events {
            None if !self.granted => {
                self.granted = true;
                LeaseEvent::Acquired { epoch: 0 }
            }
            None => std::future::pending().await,
            Some(contender) => match contender.events.recv().await {
                Some(event) => event,
                None => std::future::pending().await,
            },
        }
    }
}

/// Something a node without the lease received, waiting for the leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedIngest {
    pub id: i64,
    /// `observations` (a prober node's batch) or `push` (a push probe's heartbeat).
    pub kind: String,
    /// The JSON the web layer wrote.
    pub payload: String,
    pub received_at: Timestamp,
}

impl Store {
    /// Starts contending for the jobs lease; `holder` names this node to the others.
    pub fn contend_for_jobs(&self, holder: String) -> JobsLease {
        let events = match &self.database {
            Database::Sqlite(_) => None,
            Database::Postgres(url) => Some(lease::contend(url, holder, self.fence.clone())),
        };
        JobsLease {
            events,
            granted: false,
        }
    }

    /// After this node's jobs stopped: its writes are no longer checked against the lease
    /// (what a web node writes, incidents or sessions, is anyone's to write).
    pub fn unfence(&self) {
        self.fence.store(0, Ordering::Release);
    }

    /// Who holds the jobs lease now (for `/healthz`).
    pub async fn lease_holder(&self) -> Result<LeaseHolder> {
        self.read(|db: &dyn Db| {
            let row = db.query_one(
                "SELECT epoch, holder, since_ms FROM jobs_lease WHERE name = 'jobs'",
                args![],
            )?;
            Ok(LeaseHolder {
                epoch: row.get(0)?,
                holder: row.get(1)?,
                since: Timestamp::from_millis(row.get(2)?),
            })
        })
        .await
    }

    /// Keeps what a node without the lease received (`kind`, its JSON) until the leader
    /// applies it; returns once committed, so the sender may forget it.
    pub async fn queue_ingest(&self, kind: &str, payload: String, now: Timestamp) -> Result<()> {
        let kind = kind.to_owned();
        self.job_telling(
            move |tx: &dyn Db| {
                tx.execute(
                    "INSERT INTO ingest_queue (kind, payload, received_ms) VALUES (?1, ?2, ?3)",
                    args![kind, payload, now.millis()],
                )
                .map(drop)
            },
            false,
        )
        .await
    }

    /// The oldest `limit` queued entries, oldest first.
    pub async fn queued_ingest(&self, limit: usize) -> Result<Vec<QueuedIngest>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |db: &dyn Db| {
            db.query_map(
                "SELECT id, kind, payload, received_ms FROM ingest_queue ORDER BY id LIMIT ?1",
                args![limit],
                |r| {
                    Ok(QueuedIngest {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        payload: r.get(2)?,
                        received_at: Timestamp::from_millis(r.get(3)?),
                    })
                },
            )
        })
        .await
    }

    /// Deletes applied entries (a fenced write: a deposed leader's is refused).
    pub async fn drop_queued_ingest(&self, ids: Vec<i64>) -> Result<usize> {
        self.job_telling(
            move |tx: &dyn Db| {
                let mut deleted = 0;
                for id in ids {
                    deleted += tx.execute("DELETE FROM ingest_queue WHERE id = ?1", args![id])?;
                }
                Ok(deleted)
            },
            false,
        )
        .await
    }

    /// Claims pending notification `id` for sending by this node: false if it is no longer
    /// pending or another node holds its row. The write is fenced, so a deposed leader cannot
    /// claim, and so never sends what the new leader sends; on PostgreSQL the row is taken
    /// `FOR UPDATE SKIP LOCKED`, so two claimers never wait on or both get one row.
    pub async fn claim_notification(&self, id: i64) -> Result<bool> {
        let epoch = self.fence.load(Ordering::Acquire);
        self.job_telling(
            move |tx: &dyn Db| {
                let lock = match tx.engine() {
                    Engine::Postgres => " FOR UPDATE SKIP LOCKED",
                    Engine::Sqlite => "",
                };
                let claimed = tx.execute(
                    &format!(
                        "UPDATE notify_outbox SET claimed_epoch = ?2
                         WHERE id = (SELECT id FROM notify_outbox
                                     WHERE id = ?1 AND status = 'pending'{lock})"
                    ),
                    args![id, epoch],
                )?;
                Ok(claimed == 1)
            },
            false,
        )
        .await
    }
}
