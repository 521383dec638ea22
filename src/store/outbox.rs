//! The notification outbox (`notify_outbox`): rows written before anything is sent, each
//! webhook's queue read oldest first, every attempt recorded on its row.

use super::sql::{args, Db, Row};
use super::writer::WriteOp;
use super::{Error, Result, Store};
use crate::domain::Timestamp;
use tokio::sync::oneshot;

/// A notification to add to the outbox, already rendered for its webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The webhook's configured name.
    pub webhook: String,
    /// The event's name (`channel_state`, `incident_update`).
    pub event: String,
    /// The exact body to send.
    pub body: String,
    pub created_at: Timestamp,
}

/// A pending notification: the next one a webhook's queue has to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotification {
    /// Unique for ever; sent as `X-Beacon-Delivery`.
    pub id: i64,
    pub webhook: String,
    pub event: String,
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not to be sent before this instant (backoff after a failed attempt).
    pub next_attempt_at: Timestamp,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAttempt {
    /// The receiver answered 2xx.
    Delivered { at: Timestamp },
    /// It failed; try again at `next_at`.
    Retry {
        at: Timestamp,
        error: String,
        next_at: Timestamp,
    },
    /// It failed and was the last attempt allowed.
    Failed { at: Timestamp, error: String },
    /// Given up without an attempt (e.g. its webhook left the configuration).
    Abandoned { reason: String },
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> DeliveryStatus {
        match text {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One outbox row as operators see it (the admin list of recent deliveries and failures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyDelivery {
    pub id: i64,
    pub webhook: String,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The latest failure, kept after a later attempt succeeds.
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// When a pending notification is tried next.
    pub next_attempt_at: Timestamp,
}

/// Outbox writes, committed by the writer thread like every other write.
pub(super) enum OutboxOp {
    Enqueue {
        entries: Vec<OutboxEntry>,
        ack: oneshot::Sender<Result<usize>>,
    },
    Attempt {
        id: i64,
        attempt: DeliveryAttempt,
        ack: oneshot::Sender<Result<()>>,
    },
}

impl OutboxOp {
    /// Answers the caller once the batch is committed.
    pub(super) fn reply(self, result: &std::result::Result<(), String>, count: usize) {
        match self {
            OutboxOp::Enqueue { ack, .. } => {
                let _ = ack.send(result.clone().map(|()| count).map_err(Error::Write));
            }
            OutboxOp::Attempt { ack, .. } => {
                let _ = ack.send(result.clone().map_err(Error::Write));
            }
        }
    }
}

/// Applies one outbox write; returns the rows it changed.
pub(super) fn apply(tx: &dyn Db, op: &OutboxOp) -> Result<usize> {
    match op {
        OutboxOp::Enqueue { entries, .. } => {
            for e in entries {
                tx.execute(
                    "INSERT INTO notify_outbox (webhook, event, body, created_ms, next_attempt_ms)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    args![e.webhook, e.event, e.body, e.created_at.millis()],
                )?;
            }
            Ok(entries.len())
        }
        OutboxOp::Attempt { id, attempt, .. } => match attempt {
            DeliveryAttempt::Delivered { at } => tx.execute(
                "UPDATE notify_outbox SET status = 'delivered', attempts = attempts + 1,
                     last_attempt_ms = ?2, delivered_ms = ?2
                 WHERE id = ?1 AND status = 'pending'",
                args![id, at.millis()],
            ),
            DeliveryAttempt::Retry { at, error, next_at } => tx.execute(
                "UPDATE notify_outbox SET attempts = attempts + 1, last_attempt_ms = ?2,
                     last_error = ?3, next_attempt_ms = ?4
                 WHERE id = ?1 AND status = 'pending'",
                args![id, at.millis(), error, next_at.millis()],
            ),
            DeliveryAttempt::Failed { at, error } => tx.execute(
                "UPDATE notify_outbox SET status = 'failed', attempts = attempts + 1,
                     last_attempt_ms = ?2, last_error = ?3
                 WHERE id = ?1 AND status = 'pending'",
                args![id, at.millis(), error],
            ),
            DeliveryAttempt::Abandoned { reason } => tx.execute(
                "UPDATE notify_outbox SET status = 'failed', last_error = ?2
                 WHERE id = ?1 AND status = 'pending'",
                args![id, reason],
            ),
        },
    }
}

impl Store {
    /// Adds notifications to the outbox; returns once they are committed (durable), with how
    /// many were added.
    pub async fn enqueue_notifications(&self, entries: Vec<OutboxEntry>) -> Result<usize> {
        if entries.is_empty() {
            return Ok(0);
        }
        self.request(|ack| WriteOp::Outbox(OutboxOp::Enqueue { entries, ack }))
            .await?
    }

    /// Records how an attempt to send notification `id` ended; returns once committed.
    pub async fn record_delivery_attempt(&self, id: i64, attempt: DeliveryAttempt) -> Result<()> {
        self.request(|ack| WriteOp::Outbox(OutboxOp::Attempt { id, attempt, ack }))
            .await?
    }

    /// The webhooks with at least one pending notification, by name. Sorted here rather than
    /// by `ORDER BY`: a PostgreSQL database's collation may order text otherwise than
    /// SQLite's bytewise one.
    pub async fn pending_webhooks(&self) -> Result<Vec<String>> {
        self.read(|db: &dyn Db| {
            let mut webhooks = db.query_map(
                "SELECT DISTINCT webhook FROM notify_outbox WHERE status = 'pending'",
                args![],
                |r| r.get::<String>(0),
            )?;
            webhooks.sort();
            Ok(webhooks)
        })
        .await
    }

    /// The oldest pending notification of `webhook`: each webhook's queue is sent in order,
    /// so a receiver never sees "up" before the "down" it follows.
    pub async fn next_notification(&self, webhook: String) -> Result<Option<PendingNotification>> {
        self.read(move |db: &dyn Db| {
            db.query_opt(
                "SELECT id, webhook, event, body, attempts, next_attempt_ms FROM notify_outbox
                 WHERE status = 'pending' AND webhook = ?1 ORDER BY id LIMIT 1",
                args![webhook],
            )?
            .map(|r| {
                Ok(PendingNotification {
                    id: r.get(0)?,
                    webhook: r.get(1)?,
                    event: r.get(2)?,
                    body: r.get(3)?,
                    attempts: r.get(4)?,
                    next_attempt_at: Timestamp::from_millis(r.get(5)?),
                })
            })
            .transpose()
        })
        .await
    }

    /// Deletes the delivered and failed notifications that ended before `before` (delivered,
    /// or last tried; created if never tried), so the outbox does not grow for ever. Pending
    /// ones are kept whatever their age: they have not been sent yet. Ids are never reused
    /// (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so `X-Beacon-Delivery` stays
    /// unique. Returns how many were deleted.
    pub async fn prune_notifications(&self, before: Timestamp) -> Result<usize> {
        self.job(move |tx: &dyn Db| {
            tx.execute(
                "DELETE FROM notify_outbox
                 WHERE status IN ('delivered', 'failed')
                   AND COALESCE(delivered_ms, last_attempt_ms, created_ms) < ?1",
                args![before.millis()],
            )
        })
        .await
    }

    /// The latest `limit` notifications, newest first, whatever their status.
    pub async fn notify_deliveries(&self, limit: usize) -> Result<Vec<NotifyDelivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |db: &dyn Db| {
            db.query_map(
                "SELECT id, webhook, event, status, attempts, last_error, created_ms, delivered_ms,
                        next_attempt_ms
                 FROM notify_outbox ORDER BY id DESC LIMIT ?1",
                args![limit],
                delivery_from_row,
            )
        })
        .await
    }
}

fn delivery_from_row(r: &Row) -> Result<NotifyDelivery> {
    let status: String = r.get(3)?;
    Ok(NotifyDelivery {
        id: r.get(0)?,
        webhook: r.get(1)?,
        event: r.get(2)?,
        status: DeliveryStatus::parse(&status),
        attempts: r.get(4)?,
        last_error: r.get(5)?,
        created_at: Timestamp::from_millis(r.get(6)?),
        delivered_at: r.get::<Option<i64>>(7)?.map(Timestamp::from_millis),
        next_attempt_at: Timestamp::from_millis(r.get(8)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(webhook: &str, body: &str, at: i64) -> OutboxEntry {
        OutboxEntry {
            webhook: webhook.into(),
            event: "channel_state".into(),
            body: body.into(),
            created_at: Timestamp(at),
        }
    }

    #[tokio::test]
    async fn each_webhook_queue_is_read_in_order_and_attempts_are_recorded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("o.db")).expect("open");
        let added = store
            .enqueue_notifications(vec![
                entry("a", "1", 1000),
                entry("b", "2", 1000),
                entry("a", "3", 1001),
            ])
            .await
            .expect("enqueue");
        assert_eq!(added, 3);
        assert_eq!(store.pending_webhooks().await.expect("read"), ["a", "b"]);

        let head = store.next_notification("a".into()).await.expect("read");
        let head = head.expect("a has a pending row");
        assert_eq!((head.body.as_str(), head.attempts), ("1", 0));
        assert_eq!(head.next_attempt_at, Timestamp(1000));

        let retry = DeliveryAttempt::Retry {
            at: Timestamp(1100),
            error: "HTTP 500".into(),
            next_at: Timestamp(1200),
        };
        store
            .record_delivery_attempt(head.id, retry)
            .await
            .expect("retry");
        let again = store.next_notification("a".into()).await.expect("read");
        let again = again.expect("still pending");
        assert_eq!((again.id, again.attempts), (head.id, 1));
        assert_eq!(again.next_attempt_at, Timestamp(1200));

        let delivered = DeliveryAttempt::Delivered {
            at: Timestamp(1300),
        };
        store
            .record_delivery_attempt(head.id, delivered)
            .await
            .expect("delivered");
        let next = store.next_notification("a".into()).await.expect("read");
        assert_eq!(next.map(|n| n.body), Some("3".to_owned()));

        let b = store.next_notification("b".into()).await.expect("read");
        let b = b.expect("b pending");
        let failed = DeliveryAttempt::Failed {
            at: Timestamp(1400),
            error: "connect: refused".into(),
        };
        store
            .record_delivery_attempt(b.id, failed)
            .await
            .expect("failed");

        let list = store.notify_deliveries(10).await.expect("list");
        type Summary<'a> = (
            &'a str,
            DeliveryStatus,
            u32,
            Option<&'a str>,
            Option<Timestamp>,
        );
        let summary: Vec<Summary<'_>> = list
            .iter()
            .map(|d| {
                (
                    d.webhook.as_str(),
                    d.status,
                    d.attempts,
                    d.last_error.as_deref(),
                    d.delivered_at,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("a", DeliveryStatus::Pending, 0, None, None),
                (
                    "b",
                    DeliveryStatus::Failed,
                    1,
                    Some("connect: refused"),
                    None
                ),
                (
                    "a",
                    DeliveryStatus::Delivered,
                    2,
                    Some("HTTP 500"),
                    Some(Timestamp(1300))
                ),
            ]
        );
        assert_eq!(store.notify_deliveries(1).await.expect("list").len(), 1);
        store.close().await.expect("close");
    }

    #[tokio::test]
    async fn pruning_removes_old_finished_notifications_never_pending_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("o.db")).expect("open");
        store
            .enqueue_notifications(vec![
                entry("a", "old delivered", 1_000),
                entry("b", "old failed", 1_000),
                entry("c", "old pending", 1_000),
                entry("d", "old, delivered late", 1_000),
                entry("e", "old, abandoned untried", 1_000),
            ])
            .await
            .expect("enqueue");
        let ids: Vec<i64> = store
            .notify_deliveries(10)
            .await
            .expect("list")
            .iter()
            .rev()
            .map(|d| d.id)
            .collect();
        let attempts = [
            (
                ids[0],
                DeliveryAttempt::Delivered {
                    at: Timestamp(1_500),
                },
            ),
            (
                ids[1],
                DeliveryAttempt::Failed {
                    at: Timestamp(1_900),
                    error: "HTTP 500".into(),
                },
            ),
            (
                ids[3],
                DeliveryAttempt::Delivered {
                    at: Timestamp(2_000),
                },
            ),
            (
                ids[4],
                DeliveryAttempt::Abandoned {
                    reason: "webhook removed".into(),
                },
            ),
        ];
        for (id, attempt) in attempts {
            store
                .record_delivery_attempt(id, attempt)
                .await
                .expect("attempt");
        }

        assert_eq!(
            store
                .prune_notifications(Timestamp(2_000))
                .await
                .expect("prune"),
            3
        );
        let left: Vec<(String, DeliveryStatus)> = store
            .notify_deliveries(10)
            .await
            .expect("list")
            .into_iter()
            .map(|d| (d.webhook, d.status))
            .collect();
        assert_eq!(
            left,
            [
                ("d".to_owned(), DeliveryStatus::Delivered),
                ("c".to_owned(), DeliveryStatus::Pending),
            ],
            "delivered at the cut-off is kept; pending is kept whatever its age"
        );
        let head = store.next_notification("c".into()).await.expect("read");
        assert_eq!(head.map(|n| n.body), Some("old pending".to_owned()));
        assert_eq!(
            store
                .prune_notifications(Timestamp(i64::MAX))
                .await
                .expect("prune"),
            1
        );
        store.close().await.expect("close");
    }
}
