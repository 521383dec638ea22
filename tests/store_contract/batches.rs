//! Records queued faster than the writer commits land in one batch, which the writer writes
//! in bulk: what is stored must be exactly what the records applied one by one leave.

use crate::engines::on_each_engine;
use crate::observations::{at, key, obs, record, synced};
use beacon::domain::Outcome;

#[tokio::test]
async fn a_batch_leaves_what_records_one_by_one_would() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let web = key("web", "http");
        let api = key("api", "ping");
        // Queued without waiting for commits: the writer takes them as one batch (or a few).
        let mut queued = Vec::new();
        for i in 0..600_i64 {
            let probe = if i % 2 == 0 { &web } else { &api };
            queued.push(record(
                obs(probe, 10_000 + i * 1_000, "here", Outcome::Up),
                &format!("m{i}"),
            ));
        }
        // The same observation again, now down: the later word wins.
        queued.push(record(obs(&web, 10_000, "here", Outcome::Down), "late"));
        // A late observation, older than the others: its machine replaces the checkpoint, as
        // every record's does.
        queued.push(record(obs(&api, 5_000, "here", Outcome::Up), "older"));
        for r in queued {
            store.record(r).await.expect("queue");
        }
        store.ping().await.expect("commit");

        let stored = store
            .observations(web.clone(), at(0), at(10_000_000))
            .await
            .expect("web");
        assert_eq!(stored.len(), 300);
        assert_eq!(stored[0].outcome, Outcome::Down, "the later record won");
        assert!(stored[1..].iter().all(|o| o.outcome == Outcome::Up));
        let api_rows = store
            .observations(api.clone(), at(0), at(10_000_000))
            .await
            .expect("api");
        assert_eq!(api_rows.len(), 301);
        assert_eq!(api_rows[0].at, at(5_000));

        let live = store.load_live().await.expect("live");
        assert_eq!(live.probes[&web].checkpoint.as_deref(), Some("late"));
        assert_eq!(live.probes[&api].checkpoint.as_deref(), Some("older"));
    })
    .await;
}
