use super::*;
use crate::domain::{Outcome, ProbeKey, ProbeSpec, ProbeTarget, Schedule, Thresholds};

fn observation(probe: &str, at: i64) -> Observation {
    Observation {
        probe: ProbeKey {
            channel: "web".into(),
            probe: probe.into(),
        },
        at: Timestamp(at),
        outcome: Outcome::Up,
        status_code: Some(200),
        response_ms: Some(3),
        reason: None,
        location: "eu".into(),
        interval_ms: 1_000,
        lateness_ms: 0,
        thresholds: Thresholds {
            failure: 2,
            success: 2,
        },
    }
}

fn assigned(name: &str, schedule: Schedule) -> AssignedProbe {
    AssignedProbe {
        channel: "web".into(),
        spec: ProbeSpec {
            name: name.into(),
            target: ProbeTarget::Tcp {
                host: "127.0.0.1".into(),
                port: 9,
                send: None,
                expect: None,
            },
            schedule,
            timeout: Duration::from_millis(500),
            thresholds: Thresholds {
                failure: 2,
                success: 2,
            },
            conditions: Vec::new(),
            degraded_if: Vec::new(),
            locations: vec!["eu".into()],
            quorum: 1,
        },
    }
}

fn times(observations: &[Observation]) -> Vec<(String, i64)> {
    observations
        .iter()
        .map(|o| (o.probe.probe.clone(), o.at.millis()))
        .collect()
}

fn open_temp() -> (tempfile::TempDir, std::path::PathBuf, Spool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spool.sqlite");
    let spool = Spool::open(&path).expect("open spool");
    (dir, path, spool)
}

#[test]
fn capacity_is_the_observations_of_spool_max_and_at_least_a_thousand() {
    let every = |ms| Schedule::Every(Duration::from_millis(ms));
    let day = Duration::from_secs(86_400);
    let rows: Vec<(Vec<AssignedProbe>, Duration, u64)> = vec![
        (vec![], day, MIN_CAPACITY),
        (vec![assigned("a", every(60_000))], day, 1_440),
        (
            vec![assigned("a", every(60_000)), assigned("b", every(30_000))],
            day,
            1_440 + 2_880,
        ),
        // Few observations in the window: the floor.
        (
            vec![assigned("a", every(60_000))],
            Duration::from_secs(600),
            MIN_CAPACITY,
        ),
        // A cron every 5 minutes counts by its shortest gap.
        (
            vec![assigned("a", Schedule::Cron("0 */5 * * * *".into()))],
            Duration::from_secs(7 * 86_400),
            7 * 288,
        ),
        // A zero interval cannot divide by zero.
        (vec![assigned("a", every(0))], Duration::from_secs(2), 2_000),
    ];
    for (probes, max, want) in rows {
        assert_eq!(capacity(&probes, max), want, "{probes:?} {max:?}");
    }
}

#[test]
fn observations_come_back_oldest_first_whatever_the_order_they_were_spooled() {
    let (_dir, _path, mut spool) = open_temp();
    spool
        .push(&[observation("b", 30), observation("a", 10)])
        .expect("push");
    spool
        .push(&[observation("a", 20), observation("b", 5)])
        .expect("push");
    assert_eq!(spool.backlog(), 4);
    let got = spool.oldest(10).expect("oldest");
    assert_eq!(
        times(&got),
        vec![
            ("b".into(), 5),
            ("a".into(), 10),
            ("a".into(), 20),
            ("b".into(), 30)
        ]
    );
    assert_eq!(got[0], observation("b", 5), "stored whole");
    assert_eq!(times(&spool.oldest(2).expect("oldest")).len(), 2);
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_them() {
    let (_dir, _path, mut spool) = open_temp();
    spool.set_capacity(3);
    let batch: Vec<_> = (1..=2).map(|t| observation("a", t)).collect();
    assert_eq!(spool.push(&batch).expect("push"), 0);
    let batch: Vec<_> = (3..=5).map(|t| observation("a", t)).collect();
    assert_eq!(spool.push(&batch).expect("push"), 2, "5 held, room for 3");
    assert_eq!(spool.push(&[observation("a", 6)]).expect("push"), 1);
    assert_eq!(spool.backlog(), 3);
    assert_eq!(spool.dropped().expect("dropped"), 3);
    let kept: Vec<i64> = times(&spool.oldest(10).expect("oldest"))
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(kept, vec![4, 5, 6]);
}

#[test]
fn a_restart_resumes_the_spool_its_counters_and_the_assignment() {
    let (_dir, path, mut spool) = open_temp();
    spool.set_capacity(2);
    spool
        .push(&[
            observation("a", 1),
            observation("a", 2),
            observation("a", 3),
        ])
        .expect("push");
    let assignment = ProbeAssignment {
        location: "eu".into(),
        probes: vec![assigned("a", Schedule::Every(Duration::from_secs(1)))],
    };
    spool
        .save_assignment(Some("\"v1\""), &assignment)
        .expect("save");
    spool.close().expect("close");

    let mut spool = Spool::open(&path).expect("reopen");
    assert_eq!(spool.backlog(), 2);
    assert_eq!(spool.dropped().expect("dropped"), 1);
    assert_eq!(
        times(&spool.oldest(10).expect("oldest")),
        vec![("a".into(), 2), ("a".into(), 3)]
    );
    assert_eq!(
        spool.saved_assignment().expect("saved"),
        Some((Some("\"v1\"".into()), assignment))
    );
}

#[test]
fn an_empty_spool_has_no_saved_assignment() {
    let (_dir, _path, spool) = open_temp();
    assert_eq!(spool.saved_assignment().expect("saved"), None);
    assert_eq!(spool.backlog(), 0);
    assert_eq!(spool.dropped().expect("dropped"), 0);
}

#[test]
fn ack_deletes_exactly_what_was_sent_and_keeps_what_came_since() {
    let (_dir, _path, mut spool) = open_temp();
    spool
        .push(&[
            observation("a", 1),
            observation("b", 1),
            observation("a", 2),
        ])
        .expect("push");
    let sent = spool.oldest(2).expect("oldest");
    // Spooled while the batch was in flight, some older than what was sent.
    spool
        .push(&[observation("c", 0), observation("a", 3)])
        .expect("push");
    spool.ack(&sent).expect("ack");
    assert_eq!(
        times(&spool.oldest(10).expect("oldest")),
        vec![("c".into(), 0), ("a".into(), 2), ("a".into(), 3)]
    );
    assert_eq!(spool.backlog(), 3);
    // Acknowledging again (a replay) changes nothing.
    spool.ack(&sent).expect("ack again");
    assert_eq!(spool.backlog(), 3);
}

#[test]
fn a_refused_batch_moves_aside_counted_and_the_spool_goes_on() {
    let (_dir, path, mut spool) = open_temp();
    spool
        .push(&[
            observation("a", 1),
            observation("a", 2),
            observation("a", 3),
        ])
        .expect("push");
    let refused = spool.oldest(2).expect("oldest");
    spool
        .reject(&refused, "probe web/a is not assigned to eu", Timestamp(99))
        .expect("reject");
    assert_eq!(spool.backlog(), 1);
    assert_eq!(spool.rejected().expect("rejected"), 2);
    assert_eq!(
        times(&spool.oldest(10).expect("oldest")),
        vec![("a".into(), 3)]
    );
    spool.close().expect("close");
    let conn = Connection::open(&path).expect("open");
    let kept: Vec<(i64, String)> = conn
        .prepare("SELECT at_ms, error FROM rejected ORDER BY at_ms")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let error = "probe web/a is not assigned to eu".to_string();
    assert_eq!(kept, vec![(1, error.clone()), (2, error)]);
}

#[test]
fn a_spool_from_a_newer_beacon_is_refused() {
    let (_dir, path, spool) = open_temp();
    spool.close().expect("close");
    Connection::open(&path)
        .and_then(|c| c.pragma_update(None, "user_version", 7))
        .expect("bump version");
    let error = Spool::open(&path).err().expect("refused");
    assert!(error.to_string().contains("newer beacon"), "{error}");
}

#[test]
fn drops_are_logged_once_per_episode_with_the_count() {
    let rows: Vec<(Vec<u64>, Vec<Option<DropLog>>)> = vec![
        (vec![0, 0], vec![None, None]),
        (
            vec![0, 3, 1, 1, 0, 0],
            vec![
                None,
                Some(DropLog::Started { dropped: 3 }),
                None,
                None,
                Some(DropLog::Ended { dropped: 5 }),
                None,
            ],
        ),
        (
            vec![2, 0, 4, 0],
            vec![
                Some(DropLog::Started { dropped: 2 }),
                Some(DropLog::Ended { dropped: 2 }),
                Some(DropLog::Started { dropped: 4 }),
                Some(DropLog::Ended { dropped: 4 }),
            ],
        ),
    ];
    for (pushes, want) in rows {
        let mut episode = DropEpisode::default();
        let got: Vec<_> = pushes.iter().map(|d| episode.record(*d)).collect();
        assert_eq!(got, want, "{pushes:?}");
    }
    let mut episode = DropEpisode::default();
    episode.record(7);
    assert_eq!(episode.finish(), Some(DropLog::Ended { dropped: 7 }));
    assert_eq!(episode.finish(), None);
}

#[test]
fn a_row_that_no_longer_parses_is_moved_aside_not_blocking_the_rest() {
    let (_dir, path, mut spool) = open_temp();
    spool
        .push(&[observation("a", 1), observation("a", 3)])
        .expect("push");
    Connection::open(&path)
        .and_then(|c| {
            c.execute(
                "INSERT INTO spool (channel, probe, at_ms, observation) VALUES ('web', 'a', 2, '{\"from\": \"v9\"}')",
                [],
            )
        })
        .expect("insert a foreign row");
    let mut spool = {
        spool.close().expect("close");
        Spool::open(&path).expect("reopen")
    };
    assert_eq!(spool.backlog(), 3);
    assert_eq!(
        times(&spool.oldest(10).expect("oldest")),
        vec![("a".into(), 1), ("a".into(), 3)]
    );
    assert_eq!(
        (spool.backlog(), spool.rejected().expect("rejected")),
        (2, 1)
    );
    assert_eq!(times(&spool.oldest(10).expect("oldest")).len(), 2);
}
