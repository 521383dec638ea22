//! The notification outbox: rows written before anything is sent, each webhook's queue read
//! oldest first, every attempt recorded on its row, finished rows pruned after a while and
//! pending ones never.

use crate::engines::on_each_engine;
use crate::observations::at;
use beacon::store::{DeliveryAttempt, DeliveryStatus, NotifyDelivery, OutboxEntry, Store};

fn entry(webhook: &str, body: &str, created: i64) -> OutboxEntry {
    OutboxEntry {
        webhook: webhook.into(),
        event: "channel_state".into(),
        body: body.into(),
        created_at: at(created),
    }
}

/// The outbox's rows oldest first (the store lists them newest first).
async fn rows(store: &Store) -> Vec<NotifyDelivery> {
    let mut rows = store.notify_deliveries(100).await.expect("list");
    rows.reverse();
    rows
}

#[tokio::test]
async fn enqueued_rows_are_pending_and_each_webhook_reads_its_oldest_first() {
    on_each_engine(|store| async move {
        assert_eq!(
            store.enqueue_notifications(Vec::new()).await.expect("none"),
            0
        );
        assert!(store.pending_webhooks().await.expect("empty").is_empty());
        let added = store
            .enqueue_notifications(vec![
                entry("b-hook", "1", 1_000),
                entry("a-hook", "2", 1_001),
                entry("A-hook", "3", 1_002),
                entry("b-hook", "4", 1_003),
            ])
            .await
            .expect("enqueue");
        assert_eq!(added, 4);
        assert_eq!(
            store.pending_webhooks().await.expect("pending"),
            ["A-hook", "a-hook", "b-hook"],
            "by name, bytewise, whatever the database's collation"
        );
        let all = rows(&store).await;
        let ids: Vec<i64> = all.iter().map(|d| d.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
        let first = &all[0];
        assert_eq!(
            (first.status, first.attempts, first.last_error.as_deref()),
            (DeliveryStatus::Pending, 0, None)
        );
        assert_eq!(
            (first.created_at, first.next_attempt_at, first.delivered_at),
            (at(1_000), at(1_000), None),
            "a new row is due at once"
        );

        let head = store
            .next_notification("b-hook".into())
            .await
            .expect("read");
        let head = head.expect("b-hook has a pending row");
        assert_eq!((head.id, head.body.as_str()), (ids[0], "1"));
        assert_eq!(
            (head.webhook.as_str(), head.event.as_str()),
            ("b-hook", "channel_state")
        );
        assert_eq!((head.attempts, head.next_attempt_at), (0, at(1_000)));
        let a = store
            .next_notification("A-hook".into())
            .await
            .expect("read");
        assert_eq!(
            a.map(|n| n.body),
            Some("3".to_owned()),
            "names are case-sensitive"
        );
        let none = store
            .next_notification("c-hook".into())
            .await
            .expect("read");
        assert_eq!(none, None);
    })
    .await;
}

#[tokio::test]
async fn retries_count_attempts_and_move_the_next_one_delivery_keeps_the_row() {
    on_each_engine(|store| async move {
        store
            .enqueue_notifications(vec![entry("w", "1", 1_000), entry("w", "2", 1_001)])
            .await
            .expect("enqueue");
        let head = store
            .next_notification("w".into())
            .await
            .expect("read")
            .expect("head");
        for (tried, next) in [(1_100, 2_100), (2_200, 6_200)] {
            let retry = DeliveryAttempt::Retry {
                at: at(tried),
                error: format!("HTTP 500 at {tried}"),
                next_at: at(next),
            };
            store
                .record_delivery_attempt(head.id, retry)
                .await
                .expect("retry");
        }
        let again = store
            .next_notification("w".into())
            .await
            .expect("read")
            .expect("head");
        assert_eq!(
            (again.id, again.attempts, again.next_attempt_at),
            (head.id, 2, at(6_200)),
            "still the head of its queue, due after its backoff"
        );
        store
            .record_delivery_attempt(head.id, DeliveryAttempt::Delivered { at: at(6_300) })
            .await
            .expect("delivered");
        let next = store
            .next_notification("w".into())
            .await
            .expect("read")
            .expect("next");
        assert_eq!(next.body, "2");

        let late = DeliveryAttempt::Failed {
            at: at(7_000),
            error: "too late".into(),
        };
        store
            .record_delivery_attempt(head.id, late)
            .await
            .expect("an attempt on a finished row changes nothing");
        let delivered = &rows(&store).await[0];
        assert_eq!(
            (delivered.id, delivered.status, delivered.attempts),
            (head.id, DeliveryStatus::Delivered, 3)
        );
        assert_eq!(delivered.last_error.as_deref(), Some("HTTP 500 at 2200"));
        assert_eq!(delivered.delivered_at, Some(at(6_300)));
        assert_eq!(delivered.next_attempt_at, at(6_200));
        store
            .record_delivery_attempt(i64::MAX, DeliveryAttempt::Delivered { at: at(1) })
            .await
            .expect("an unknown id is no error");
    })
    .await;
}

#[tokio::test]
async fn a_failure_or_an_abandon_ends_the_row_and_frees_the_queue() {
    on_each_engine(|store| async move {
        store
            .enqueue_notifications(vec![
                entry("a", "1", 1_000),
                entry("b", "2", 1_000),
                entry("b", "3", 1_000),
            ])
            .await
            .expect("enqueue");
        let a = store
            .next_notification("a".into())
            .await
            .expect("read")
            .expect("a");
        let failed = DeliveryAttempt::Failed {
            at: at(1_500),
            error: "connect: refused".into(),
        };
        store
            .record_delivery_attempt(a.id, failed)
            .await
            .expect("failed");
        let b = store
            .next_notification("b".into())
            .await
            .expect("read")
            .expect("b");
        let abandoned = DeliveryAttempt::Abandoned {
            reason: "webhook removed".into(),
        };
        store
            .record_delivery_attempt(b.id, abandoned)
            .await
            .expect("abandoned");

        assert_eq!(store.pending_webhooks().await.expect("pending"), ["b"]);
        assert_eq!(
            store.next_notification("a".into()).await.expect("read"),
            None
        );
        let b_next = store.next_notification("b".into()).await.expect("read");
        assert_eq!(b_next.map(|n| n.body), Some("3".to_owned()));
        let summary: Vec<(DeliveryStatus, u32, Option<String>)> = rows(&store)
            .await
            .into_iter()
            .map(|d| (d.status, d.attempts, d.last_error))
            .collect();
        assert_eq!(
            summary,
            [
                (DeliveryStatus::Failed, 1, Some("connect: refused".into())),
                (DeliveryStatus::Failed, 0, Some("webhook removed".into())),
                (DeliveryStatus::Pending, 0, None),
            ],
            "an abandon is no attempt"
        );
    })
    .await;
}

#[tokio::test]
async fn deliveries_are_listed_newest_first_up_to_the_limit() {
    on_each_engine(|store| async move {
        assert!(store.notify_deliveries(10).await.expect("empty").is_empty());
        let entries = (0..5)
            .map(|i| entry("w", &i.to_string(), 1_000 + i))
            .collect();
        store.enqueue_notifications(entries).await.expect("enqueue");
        assert!(store.notify_deliveries(0).await.expect("none").is_empty());
        let latest: Vec<i64> = store
            .notify_deliveries(2)
            .await
            .expect("two")
            .iter()
            .map(|d| d.created_at.millis())
            .collect();
        assert_eq!(latest, [1_004, 1_003]);
        assert_eq!(
            store
                .notify_deliveries(usize::MAX)
                .await
                .expect("all")
                .len(),
            5
        );
    })
    .await;
}

#[tokio::test]
async fn pruning_removes_old_finished_rows_never_pending_ones_and_never_reuses_ids() {
    on_each_engine(|store| async move {
        assert_eq!(
            store
                .prune_notifications(at(i64::MAX))
                .await
                .expect("empty"),
            0
        );
        store
            .enqueue_notifications(vec![
                entry("a", "old delivered", 1_000),
                entry("b", "old failed", 1_000),
                entry("c", "old pending", 1_000),
                entry("d", "delivered at the cut-off", 1_000),
                entry("e", "abandoned untried", 1_000),
                entry("f", "retried, then failed late", 1_000),
            ])
            .await
            .expect("enqueue");
        let ids: Vec<i64> = rows(&store).await.iter().map(|d| d.id).collect();
        let attempts = [
            (ids[0], DeliveryAttempt::Delivered { at: at(1_500) }),
            (
                ids[1],
                DeliveryAttempt::Failed {
                    at: at(1_900),
                    error: "HTTP 500".into(),
                },
            ),
            (ids[3], DeliveryAttempt::Delivered { at: at(2_000) }),
            (
                ids[4],
                DeliveryAttempt::Abandoned {
                    reason: "webhook removed".into(),
                },
            ),
            (
                ids[5],
                DeliveryAttempt::Retry {
                    at: at(1_100),
                    error: "HTTP 502".into(),
                    next_at: at(1_200),
                },
            ),
            (
                ids[5],
                DeliveryAttempt::Failed {
                    at: at(3_000),
                    error: "HTTP 502".into(),
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
            store.prune_notifications(at(2_000)).await.expect("prune"),
            3
        );
        let left: Vec<String> = rows(&store).await.into_iter().map(|d| d.webhook).collect();
        assert_eq!(
            left,
            ["c", "d", "f"],
            "ended at or after the cut-off, or pending"
        );
        assert_eq!(
            store.prune_notifications(at(2_000)).await.expect("again"),
            0
        );
        assert_eq!(
            store.prune_notifications(at(i64::MAX)).await.expect("all"),
            2
        );
        let pending = store.next_notification("c".into()).await.expect("read");
        assert_eq!(pending.map(|n| n.body), Some("old pending".to_owned()));

        store
            .enqueue_notifications(vec![entry("g", "after pruning", 5_000)])
            .await
            .expect("enqueue");
        let newest = store.notify_deliveries(1).await.expect("list");
        let max_before = ids.iter().copied().max().unwrap_or_default();
        assert!(newest[0].id > max_before, "{} reuses an id", newest[0].id);
    })
    .await;
}
