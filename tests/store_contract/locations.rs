//! Multi-location probes: each location's timeline and machine, the quorum's timeline, what
//! a restart restores per location and what a report reads of every location.

use crate::engines::on_each_engine;
use crate::observations::{at, key, obs, record, synced, tr};
use beacon::domain::{Outcome, ProbeKey, State};
use beacon::store::{LocatedWrite, LocationRestore};
use std::collections::{BTreeMap, HashMap};

fn restore(checkpoint: Option<&str>, transitions: &[(i64, State)]) -> LocationRestore {
    LocationRestore {
        checkpoint: checkpoint.map(str::to_owned),
        transitions: transitions.iter().map(|&(ms, s)| tr(ms, s)).collect(),
    }
}

#[tokio::test]
async fn record_located_writes_each_location_the_quorum_and_the_coverage() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let http = key("web", "http");
        let first = LocatedWrite {
            checkpoint: Some(("eu".into(), "m-eu-10".into())),
            locations: vec![
                (
                    "eu".into(),
                    at(0),
                    vec![tr(1_000, State::Up), tr(5_000, State::Down)],
                ),
                ("us".into(), at(0), vec![tr(2_000, State::Up)]),
            ],
            probe: Some((at(0), vec![tr(2_000, State::Up), tr(5_000, State::Partial)])),
            coverage_end: Some(at(70_000)),
        };
        let channel = Some((at(0), vec![tr(2_000, State::Up)]));
        store
            .record_located(http.clone(), at(10_000), first, channel)
            .await
            .expect("first");
        let second = LocatedWrite {
            checkpoint: Some(("us".into(), "m-us-20".into())),
            locations: vec![("eu".into(), at(5_000), vec![tr(6_000, State::Up)])],
            probe: Some((at(5_000), Vec::new())),
            coverage_end: Some(at(80_000)),
        };
        store
            .record_located(http.clone(), at(20_000), second, None)
            .await
            .expect("second");
        let stale = LocatedWrite {
            checkpoint: Some(("eu".into(), "m-eu-stale".into())),
            coverage_end: Some(at(80_000)),
            ..LocatedWrite::default()
        };
        store
            .record_located(http.clone(), at(5_000), stale, None)
            .await
            .expect("stale");
        store.ping().await.expect("committed");

        assert_eq!(
            store
                .location_transitions(http.clone(), "eu".into())
                .await
                .expect("eu"),
            [tr(1_000, State::Up), tr(6_000, State::Up)],
            "replaced from 5 000 on"
        );
        assert_eq!(
            store
                .location_transitions(http.clone(), "us".into())
                .await
                .expect("us"),
            [tr(2_000, State::Up)]
        );
        let none = store.location_transitions(http.clone(), "ap".into()).await;
        assert_eq!(none.expect("unknown location"), []);
        assert_eq!(
            store.probe_transitions(http.clone()).await.expect("quorum"),
            [tr(2_000, State::Up)]
        );
        assert_eq!(
            store
                .channel_transitions("web".into(), at(0), at(i64::MAX))
                .await
                .expect("c"),
            [tr(2_000, State::Up)]
        );

        let live = store.load_live().await.expect("load");
        let saved = live.probes.get(&http).expect("http");
        assert_eq!(
            saved.checkpoint.as_deref(),
            Some(""),
            "machines are per location"
        );
        assert_eq!(saved.transitions, [tr(2_000, State::Up)]);
        let expected = BTreeMap::from([
            (
                "eu".to_owned(),
                restore(Some("m-eu-10"), &[(1_000, State::Up), (6_000, State::Up)]),
            ),
            (
                "us".to_owned(),
                restore(Some("m-us-20"), &[(2_000, State::Up)]),
            ),
        ]);
        assert_eq!(
            saved.locations, expected,
            "an older machine never replaces a newer one"
        );
        let histories = store.probe_histories(at(0), at(30_000)).await.expect("h");
        let h = histories.iter().find(|h| h.probe == http).expect("http");
        assert_eq!(h.coverage_end, Some(at(80_000)));
    })
    .await;
}

#[tokio::test]
async fn an_observation_of_a_location_carries_its_located_write() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let ping = key("api", "ping");
        let mut r = record(obs(&ping, 30_000, "eu", Outcome::Down), "");
        r.located = Some(LocatedWrite {
            checkpoint: Some(("eu".into(), "m-eu-30".into())),
            locations: vec![("eu".into(), at(30_000), vec![tr(30_000, State::Down)])],
            probe: Some((at(30_000), vec![tr(30_000, State::Partial)])),
            coverage_end: Some(at(90_000)),
        });
        r.channel_update = Some((at(30_000), vec![tr(30_000, State::Partial)]));
        store.record(r).await.expect("record");
        store.ping().await.expect("committed");

        let live = store.load_live().await.expect("load");
        let saved = live.probes.get(&ping).expect("ping");
        assert_eq!(
            saved.last_observations,
            [obs(&ping, 30_000, "eu", Outcome::Down)]
        );
        assert_eq!(saved.transitions, [tr(30_000, State::Partial)]);
        assert_eq!(
            saved.locations,
            BTreeMap::from([(
                "eu".to_owned(),
                restore(Some("m-eu-30"), &[(30_000, State::Down)])
            )])
        );
        assert_eq!(
            live.channels.get("api"),
            Some(&vec![tr(30_000, State::Partial)])
        );
        let histories = store.probe_histories(at(0), at(40_000)).await.expect("h");
        let h = histories.iter().find(|h| h.probe == ping).expect("ping");
        assert_eq!(
            (h.checkpoint.as_deref(), h.coverage_end),
            (Some(""), Some(at(90_000)))
        );
    })
    .await;
}

#[tokio::test]
async fn location_histories_give_the_last_transition_before_those_inside_and_checkpoints() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let (http, edge) = (key("web", "http"), key("web", "edge"));
        assert!(store
            .location_histories(at(0), at(10_000))
            .await
            .expect("empty")
            .is_empty());
        let timelines = LocatedWrite {
            checkpoint: Some(("eu".into(), "m-eu".into())),
            locations: vec![
                (
                    "eu".into(),
                    at(0),
                    vec![
                        tr(1_000, State::Up),
                        tr(2_000, State::Down),
                        tr(3_000, State::Up),
                        tr(5_000, State::Down),
                    ],
                ),
                (
                    "us".into(),
                    at(0),
                    vec![tr(500, State::Up), tr(9_000, State::Down)],
                ),
                ("sa".into(), at(0), vec![tr(9_000, State::Up)]),
            ],
            ..LocatedWrite::default()
        };
        store
            .record_located(http.clone(), at(9_000), timelines, None)
            .await
            .expect("http");
        let only_machine = LocatedWrite {
            checkpoint: Some(("ap".into(), "m-ap".into())),
            ..LocatedWrite::default()
        };
        store
            .record_located(edge.clone(), at(9_000), only_machine, None)
            .await
            .expect("edge");
        store.ping().await.expect("committed");

        let expected: HashMap<ProbeKey, BTreeMap<String, LocationRestore>> = HashMap::from([
            (
                http,
                BTreeMap::from([
                    (
                        "eu".to_owned(),
                        restore(Some("m-eu"), &[(2_000, State::Down), (3_000, State::Up)]),
                    ),
                    ("us".to_owned(), restore(None, &[(500, State::Up)])),
                ]),
            ),
            (
                edge,
                BTreeMap::from([("ap".to_owned(), restore(Some("m-ap"), &[]))]),
            ),
        ]);
        assert_eq!(
            store
                .location_histories(at(2_500), at(5_000))
                .await
                .expect("read"),
            expected,
            "a location whose transitions all come after the period is left out"
        );
    })
    .await;
}
