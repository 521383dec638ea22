//! `store copy`: a year of history moved to another database gives the same report for every
//! month, and a non-empty target is refused unless appending.

use crate::engines::fresh_postgres;
use beacon::domain::{Config, ProbeKey, State, Timestamp, Transition};
use beacon::store::copy::TableCopied;
use beacon::store::{copy, Database, ImportBatch, ProbeRecompute, Store};

const DAY: i64 = 86_400_000;

fn config() -> Config {
    let mut text = String::from("[service]\nallow_fast_probes = true\n");
    for id in ["web", "email", "phone"] {
        text.push_str(&format!(
            "\n[[channel]]\nid = \"{id}\"\nname = \"{id}\"\n\n[[channel.probe]]\nname = \"http\"\nurl = \"http://127.0.0.1:9/\"\nevery = \"1m\"\n"
        ));
    }
    beacon::config::parse("probes.toml", &text).expect("config")
}

/// A year of states: an outage of `seed`-dependent length every few days, degraded spells.
fn year(seed: i64, from: Timestamp) -> Vec<Transition> {
    let mut out = vec![Transition {
        at: from,
        state: State::Up,
    }];
    let mut at = from.millis();
    let mut n = 0;
    while at < from.millis() + 365 * DAY {
        n += 1;
        at += DAY + (seed * 7_919 + n * 104_729) % (3 * DAY);
        let state = if n % 3 == 0 {
            State::Degraded
        } else {
            State::Down
        };
        out.push(Transition {
            at: Timestamp::from_millis(at),
            state,
        });
        out.push(Transition {
            at: Timestamp::from_millis(at + 60_000 + (n * 37_000) % 1_800_000),
            state: State::Up,
        });
    }
    out
}

async fn fill(store: &Store, config: &Config, from: Timestamp) {
    store.sync_config(config, from).await.expect("sync");
    for (seed, channel) in config.channels.iter().enumerate() {
        let timeline = year(seed as i64 + 1, from);
        store
            .import(ImportBatch {
                observations: Vec::new(),
                probes: vec![ProbeRecompute {
                    probe: ProbeKey {
                        channel: channel.id.clone(),
                        probe: "http".into(),
                    },
                    from,
                    transitions: timeline.clone(),
                    checkpoint: String::new(),
                    checkpoint_at: from,
                    coverage_end: None,
                    locations: Vec::new(),
                }],
                channels: vec![(channel.id.clone(), from, timeline)],
            })
            .await
            .expect("import");
    }
}

async fn reports(database: &Database, config: &Config, now: Timestamp) -> Vec<String> {
    let store = Store::connect(database).expect("open");
    let mut out = Vec::new();
    for month in 1..=11 {
        let label = format!("2026-{month:02}");
        let report = beacon::report::build(&store, config, &label, now)
            .await
            .expect("report");
        out.push(report.render(beacon::report::Format::Json));
    }
    store.close().await.expect("close");
    out
}

/// `copy` blocks (it is a command of its own): off the test's runtime threads.
async fn run_copy(
    from: &Database,
    to: &Database,
    append: bool,
) -> Result<Vec<TableCopied>, beacon::store::Error> {
    let (from, to) = (from.clone(), to.clone());
    tokio::task::spawn_blocking(move || copy::copy(&from, &to, append, &mut |_| {}))
        .await
        .expect("copy task")
}

#[tokio::test]
async fn a_year_copied_gives_equal_reports_and_a_full_target_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let source = Database::Sqlite(dir.path().join("source.db"));
    let config = config();
    let from = Timestamp::parse("2025-12-01T00:00:00Z").expect("time");
    let now = Timestamp::parse("2026-12-01T00:00:00Z").expect("time");
    let store = Store::connect(&source).expect("source");
    fill(&store, &config, from).await;
    store.close().await.expect("close");
    let expected = reports(&source, &config, now).await;
    assert!(expected[0].contains("\"down_ms\""), "a real report");

    let mut targets = vec![Database::Sqlite(dir.path().join("target.db"))];
    targets.extend(fresh_postgres());
    for target in targets {
        let copied = run_copy(&source, &target, false).await.expect("copy");
        let transitions = copied
            .iter()
            .find(|t| t.table == "channel_transitions")
            .expect("counted");
        assert!(transitions.copied > 300, "{transitions:?}");
        assert!(
            copied.iter().all(|t| t.copied == t.source_rows),
            "{copied:?}"
        );
        assert_eq!(reports(&target, &config, now).await, expected, "{target}");

        let again = run_copy(&source, &target, false)
            .await
            .expect_err("not empty");
        assert!(again.to_string().contains("not empty"), "{again}");
        let appended = run_copy(&source, &target, true).await.expect("append");
        assert!(appended.iter().all(|t| t.copied == 0), "{appended:?}");
        assert_eq!(reports(&target, &config, now).await, expected, "{target}");
    }
}
