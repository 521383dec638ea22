//! Observations, transitions and checkpoints: what the prober writes and restores, and the
//! history reads a report is computed from.

use crate::engines::on_each_engine;
use beacon::domain::{
    Config, Observation, Outcome, ProbeKey, State, Thresholds, Timestamp, Transition,
};
use beacon::store::{ChannelRecord, Error, ObservationRecord, Store};

fn config() -> Config {
    let text = r#"
[service]
allow_fast_probes = true

[[channel]]
id = "web"
name = "Web"

[[channel.probe]]
name = "http"
url = "http://127.0.0.1:9/"
every = "1s"
"#;
    beacon::config::parse("probes.toml", text).expect("config")
}

/// Two channels, three probes: `web/http`, `web/edge` (group "Sites") and `api/ping` (not in
/// the commitment).
pub(crate) fn two_channels() -> Config {
    let text = r#"
[service]
allow_fast_probes = true

[[channel]]
id = "web"
name = "Web"
group = "Sites"

[[channel.probe]]
name = "http"
url = "http://127.0.0.1:9/"
every = "1s"

[[channel.probe]]
name = "edge"
url = "http://127.0.0.1:9/edge"
every = "1s"

[[channel]]
id = "api"
name = "API"
in_commitment = false

[[channel.probe]]
name = "ping"
url = "http://127.0.0.1:9/ping"
every = "1s"
"#;
    beacon::config::parse("probes.toml", text).expect("config")
}

/// A reload: `web` left the configuration, `db` is new.
pub(crate) fn api_and_db() -> Config {
    let text = r#"
[service]
allow_fast_probes = true

[[channel]]
id = "api"
name = "API v2"
in_commitment = false

[[channel.probe]]
name = "ping"
url = "http://127.0.0.1:9/ping"
every = "1s"

[[channel]]
id = "db"
name = "Database"

[[channel.probe]]
name = "query"
url = "http://127.0.0.1:9/db"
every = "1s"
"#;
    beacon::config::parse("probes.toml", text).expect("config")
}

pub(crate) fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

pub(crate) fn key(channel: &str, probe: &str) -> ProbeKey {
    ProbeKey {
        channel: channel.into(),
        probe: probe.into(),
    }
}

pub(crate) fn tr(ms: i64, state: State) -> Transition {
    Transition { at: at(ms), state }
}

pub(crate) fn obs(probe: &ProbeKey, ms: i64, location: &str, outcome: Outcome) -> Observation {
    Observation {
        probe: probe.clone(),
        at: at(ms),
        outcome,
        status_code: (outcome == Outcome::Up).then_some(200),
        response_ms: Some(12),
        reason: (outcome == Outcome::Down).then(|| "HTTP 503".to_owned()),
        location: location.into(),
        interval_ms: 60_000,
        lateness_ms: 3,
        thresholds: Thresholds {
            failure: 2,
            success: 1,
        },
    }
}

/// A one-location probe's observation with its checkpoint and new transitions.
pub(crate) fn record(observation: Observation, checkpoint: &str) -> ObservationRecord {
    ObservationRecord {
        observation,
        checkpoint: checkpoint.into(),
        probe_transitions: Vec::new(),
        channel_update: None,
        coverage_end: None,
        located: None,
    }
}

/// A store with [`two_channels`] synced at 1 000 ms.
pub(crate) async fn synced(store: &Store) {
    store
        .sync_config(&two_channels(), at(1_000))
        .await
        .expect("sync");
}

#[tokio::test]
async fn sync_config_stores_channels_and_survives_a_second_sync() {
    on_each_engine(|store| async move {
        let config = config();
        store
            .sync_config(&config, Timestamp::from_millis(1_000))
            .await
            .expect("sync");
        store
            .sync_config(&config, Timestamp::from_millis(2_000))
            .await
            .expect("sync again");
        let live = store.load_live().await.expect("load");
        assert_eq!(live.probes.len(), 1);
        assert!(live.channels.contains_key("web"));
        store.ping().await.expect("ping");
    })
    .await;
}

#[tokio::test]
async fn channel_records_list_active_channels_in_order_then_the_others() {
    on_each_engine(|store| async move {
        assert!(store.channel_records().await.expect("empty").is_empty());
        synced(&store).await;
        store
            .sync_config(&api_and_db(), at(2_000))
            .await
            .expect("reload");
        let channel =
            |id: &str, name: &str, group: &str, in_commitment, active, created| ChannelRecord {
                id: id.into(),
                name: name.into(),
                group: group.into(),
                in_commitment,
                active,
                created_at: at(created),
            };
        assert_eq!(
            store.channel_records().await.expect("records"),
            [
                channel("api", "API v2", "Services", false, true, 1_000),
                channel("db", "Database", "Services", true, true, 2_000),
                channel("web", "Web", "Sites", true, false, 1_000),
            ],
            "a channel keeps its first creation time; one that left stays, inactive, last"
        );
        let live = store.load_live().await.expect("load");
        let mut probes: Vec<ProbeKey> = live.probes.keys().cloned().collect();
        probes.sort();
        assert_eq!(probes, [key("api", "ping"), key("db", "query")]);
        let mut channels: Vec<&String> = live.channels.keys().collect();
        channels.sort();
        assert_eq!(channels, ["api", "db"]);
        let histories = store.probe_histories(at(0), at(10_000)).await.expect("h");
        let all: Vec<ProbeKey> = histories.into_iter().map(|h| h.probe).collect();
        assert_eq!(
            all,
            [
                key("web", "http"),
                key("web", "edge"),
                key("api", "ping"),
                key("db", "query"),
            ],
            "every probe ever stored, in the order it was first stored"
        );
    })
    .await;
}

#[tokio::test]
async fn record_commits_the_observation_its_transitions_and_checkpoint_together() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let http = key("web", "http");
        let mut first = record(obs(&http, 10_000, "", Outcome::Down), "m-10");
        first.probe_transitions = vec![tr(10_000, State::Down)];
        first.channel_update = Some((at(10_000), vec![tr(10_000, State::Down)]));
        first.coverage_end = Some(at(70_000));
        let mut second = record(obs(&http, 20_000, "", Outcome::Up), "m-20");
        second.probe_transitions = vec![tr(20_000, State::Up)];
        second.channel_update = Some((at(20_000), vec![tr(20_000, State::Up)]));
        second.coverage_end = Some(at(80_000));
        store.record(first).await.expect("record");
        store.record(second).await.expect("record");
        store.ping().await.expect("committed");

        assert_eq!(
            store
                .observations(http.clone(), at(0), at(30_000))
                .await
                .expect("read"),
            [
                obs(&http, 10_000, "", Outcome::Down),
                obs(&http, 20_000, "", Outcome::Up)
            ]
        );
        assert_eq!(
            store
                .observations(http.clone(), at(10_001), at(20_000))
                .await
                .expect("read"),
            [],
            "from is inclusive, to exclusive"
        );
        assert_eq!(
            store.probe_transitions(http.clone()).await.expect("read"),
            [tr(10_000, State::Down), tr(20_000, State::Up)]
        );
        assert_eq!(
            store
                .channel_transitions("web".into(), at(0), at(i64::MAX))
                .await
                .expect("read"),
            [tr(10_000, State::Down), tr(20_000, State::Up)]
        );
        let histories = store
            .probe_histories(at(15_000), at(30_000))
            .await
            .expect("h");
        let h = histories.iter().find(|h| h.probe == http).expect("http");
        assert_eq!(
            h.transitions,
            [tr(10_000, State::Down), tr(20_000, State::Up)],
            "the last transition before the period, then those inside"
        );
        assert_eq!(h.checkpoint.as_deref(), Some("m-20"));
        assert_eq!(h.coverage_end, Some(at(80_000)));
        let edge = histories
            .iter()
            .find(|h| h.probe == key("web", "edge"))
            .expect("edge");
        assert_eq!(
            (edge.transitions.len(), edge.checkpoint.as_deref()),
            (0, None)
        );
        assert_eq!(edge.coverage_end, None);

        let narrow = store
            .probe_histories(at(21_000), at(30_000))
            .await
            .expect("h");
        let h = narrow.iter().find(|h| h.probe == http).expect("http");
        assert_eq!(h.transitions, [tr(20_000, State::Up)]);
    })
    .await;
}

#[tokio::test]
async fn a_repeated_observation_replaces_the_stored_one_and_ties_read_by_location() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let http = key("web", "http");
        for o in [
            obs(&http, 5_000, "us", Outcome::Up),
            obs(&http, 5_000, "eu", Outcome::Up),
            obs(&http, 5_000, "eu", Outcome::Down),
            obs(&http, 4_000, "zz", Outcome::Degraded),
        ] {
            store.record(record(o, "m")).await.expect("record");
        }
        store.ping().await.expect("committed");
        assert_eq!(
            store
                .observations(http.clone(), at(0), at(10_000))
                .await
                .expect("read"),
            [
                obs(&http, 4_000, "zz", Outcome::Degraded),
                obs(&http, 5_000, "eu", Outcome::Down),
                obs(&http, 5_000, "us", Outcome::Up),
            ],
            "the latest word wins; one instant's locations by name"
        );
        let none = store
            .observations(key("web", "nope"), at(0), at(10_000))
            .await;
        assert_eq!(none.expect("unknown probe"), []);
        assert_eq!(
            store
                .probe_transitions(key("web", "nope"))
                .await
                .expect("t"),
            []
        );
        let none = store
            .channel_transitions("nope".into(), at(0), at(10_000))
            .await;
        assert_eq!(none.expect("unknown channel"), []);
    })
    .await;
}

#[tokio::test]
async fn load_live_restores_checkpoints_recent_transitions_and_latest_observations() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let http = key("web", "http");
        let day = 86_400_000;
        let base = 10 * day;
        let mut first = record(obs(&http, base - day - 1, "old", Outcome::Up), "m-old");
        first.probe_transitions = (0..70).map(|i| tr(i * 10, State::Up)).collect();
        first.channel_update = Some((at(0), (0..70).map(|i| tr(i * 10, State::Down)).collect()));
        store.record(first).await.expect("record");
        for o in [
            obs(&http, base - 2_000, "us", Outcome::Down),
            obs(&http, base - 1_000, "us", Outcome::Up),
            obs(&http, base - day, "eu", Outcome::Degraded),
            obs(&http, base, "ap", Outcome::Up),
        ] {
            store.record(record(o, "m-latest")).await.expect("record");
        }
        store.ping().await.expect("committed");

        let live = store.load_live().await.expect("load");
        let restore = live.probes.get(&http).expect("http restored");
        assert_eq!(restore.checkpoint.as_deref(), Some("m-latest"));
        let expected: Vec<Transition> = (6..70).map(|i| tr(i * 10, State::Up)).collect();
        assert_eq!(restore.transitions, expected, "the latest 64, oldest first");
        assert_eq!(
            restore.last_observations,
            [
                obs(&http, base, "ap", Outcome::Up),
                obs(&http, base - day, "eu", Outcome::Degraded),
                obs(&http, base - 1_000, "us", Outcome::Up),
            ],
            "each location's latest within a day of the probe's latest, by location"
        );
        assert!(restore.locations.is_empty());
        let expected: Vec<Transition> = (6..70).map(|i| tr(i * 10, State::Down)).collect();
        assert_eq!(live.channels.get("web"), Some(&expected));
        assert_eq!(live.channels.get("api"), Some(&Vec::new()));
        let edge = live.probes.get(&key("web", "edge")).expect("edge");
        assert_eq!(edge.checkpoint, None);
        assert!(edge.transitions.is_empty() && edge.last_observations.is_empty());
    })
    .await;
}

#[tokio::test]
async fn channel_transitions_are_replaced_from_an_instant_on() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let timeline = vec![
            tr(1_000, State::Down),
            tr(2_000, State::Up),
            tr(3_000, State::Degraded),
        ];
        store
            .replace_channel_transitions("web".into(), at(0), timeline)
            .await
            .expect("write");
        store
            .replace_channel_transitions("web".into(), at(2_000), vec![tr(2_500, State::Partial)])
            .await
            .expect("replace");
        store.ping().await.expect("committed");
        assert_eq!(
            store
                .channel_transitions("web".into(), at(0), at(10_000))
                .await
                .expect("read"),
            [tr(1_000, State::Down), tr(2_500, State::Partial)]
        );
        assert_eq!(
            store
                .channel_transitions("web".into(), at(1_000), at(2_500))
                .await
                .expect("read"),
            [tr(1_000, State::Down)]
        );
        store
            .replace_channel_transitions("web".into(), at(0), Vec::new())
            .await
            .expect("clear");
        store.ping().await.expect("committed");
        let left = store
            .channel_transitions("web".into(), at(0), at(10_000))
            .await;
        assert_eq!(left.expect("read"), []);
        let other = store
            .channel_transitions("api".into(), at(0), at(10_000))
            .await;
        assert_eq!(other.expect("read"), [], "another channel is untouched");
    })
    .await;
}

#[tokio::test]
async fn a_push_token_names_its_probe_until_replaced_or_the_probe_leaves() {
    on_each_engine(|store| async move {
        synced(&store).await;
        let (http, ping) = (key("web", "http"), key("api", "ping"));
        store
            .set_push_token(http.clone(), "h1".into(), at(1))
            .await
            .expect("set");
        store
            .set_push_token(ping.clone(), "h3".into(), at(2))
            .await
            .expect("set");
        assert_eq!(
            store.probe_for_push_token("h1".into()).await.expect("h1"),
            http
        );
        store
            .set_push_token(http.clone(), "h2".into(), at(3))
            .await
            .expect("replace");
        let old = store.probe_for_push_token("h1".into()).await;
        assert!(matches!(old, Err(Error::NotFound)), "{old:?}");
        assert_eq!(
            store.probe_for_push_token("h2".into()).await.expect("h2"),
            http
        );
        assert_eq!(
            store.probe_for_push_token("h3".into()).await.expect("h3"),
            ping
        );
        let unknown = store.probe_for_push_token("zz".into()).await;
        assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
        let refused = store
            .set_push_token(key("web", "nope"), "h9".into(), at(4))
            .await;
        assert!(matches!(refused, Err(Error::Write(_))), "{refused:?}");

        store
            .sync_config(&api_and_db(), at(5))
            .await
            .expect("reload");
        let gone = store.probe_for_push_token("h2".into()).await;
        assert!(
            matches!(gone, Err(Error::NotFound)),
            "an inactive probe: {gone:?}"
        );
        assert_eq!(
            store.probe_for_push_token("h3".into()).await.expect("h3"),
            ping
        );
    })
    .await;
}
