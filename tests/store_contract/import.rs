//! Imports of history (what is stored is kept, only new observations count) and the
//! retention of raw observations (state intervals are kept for ever).

use crate::engines::on_each_engine;
use crate::observations::{at, key, obs, record, synced, tr};
use beacon::domain::{Outcome, ProbeKey, State};
use beacon::store::{Error, ImportBatch, LocationRecompute, ProbeRecompute};

#[tokio::test]
async fn import_keeps_what_is_stored_and_counts_only_new_observations() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let (http, edge, ping) = (key("web", "http"), key("web", "edge"), key("api", "ping"));
        let mut live = record(obs(&http, 1_000, "", Outcome::Up), "live-1");
        live.probe_transitions = vec![tr(1_000, State::Up)];
        store.record(live).await.expect("record");
        let mut live = record(obs(&http, 2_000, "", Outcome::Up), "live-2");
        live.coverage_end = Some(at(62_000));
        store.record(live).await.expect("record");
        store.ping().await.expect("committed");

        let batch = ImportBatch {
            observations: vec![
                obs(&http, 1_000, "", Outcome::Down),
                obs(&http, 500, "", Outcome::Down),
                obs(&edge, 700, "", Outcome::Up),
            ],
            probes: vec![
                ProbeRecompute {
                    probe: http.clone(),
                    from: at(500),
                    transitions: vec![tr(500, State::Down), tr(1_000, State::Up)],
                    checkpoint: "imported".into(),
                    checkpoint_at: at(1_000),
                    coverage_end: Some(at(61_000)),
                    locations: Vec::new(),
                },
                ProbeRecompute {
                    probe: edge.clone(),
                    from: at(700),
                    transitions: vec![tr(700, State::Up)],
                    checkpoint: "edge-imported".into(),
                    checkpoint_at: at(700),
                    coverage_end: Some(at(60_700)),
                    locations: Vec::new(),
                },
                ProbeRecompute {
                    probe: ping.clone(),
                    from: at(100),
                    transitions: vec![tr(100, State::Down)],
                    checkpoint: String::new(),
                    checkpoint_at: at(100),
                    coverage_end: None,
                    locations: vec![LocationRecompute {
                        location: "eu".into(),
                        from: at(100),
                        transitions: vec![tr(100, State::Down)],
                        checkpoint: "eu-imported".into(),
                        checkpoint_at: at(100),
                    }],
                },
            ],
            channels: vec![("web".into(), at(500), vec![tr(500, State::Down)])],
        };
        assert_eq!(store.import(batch.clone()).await.expect("import"), 2);
        assert_eq!(
            store
                .observations(http.clone(), at(0), at(10_000))
                .await
                .expect("read"),
            [
                obs(&http, 500, "", Outcome::Down),
                obs(&http, 1_000, "", Outcome::Up),
                obs(&http, 2_000, "", Outcome::Up),
            ],
            "the stored observation at 1 000 is kept as it was"
        );
        assert_eq!(
            store.probe_transitions(http.clone()).await.expect("t"),
            [tr(500, State::Down), tr(1_000, State::Up)]
        );
        let histories = store.probe_histories(at(0), at(10_000)).await.expect("h");
        let of = |probe: &ProbeKey| {
            let h = histories.iter().find(|h| &h.probe == probe).expect("probe");
            (h.checkpoint.clone(), h.coverage_end)
        };
        assert_eq!(
            of(&http),
            (Some("live-2".into()), Some(at(62_000))),
            "a more recent stored checkpoint wins over the import's"
        );
        assert_eq!(of(&edge), (Some("edge-imported".into()), Some(at(60_700))));
        assert_eq!(
            store
                .channel_transitions("web".into(), at(0), at(10_000))
                .await
                .expect("c"),
            [tr(500, State::Down)]
        );
        assert_eq!(
            store
                .location_transitions(ping.clone(), "eu".into())
                .await
                .expect("l"),
            [tr(100, State::Down)]
        );
        let restored = store.load_live().await.expect("load");
        let eu = &restored.probes.get(&ping).expect("ping").locations["eu"];
        assert_eq!(eu.checkpoint.as_deref(), Some("eu-imported"));

        assert_eq!(store.import(batch).await.expect("again"), 0, "nothing new");
        assert_eq!(
            store
                .observations(http.clone(), at(0), at(10_000))
                .await
                .expect("read")
                .len(),
            3
        );

        let refused = ImportBatch {
            observations: vec![
                obs(&http, 3_000, "", Outcome::Up),
                obs(&key("web", "nope"), 3_000, "", Outcome::Up),
            ],
            ..ImportBatch::default()
        };
        let err = store.import(refused).await.expect_err("unknown probe");
        assert!(matches!(err, Error::Write(_)), "{err:?}");
        assert_eq!(
            store
                .observations(http.clone(), at(2_500), at(10_000))
                .await
                .expect("read"),
            [],
            "one transaction: nothing of a refused import is stored"
        );
        store.ping().await.expect("writable again");
    })
    .await;
}

#[tokio::test]
async fn prune_observations_deletes_older_ones_and_keeps_every_transition() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let http = key("web", "http");
        for ms in [1_000, 2_000, 3_000] {
            let mut r = record(obs(&http, ms, "", Outcome::Up), "m");
            r.probe_transitions = vec![tr(ms, State::Up)];
            store.record(r).await.expect("record");
        }
        assert_eq!(store.prune_observations(at(2_000)).await.expect("prune"), 1);
        assert_eq!(store.prune_observations(at(2_000)).await.expect("again"), 0);
        assert_eq!(store.prune_observations(at(3_001)).await.expect("prune"), 2);
        assert_eq!(
            store
                .observations(http.clone(), at(0), at(10_000))
                .await
                .expect("read"),
            []
        );
        assert_eq!(
            store.probe_transitions(http).await.expect("t"),
            [
                tr(1_000, State::Up),
                tr(2_000, State::Up),
                tr(3_000, State::Up)
            ]
        );
    })
    .await;
}
