//! Table tests of the state machine (sla-rules section 3 rules 1-4).
//!
//! A pattern is one character per 10 ms slot: `U` up, `G` degraded, `D` down, `.` no
//! observation. Expected transitions are `(ms, state)`.

use super::*;
use crate::domain::{Outcome, State, Thresholds, Timestamp, Transition};
use std::collections::BTreeMap;

const SLOT: i64 = 10;

fn observations(pattern: &str, thresholds: Thresholds) -> Vec<ObservationInput> {
    pattern
        .chars()
        .enumerate()
        .filter_map(|(i, c)| {
            let outcome = match c {
                'U' => Outcome::Up,
                'G' => Outcome::Degraded,
                'D' => Outcome::Down,
                '.' => return None,
                other => panic!("bad pattern char {other:?}"),
            };
            Some(ObservationInput {
                at: Timestamp(i as i64 * SLOT),
                outcome,
                interval_ms: SLOT as u64,
                thresholds,
            })
        })
        .collect()
}

fn transitions(expected: &[(i64, State)]) -> Vec<Transition> {
    expected
        .iter()
        .map(|&(at, state)| Transition {
            at: Timestamp(at),
            state,
        })
        .collect()
}

/// Feeds the pattern through the machine and compares its transitions.
fn check(failure: u32, success: u32, pattern: &str, expected: &[(i64, State)]) {
    let thresholds = Thresholds { failure, success };
    let mut machine = ProbeMachine::new();
    let got: Vec<Transition> = observations(pattern, thresholds)
        .into_iter()
        .flat_map(|obs| machine.observe(obs))
        .collect();
    assert_eq!(
        got,
        transitions(expected),
        "pattern {pattern:?} f={failure} s={success}"
    );
}

use State::{Degraded as G, Down as D, Unknown as X, Up as U};

#[test]
fn first_success_confirms_up_at_once() {
    check(3, 2, "U", &[(0, U)]);
    check(3, 5, "UU", &[(0, U)]);
}

#[test]
fn failures_at_start_need_the_threshold_and_date_from_the_first() {
    check(3, 2, "DD", &[]);
    check(3, 2, "DDD", &[(0, D)]);
    check(3, 2, "DDDDD", &[(0, D)]);
    check(1, 1, "D", &[(0, D)]);
}

#[test]
fn outage_starts_at_the_first_failed_observation_of_the_confirming_run() {
    check(3, 2, "UUDDD", &[(0, U), (20, D)]);
    check(3, 2, "UUDDDDDD", &[(0, U), (20, D)]);
}

#[test]
fn recovery_needs_the_success_threshold_and_dates_from_its_first_success() {
    check(3, 2, "UUDDDU", &[(0, U), (20, D)]);
    check(3, 2, "UUDDDUU", &[(0, U), (20, D), (50, U)]);
    check(3, 2, "UUDDDUDUU", &[(0, U), (20, D), (70, U)]);
}

#[test]
fn blips_below_the_threshold_keep_the_previous_state() {
    check(3, 2, "UUDDUU", &[(0, U)]);
    check(3, 2, "UDUDUDUD", &[(0, U)]);
    check(3, 2, "UUDDDUDDD", &[(0, U), (20, D)]);
}

#[test]
fn thresholds_of_one_follow_every_observation() {
    check(1, 1, "UDU", &[(0, U), (10, D), (20, U)]);
}

#[test]
fn a_gap_is_unknown_from_the_end_of_coverage() {
    // Coverage of an observation at t with interval i is [t, t + 2i).
    check(3, 2, "U..U", &[(0, U), (20, X), (30, U)]);
    // One missed slot is still covered.
    check(3, 2, "U.U", &[(0, U)]);
}

#[test]
fn a_gap_forgets_the_run_in_progress_and_the_state_before_it() {
    check(3, 2, "UUDD..DDD", &[(0, U), (50, X), (60, D)]);
    check(3, 2, "UUDD..D", &[(0, U), (50, X)]);
    check(3, 2, "DD..U", &[(40, U)]);
    // After a gap the first success again confirms at once, even from down.
    check(3, 2, "DDD...U", &[(0, D), (40, X), (60, U)]);
}

#[test]
fn degraded_is_confirmed_like_a_failure_and_left_like_a_recovery() {
    check(3, 2, "UGGG", &[(0, U), (10, G)]);
    check(3, 2, "UGGGUU", &[(0, U), (10, G), (40, U)]);
    check(3, 2, "DDDGG", &[(0, D), (30, G)]);
    check(3, 2, "UGGDUU", &[(0, U)]);
    check(3, 2, "GGG", &[(0, G)]);
    check(3, 2, "UGGGDDD", &[(0, U), (10, G), (40, D)]);
}

#[test]
fn out_of_order_observations_are_ignored() {
    let t = Thresholds {
        failure: 1,
        success: 1,
    };
    let mut m = ProbeMachine::new();
    let obs = |at, outcome| ObservationInput {
        at: Timestamp(at),
        outcome,
        interval_ms: 10,
        thresholds: t,
    };
    assert_eq!(m.observe(obs(10, Outcome::Up)).len(), 1);
    assert!(m.observe(obs(5, Outcome::Down)).is_empty());
    assert!(m.observe(obs(10, Outcome::Down)).is_empty());
    assert_eq!(m.state(), State::Up);
}

#[test]
fn live_state_turns_unknown_when_coverage_ends() {
    let mut m = ProbeMachine::new();
    assert_eq!(m.state_at(Timestamp(0)), X);
    m.observe(ObservationInput {
        at: Timestamp(100),
        outcome: Outcome::Up,
        interval_ms: 10,
        thresholds: Thresholds {
            failure: 3,
            success: 2,
        },
    });
    assert_eq!(m.state_at(Timestamp(119)), U);
    assert_eq!(m.state_at(Timestamp(120)), X);
}

#[test]
fn probe_timeline_ends_in_unknown_after_the_last_coverage() {
    let t = Thresholds {
        failure: 3,
        success: 2,
    };
    let obs = observations("UU", t);
    assert_eq!(
        probe_timeline(obs.clone(), Timestamp(100)),
        transitions(&[(0, U), (30, X)])
    );
    assert_eq!(
        probe_timeline(obs, Timestamp(25)),
        transitions(&[(0, U)]),
        "still covered at `until`"
    );
    assert!(probe_timeline(observations("DD", t), Timestamp(100)).is_empty());
}

#[test]
fn combine_takes_the_worst_known_state() {
    let a = transitions(&[(0, U), (50, D), (80, U)]);
    let b = transitions(&[(20, G), (60, U)]);
    let none: Vec<Transition> = Vec::new();
    assert_eq!(
        combine_worst(&[&a, &b, &none]),
        transitions(&[(0, U), (20, G), (50, D), (80, U)])
    );
    let c = transitions(&[(10, U), (30, X)]);
    let d = transitions(&[(20, D), (40, X)]);
    assert_eq!(
        combine_worst(&[&c, &d]),
        transitions(&[(10, U), (20, D), (40, X)]),
        "unknown only where every probe is unknown"
    );
    assert!(combine_worst(&[]).is_empty());
}

#[test]
fn segments_cover_exactly_the_period() {
    let tl = transitions(&[(0, U), (50, D), (80, U)]);
    let segs = segments(&tl, Timestamp(-10), Timestamp(70));
    let summary: Vec<(i64, i64, State)> =
        segs.iter().map(|s| (s.start.0, s.end.0, s.state)).collect();
    assert_eq!(summary, [(-10, 0, X), (0, 50, U), (50, 70, D)]);
    assert!(segments(&tl, Timestamp(5), Timestamp(5)).is_empty());
}

#[test]
fn channel_tracker_rewrites_the_tail_when_a_probe_confirms_late() {
    let mut tracker = ChannelTracker::default();
    let up = |at| Transition {
        at: Timestamp(at),
        state: U,
    };
    assert_eq!(
        tracker.apply("a", &[up(0)]),
        Some(ChannelUpdate {
            from: Timestamp(0),
            transitions: vec![up(0)]
        })
    );
    assert_eq!(tracker.apply("b", &[up(5)]), None, "channel already up");
    // a degrades from 30 (confirmed later), then b confirms an outage that began at 20.
    tracker.apply(
        "a",
        &[Transition {
            at: Timestamp(30),
            state: G,
        }],
    );
    let update = tracker.apply(
        "b",
        &[Transition {
            at: Timestamp(20),
            state: D,
        }],
    );
    assert_eq!(
        update,
        Some(ChannelUpdate {
            from: Timestamp(20),
            transitions: transitions(&[(20, D)]),
        })
    );
    assert_eq!(tracker.state(), D);
    assert_eq!(tracker.latest(), Some(transitions(&[(20, D)])[0]));
}

#[test]
fn channel_tracker_restores_from_stored_transitions() {
    let mut probes = BTreeMap::new();
    probes.insert("a".to_owned(), transitions(&[(0, U)]));
    let mut tracker = ChannelTracker::restore(probes, transitions(&[(0, U)]));
    assert_eq!(tracker.state(), U);
    let update = tracker.apply("a", &transitions(&[(40, D)]));
    assert_eq!(update.map(|u| u.transitions), Some(transitions(&[(40, D)])));
}

/// Property: for every prefix of a random observation stream, the live state the machine
/// reports at the latest observation equals the state the timeline gives there, and the
/// channel tracker fed the same transitions agrees with `combine_worst` of the probes.
#[test]
fn live_state_equals_the_timeline_state_for_random_streams() {
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for _case in 0..200 {
        let thresholds = Thresholds {
            failure: 1 + next(4) as u32,
            success: 1 + next(3) as u32,
        };
        let mut stream = Vec::new();
        let mut at = 0;
        for _ in 0..(5 + next(40)) {
            at += 1 + next(25) as i64; // sometimes within coverage, sometimes a gap
            let outcome = [Outcome::Up, Outcome::Degraded, Outcome::Down][next(3) as usize];
            stream.push(ObservationInput {
                at: Timestamp(at),
                outcome,
                interval_ms: 10,
                thresholds,
            });
        }
        let mut machine = ProbeMachine::new();
        let mut tracker = ChannelTracker::default();
        let mut probe_log = Vec::new();
        for (i, obs) in stream.iter().enumerate() {
            let trs = machine.observe(*obs);
            probe_log.extend_from_slice(&trs);
            tracker.apply("p", &trs);
            let timeline = probe_timeline(stream[..=i].iter().copied(), obs.at);
            assert_eq!(timeline, probe_log, "machine and timeline agree");
            assert_eq!(state_at(&timeline, obs.at), machine.state());
            assert_eq!(tracker.state(), machine.state());
            let total: i64 = segments(&timeline, Timestamp(0), obs.at)
                .iter()
                .map(|s| s.end.0 - s.start.0)
                .sum();
            assert_eq!(total, obs.at.0, "segments sum to the period");
        }
    }
}

#[test]
fn channel_current_state_turns_unknown_when_every_probe_lapses() {
    let mut tracker = ChannelTracker::default();
    assert_eq!(tracker.current(Timestamp(0)), None);
    let at = |ms, state| Transition {
        at: Timestamp(ms),
        state,
    };
    tracker.apply("a", &[at(0, D)]);
    tracker.set_coverage("a", Some(Timestamp(40)));
    tracker.apply("b", &[at(10, U)]);
    tracker.set_coverage("b", Some(Timestamp(60)));
    assert_eq!(tracker.current(Timestamp(39)), Some(at(0, D)));
    assert_eq!(
        tracker.current(Timestamp(45)),
        Some(at(40, U)),
        "a lapsed, b still up"
    );
    assert_eq!(tracker.current(Timestamp(60)), Some(at(60, X)));
}
