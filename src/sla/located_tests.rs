//! Rule 10 live: locations observed one by one, late, silent, then back.

use super::*;
use crate::domain::{Outcome, Thresholds};
use State::{Down as D, Unknown as X, Up as U};

const I: u64 = 1_000;

fn input(at: i64, outcome: Outcome) -> ObservationInput {
    ObservationInput {
        at: Timestamp(at),
        outcome,
        interval_ms: I,
        thresholds: Thresholds {
            failure: 2,
            success: 1,
        },
    }
}

fn at(ms: i64, state: State) -> Transition {
    Transition {
        at: Timestamp(ms),
        state,
    }
}

/// Feeds `outcomes` of one location, one a second from `start`; returns the probe timeline.
fn feed(probe: &mut LocatedProbe, location: &str, start: i64, outcomes: &[Outcome]) {
    for (i, o) in outcomes.iter().enumerate() {
        probe.observe(location, input(start + i as i64 * 1_000, *o));
    }
}

fn timeline(probe: &LocatedProbe) -> Vec<Transition> {
    probe.probe.clone()
}

use Outcome::{Down as Fail, Up as Ok};

#[test]
fn one_location_down_keeps_the_probe_up_two_take_it_down_from_the_second() {
    let mut probe = LocatedProbe::restore(2, BTreeMap::new(), Vec::new());
    feed(&mut probe, "a", 0, &[Ok, Fail, Fail, Fail, Fail]);
    feed(&mut probe, "b", 0, &[Ok, Ok, Ok, Fail, Fail]);
    feed(&mut probe, "c", 0, &[Ok, Ok, Ok, Ok, Ok]);
    // a is down from 1000, b from 3000 (its first failed observation): the quorum of two is
    // reached at 3000.
    assert_eq!(timeline(&probe), vec![at(0, U), at(3_000, D)]);
    assert_eq!(
        probe.track("a").map(|t| t.log.clone()),
        Some(vec![at(0, U), at(1_000, D)])
    );
}

#[test]
fn a_silent_location_turns_unknown_and_the_others_keep_the_quorum() {
    let mut probe = LocatedProbe::restore(2, BTreeMap::new(), Vec::new());
    feed(&mut probe, "a", 0, &[Ok, Ok]);
    feed(&mut probe, "b", 0, &[Ok, Ok, Ok, Ok, Ok, Ok]);
    feed(&mut probe, "c", 0, &[Ok, Ok, Ok, Ok, Ok, Ok]);
    // a's last run at 1000 covers until 3000.
    let change = probe.expire(Timestamp(5_500));
    assert_eq!(change.locations.len(), 1);
    assert_eq!(change.locations[0].0, "a");
    assert_eq!(change.locations[0].1.transitions, vec![at(3_000, X)]);
    assert_eq!(change.probe, None, "b and c still make a quorum");
    assert_eq!(timeline(&probe), vec![at(0, U)]);
    // Expiring again changes nothing.
    assert!(probe.expire(Timestamp(5_600)).is_empty());
    // b goes silent too: fewer than two known from b's coverage end.
    let change = probe.expire(Timestamp(8_000));
    assert_eq!(change.locations.len(), 2, "b and c both stopped at 7000");
    assert_eq!(timeline(&probe), vec![at(0, U), at(7_000, X)]);
    assert_eq!(probe.coverage_end(), Some(Timestamp(7_000)));
}

#[test]
fn a_late_spool_takes_the_silence_back_and_dates_the_outage_as_the_location_saw_it() {
    let mut probe = LocatedProbe::restore(2, BTreeMap::new(), Vec::new());
    feed(&mut probe, "a", 0, &[Ok, Ok]);
    feed(
        &mut probe,
        "b",
        0,
        &[Ok, Fail, Fail, Fail, Fail, Fail, Fail],
    );
    feed(&mut probe, "c", 0, &[Ok, Ok, Ok, Ok, Ok, Ok, Ok]);
    probe.expire(Timestamp(6_500));
    // a silent (unknown from 3000), b down, c up: no quorum for down.
    assert_eq!(timeline(&probe), vec![at(0, U)]);
    // a's link comes back: its spool arrives with the original times, down from 2000.
    // Its first failure confirms nothing yet, but takes back the silence dated 3000.
    let change = probe.observe("a", input(2_000, Fail));
    assert_eq!(change.locations[0].1.from, Timestamp(3_000));
    assert_eq!(change.locations[0].1.transitions, vec![]);
    feed(&mut probe, "a", 3_000, &[Fail, Fail, Fail, Fail]);
    assert_eq!(probe.track("a").map(|t| t.silent_since), Some(None));
    assert_eq!(
        probe.track("a").map(|t| t.log.clone()),
        Some(vec![at(0, U), at(2_000, D)]),
        "the silence is gone and a's outage starts at its first failure"
    );
    // b down from 1000, a from 2000: the quorum is reached at 2000.
    assert_eq!(timeline(&probe), vec![at(0, U), at(2_000, D)]);
    // A replay adds nothing.
    assert!(probe.has_seen("a", Timestamp(4_000)));
    assert!(probe.observe("a", input(4_000, Fail)).is_empty());
}

#[test]
fn after_a_real_gap_the_location_restarts_from_unknown() {
    let mut probe = LocatedProbe::restore(1, BTreeMap::new(), Vec::new());
    feed(&mut probe, "a", 0, &[Ok]);
    probe.expire(Timestamp(10_000));
    assert_eq!(timeline(&probe), vec![at(0, U), at(2_000, X)]);
    // Back much later: the first success confirms up at once; the silence stays.
    feed(&mut probe, "a", 20_000, &[Ok]);
    assert_eq!(
        probe.track("a").map(|t| t.log.clone()),
        Some(vec![at(0, U), at(2_000, X), at(20_000, U)])
    );
    assert_eq!(
        timeline(&probe),
        vec![at(0, U), at(2_000, X), at(20_000, U)]
    );
}

#[test]
fn a_new_quorum_or_fewer_locations_apply_from_now() {
    let mut probe = LocatedProbe::restore(2, BTreeMap::new(), Vec::new());
    feed(&mut probe, "a", 0, &[Fail, Fail, Fail]);
    feed(&mut probe, "b", 0, &[Ok, Ok, Ok]);
    assert_eq!(timeline(&probe), vec![at(0, U)]);
    let change = probe.set_quorum(1, Timestamp(2_500));
    assert_eq!(change.map(|c| c.transitions), Some(vec![at(2_500, D)]));
    let change = probe.retain_locations(&["b".to_owned()], Timestamp(2_600));
    assert_eq!(change.map(|c| c.transitions), Some(vec![at(2_600, U)]));
}
