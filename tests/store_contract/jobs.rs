//! Several nodes on one database: the jobs lease with its fence, the ingest queue, and the
//! claim of a notification before it is sent.

use crate::engines::{fresh_postgres, on_each_engine};
use crate::observations::at;
use beacon::store::{LeaseEvent, OutboxEntry, Store};
use std::time::Duration;

fn entry(body: &str) -> OutboxEntry {
    OutboxEntry {
        webhook: "ops".into(),
        event: "channel_state".into(),
        body: body.into(),
        created_at: at(1_000),
    }
}

#[tokio::test]
async fn the_queue_keeps_what_arrives_in_order_until_it_is_applied() {
    on_each_engine(|store| async move {
        assert!(store.queued_ingest(10).await.expect("empty").is_empty());
        for (kind, payload, received) in [("observations", "[1]", 5), ("push", "{}", 6)] {
            store
                .queue_ingest(kind, payload.into(), at(received))
                .await
                .expect("queued");
        }
        store
            .queue_ingest("observations", "[2]".into(), at(7))
            .await
            .expect("queued");
        let queued = store.queued_ingest(2).await.expect("queued");
        let seen: Vec<(&str, &str, i64)> = queued
            .iter()
            .map(|q| (q.kind.as_str(), q.payload.as_str(), q.received_at.millis()))
            .collect();
        assert_eq!(seen, [("observations", "[1]", 5), ("push", "{}", 6)]);
        let ids = queued.iter().map(|q| q.id).collect();
        assert_eq!(store.drop_queued_ingest(ids).await.expect("dropped"), 2);
        let rest = store.queued_ingest(10).await.expect("rest");
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].payload, "[2]");
        // The queue accepts only what the web layer writes.
        assert!(store
            .queue_ingest("anything", "x".into(), at(8))
            .await
            .is_err());
    })
    .await;
}

#[tokio::test]
async fn a_notification_is_claimed_once_while_pending() {
    on_each_engine(|store| async move {
        store
            .enqueue_notifications(vec![entry("1")])
            .await
            .expect("enqueued");
        let row = store
            .next_notification("ops".into())
            .await
            .expect("read")
            .expect("pending");
        assert!(store.claim_notification(row.id).await.expect("claim"));
        store
            .record_delivery_attempt(
                row.id,
                beacon::store::DeliveryAttempt::Delivered { at: at(2_000) },
            )
            .await
            .expect("delivered");
        assert!(
            !store.claim_notification(row.id).await.expect("claim"),
            "a delivered row is not claimed again"
        );
        assert!(!store.claim_notification(row.id + 100).await.expect("claim"));
    })
    .await;
}

#[tokio::test]
async fn on_sqlite_the_lease_is_granted_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join("lease.db")).expect("open");
    let mut lease = store.contend_for_jobs("only".into());
    assert_eq!(lease.next().await, LeaseEvent::Acquired { epoch: 0 });
    assert!(
        tokio::time::timeout(Duration::from_millis(200), lease.next())
            .await
            .is_err(),
        "and never lost"
    );
    assert_eq!(store.lease_holder().await.expect("holder").epoch, 0);
    store.close().await.expect("close");
}

/// Node A holds the lease, loses it without noticing (its lease connection is gone, its
/// fence still set) and node B takes it: every write of A is refused from then on, B's go
/// through; once A has stopped its jobs and unfenced, its (web) writes go through again.
#[tokio::test]
async fn a_deposed_holder_writes_nothing_once_another_node_took_the_lease() {
    let Some(database) = fresh_postgres() else {
        return; // PostgreSQL only: BEACON_PG_URL
    };
    let a = Store::connect(&database).expect("node a");
    let b = Store::connect(&database).expect("node b");
    let mut lease_a = a.contend_for_jobs("node a".into());
    let LeaseEvent::Acquired { epoch: first } = lease_a.next().await else {
        panic!("node a should take the free lease");
    };
    let mut lease_b = b.contend_for_jobs("node b".into());
    assert_eq!(lease_b.next().await, LeaseEvent::Standby);
    a.enqueue_notifications(vec![entry("a, leading")])
        .await
        .expect("the holder writes");
    let holder = b.lease_holder().await.expect("holder");
    assert_eq!((holder.epoch, holder.holder.as_str()), (first, "node a"));

    drop(lease_a);
    let taken = tokio::time::timeout(Duration::from_secs(5), lease_b.next())
        .await
        .expect("node b takes over within a try");
    assert_eq!(taken, LeaseEvent::Acquired { epoch: first + 1 });

    let refused = a.enqueue_notifications(vec![entry("a, deposed")]).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("taken over by another node")),
        "{refused:?}"
    );
    let row = b
        .next_notification("ops".into())
        .await
        .expect("read")
        .expect("pending");
    assert!(
        a.claim_notification(row.id).await.is_err(),
        "a deposed node cannot claim, so it never sends"
    );
    assert!(b.claim_notification(row.id).await.expect("b claims"));
    a.unfence();
    a.enqueue_notifications(vec![entry("a, web only")])
        .await
        .expect("unfenced");
    let rows = b.notify_deliveries(10).await.expect("rows");
    assert_eq!(
        rows.len(),
        2,
        "the leader's row and the unfenced one, not the deposed one: {rows:?}"
    );
    drop(lease_b);
    a.close().await.expect("close a");
    b.close().await.expect("close b");
}

/// Nodes started together on an empty database migrate it once: the first creates the
/// schema under the migration lock, the others find it done.
#[tokio::test]
async fn nodes_started_together_migrate_an_empty_database_once() {
    let Some(database) = fresh_postgres() else {
        return; // PostgreSQL only: BEACON_PG_URL
    };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let database = database.clone();
            std::thread::spawn(move || Store::connect(&database))
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        let store = start.join().expect("thread");
        stores.push(store.unwrap_or_else(|e| panic!("a node failed to start: {e}")));
    }
    let beacon::store::Database::Postgres(url) = &database else {
        unreachable!("fresh_postgres gives a PostgreSQL URL");
    };
    let versions = crate::postgres::query(url, "SELECT version FROM beacon_schema");
    assert_eq!(versions.len(), 1, "one version row: {versions:?}");
    for store in stores {
        store.close().await.expect("close");
    }
}
