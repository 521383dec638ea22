//! Table tests of declarations and maintenance (sla-rules section 3 rules 5, 6) and of the
//! overall timeline (rule 9), and a seeded property test of both.
//!
//! A pattern is one character per 10 ms slot: `U` up, `G` degraded, `P` partial, `D` down,
//! `M` maintenance, `.` unknown; the last slot's state lasts forever. A declaration is
//! `(from, to, state)` and a maintenance window `(from, to)`, in slots, with `to = None`
//! while still open.

use super::*;
use crate::domain::{State, Timestamp, Transition};
use State::{Degraded as G, Down as D, Maintenance as M, Partial as P, Unknown as X, Up as U};

const SLOT: i64 = 10;

/// One transition per slot of `pattern`, repeats included (the overlays must drop them).
fn slots(pattern: &str) -> Vec<Transition> {
    pattern
        .chars()
        .zip(0..)
        .map(|(c, slot)| Transition {
            at: Timestamp(slot * SLOT),
            state: match c {
                'U' => U,
                'G' => G,
                'P' => P,
                'D' => D,
                'M' => M,
                '.' => X,
                other => panic!("bad pattern char {other:?}"),
            },
        })
        .collect()
}

/// The timeline `pattern` describes: only its changes, unknown before the first.
fn changes(pattern: &str) -> Vec<Transition> {
    let mut out: Vec<Transition> = Vec::new();
    for tr in slots(pattern) {
        if out.last().map_or(X, |last| last.state) != tr.state {
            out.push(tr);
        }
    }
    out
}

fn at(slot: i64) -> Timestamp {
    Timestamp(slot * SLOT)
}

/// Overlays the declarations and windows on `measured` and compares the channel timeline
/// with `expected`, transition by transition.
fn check(
    measured: &str,
    declared: &[(i64, Option<i64>, State)],
    maintenance: &[(i64, Option<i64>)],
    expected: &str,
) {
    let declarations: Vec<Declaration> = declared
        .iter()
        .map(|&(from, to, state)| Declaration {
            from: at(from),
            to: to.map(at),
            state,
        })
        .collect();
    let windows: Vec<Window> = maintenance
        .iter()
        .map(|&(from, to)| Window {
            from: at(from),
            to: to.map(at),
        })
        .collect();
    assert_eq!(
        channel_timeline(&slots(measured), &declarations, &windows),
        changes(expected),
        "measured {measured:?} declared {declared:?} maintenance {maintenance:?}"
    );
}

#[test]
fn without_overlays_the_measured_timeline_is_kept_without_repeats() {
    check("", &[], &[], "");
    check("UUDD", &[], &[], "UUDD");
    check("U..UG", &[], &[], "U..UG");
    let exact = channel_timeline(&slots("UUD"), &[], &[]);
    let expected = [(0, U), (20, D)].map(|(ms, state)| Transition {
        at: Timestamp(ms),
        state,
    });
    assert_eq!(exact, expected);
}

#[test]
fn a_declaration_takes_the_worse_of_declared_and_measured() {
    check("UUUUU", &[(1, Some(3), D)], &[], "UDDUU");
    check("GGGGG", &[(1, Some(3), P)], &[], "GPPGG");
    // Declared better than measured: the measurement stands.
    check("DDDDD", &[(1, Some(3), G)], &[], "DDDDD");
    check("PPPPP", &[(1, Some(3), G)], &[], "PPPPP");
    // The measurement worsens under the declaration and outlasts it.
    check("UUDDUU", &[(1, Some(3), P)], &[], "UPDDUU");
}

#[test]
fn a_declaration_over_unknown_counts_as_covered() {
    check(".....", &[(1, Some(3), P)], &[], ".PP..");
    check("U..UU", &[(0, Some(2), G)], &[], "GG.UU");
    // A declared-only channel (no probe) gets its whole state from declarations.
    check("", &[(0, Some(1), D), (1, Some(3), G)], &[], "DGG..");
}

#[test]
fn declarations_are_open_ended_overlapping_and_successive() {
    check("UUUU", &[(1, None, D)], &[], "UDDD");
    check("", &[(1, None, G)], &[], ".GGG");
    check("UUUUU", &[(1, Some(3), G), (2, Some(4), D)], &[], "UGDDU");
    check("UUUUU", &[(1, Some(2), D), (2, Some(3), P)], &[], "UDPUU");
    check("UUUUU", &[(1, Some(2), D), (2, None, D)], &[], "UDDDD");
}

#[test]
fn only_impacts_are_declared_and_empty_declarations_hold_nowhere() {
    check("UUU", &[(1, None, U), (1, None, M)], &[], "UUU");
    check("...", &[(1, None, U), (1, None, X)], &[], "...");
    check("UUU", &[(1, Some(1), D), (2, Some(0), D)], &[], "UUU");
}

#[test]
fn maintenance_overrides_measurements_and_declarations() {
    check("UUDD", &[], &[(1, Some(3))], "UMMD");
    check("UUUUU", &[(0, Some(4), D)], &[(1, Some(3))], "DMMDU");
    check("", &[], &[(1, Some(2))], ".M..");
    check("UUUU", &[(0, None, D)], &[(2, None)], "DDMM");
    check("UUUUU", &[], &[(1, Some(3)), (2, Some(4))], "UMMMU");
    check("UUUUU", &[], &[(1, Some(2)), (2, Some(3))], "UMMUU");
    check("UUU", &[], &[(1, Some(1))], "UUU");
}

/// Rule 9 at one instant.
fn check_overall(states: &[State], expected: State) {
    assert_eq!(
        overall_state(states.iter().copied()),
        expected,
        "{states:?}"
    );
}

#[test]
fn overall_state_follows_rule_9_branch_by_branch() {
    // Unknown only when every channel is unknown (or there is none).
    check_overall(&[], X);
    check_overall(&[X, X], X);
    // Maintenance if all known channels are in maintenance.
    check_overall(&[M], M);
    check_overall(&[M, M, X], M);
    // Down if all are down or in maintenance, at least one down.
    check_overall(&[D], D);
    check_overall(&[D, D, X], D);
    check_overall(&[D, M], D);
    // Partial if any is down, partial or in maintenance (and not all down/maintenance).
    check_overall(&[D, U], P);
    check_overall(&[M, U], P);
    check_overall(&[P, U], P);
    check_overall(&[P, P], P);
    check_overall(&[D, G], P);
    check_overall(&[M, G, X], P);
    // Degraded if any is degraded.
    check_overall(&[G, U], G);
    check_overall(&[G, X], G);
    // Up otherwise.
    check_overall(&[U], U);
    check_overall(&[U, U, X], U);
}

#[test]
fn overall_timeline_applies_rule_9_at_every_instant() {
    let a = slots("UDDUU.");
    let b = slots("UUDDMM.");
    assert_eq!(overall_timeline(&[&a, &b]), changes("UPDPPM."));
    let late = slots("..GGG");
    assert_eq!(
        overall_timeline(&[&a, &late]),
        changes("UDPGGG"),
        "an unknown channel is left out until it is measured"
    );
    assert!(overall_timeline(&[]).is_empty());
}

/// Property: for random measured timelines, declarations and windows, the channel and overall
/// timelines are strictly increasing, never repeat a state, and agree at every millisecond
/// with the rules evaluated directly.
#[test]
fn overlays_agree_with_the_rules_at_every_instant_for_random_inputs() {
    let mut seed: u64 = 0x0fe7_1a75;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let random_timeline = |next: &mut dyn FnMut(u64) -> u64| {
        let mut at = -20;
        (0..next(8))
            .map(|_| {
                at += 1 + next(30) as i64;
                Transition {
                    at: Timestamp(at),
                    state: State::ALL[next(6) as usize],
                }
            })
            .collect::<Vec<_>>()
    };
    let interval = |next: &mut dyn FnMut(u64) -> u64| {
        let from = next(200) as i64 - 20;
        let to = (next(4) > 0).then(|| from + next(60) as i64 - 5);
        (Timestamp(from), to.map(Timestamp))
    };
    for _case in 0..300 {
        let measured = random_timeline(&mut next);
        let declared: Vec<Declaration> = (0..next(4))
            .map(|_| {
                let (from, to) = interval(&mut next);
                let state = State::ALL[next(6) as usize];
                Declaration { from, to, state }
            })
            .collect();
        let maintenance: Vec<Window> = (0..next(3))
            .map(|_| {
                let (from, to) = interval(&mut next);
                Window { from, to }
            })
            .collect();
        let channel = channel_timeline(&measured, &declared, &maintenance);
        let other = random_timeline(&mut next);
        let overall = overall_timeline(&[&channel, &other]);
        for out in [&channel, &overall] {
            for pair in out.windows(2) {
                assert!(pair[0].at < pair[1].at, "strictly increasing: {out:?}");
                assert_ne!(pair[0].state, pair[1].state, "no repeats: {out:?}");
            }
        }
        let holds =
            |from: Timestamp, to: Option<Timestamp>, t| from <= t && to.is_none_or(|to| t < to);
        for ms in -30..300 {
            let t = Timestamp(ms);
            let expected = if maintenance.iter().any(|w| holds(w.from, w.to, t)) {
                M
            } else {
                declared
                    .iter()
                    .filter(|d| matches!(d.state, G | P | D) && holds(d.from, d.to, t))
                    .map(|d| d.state)
                    .chain([state_at(&measured, t)])
                    .max_by_key(|s| s.severity())
                    .unwrap_or(X)
            };
            assert_eq!(state_at(&channel, t), expected, "channel at {ms}");
            assert_eq!(
                state_at(&overall, t),
                overall_state([expected, state_at(&other, t)]),
                "overall at {ms}"
            );
        }
    }
}

/// Rule 6's new sentences, one row per case: a maintenance (offsets from the fixtures' `C`),
/// the window as it counts, where it is late the planned start and announcement, and the
/// instant it takes effect from, as the API shows it.
#[test]
fn a_window_takes_effect_no_earlier_than_its_announcement() {
    use super::ticket_fixtures::{mnt, Inc, C, H, M as MIN};
    type Row = (
        &'static str,
        Inc,
        Option<(i64, Option<i64>)>,
        Option<(i64, i64)>,
        Option<i64>,
    );
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("announced before its start: the whole window", mnt(1).announce(-H, "chat").window(0, H, true, true), Some((0, Some(H))), None, Some(0)),
        ("announced at its start: the whole window", mnt(1).announce(0, "chat").window(0, H, true, true), Some((0, Some(H))), None, Some(0)),
        ("announced mid-window: from the announcement", mnt(1).announce(20 * MIN, "chat").window(0, H, true, true), Some((20 * MIN, Some(H))), Some((0, 20 * MIN)), Some(20 * MIN)),
        ("announced mid-window, ended by hand", mnt(1).announce(20 * MIN, "chat").window(0, H, true, false).complete(30 * MIN), Some((20 * MIN, Some(30 * MIN))), Some((0, 20 * MIN)), Some(20 * MIN)),
        ("announced at its end: no effect", mnt(1).announce(H, "chat").window(0, H, true, true), None, Some((0, H)), Some(H)),
        ("announced after its end: no effect", mnt(1).announce(2 * H, "chat").window(0, H, true, true), None, Some((0, 2 * H)), Some(2 * H)),
        ("announced after its start, open-ended", mnt(1).announce(20 * MIN, "chat").window(0, H, true, false), Some((20 * MIN, None)), Some((0, 20 * MIN)), Some(20 * MIN)),
        ("imported with original times: the whole window", mnt(1).imported().announce(-H, "chat").window(0, H, true, true), Some((0, Some(H))), None, Some(0)),
        ("imported, announced mid-window: the same rule", mnt(1).imported().announce(20 * MIN, "chat").window(0, H, true, true), Some((20 * MIN, Some(H))), Some((0, 20 * MIN)), Some(20 * MIN)),
        ("started by hand after the announcement: never late", mnt(1).announce(-H, "chat").window(-2 * H, H, false, true).begin(10 * MIN), Some((10 * MIN, Some(H))), None, Some(10 * MIN)),
        ("hand start not yet begun: from its schedule", mnt(1).announce(-H, "chat").window(0, H, false, false), None, None, Some(0)),
        ("hand start not yet begun, scheduled in the past", mnt(1).announce(-H, "chat").window(-2 * H, H, false, false), None, None, Some(-H)),
        ("a draft takes no effect", mnt(1).draft(-H, "chat").window(0, H, true, true), None, None, None),
    ];
    for (name, inc, window, late, effect) in rows {
        let incident = inc.build();
        let ts = |offset: i64| Timestamp(C + offset);
        assert_eq!(
            maintenance_window(&incident),
            window.map(|(from, to)| Window {
                from: ts(from),
                to: to.map(ts),
            }),
            "{name}: window"
        );
        assert_eq!(
            late_announcement(&incident).map(|l| (l.planned_from, l.announced_at, l.counted)),
            late.map(|(planned, announced)| (
                ts(planned),
                ts(announced),
                maintenance_window(&incident)
            )),
            "{name}: late announcement"
        );
        assert_eq!(
            takes_effect_from(&incident),
            effect.map(ts),
            "{name}: takes effect from"
        );
    }
}

/// A window created after the fact over a measured outage: the outage before the
/// announcement stays down, only the rest of the window is maintenance.
#[test]
fn a_late_window_keeps_the_measured_outage_before_its_announcement() {
    use super::ticket_fixtures::{mnt, C, H, M as MIN};
    let tr = |offset: i64, state| Transition {
        at: Timestamp(C + offset),
        state,
    };
    let measured = [tr(-4 * H, U), tr(-2 * H, D), tr(-H, U)];
    let late = mnt(1)
        .announce(-90 * MIN, "chat")
        .window(-3 * H, 0, true, true)
        .build();
    let windows: Vec<Window> = maintenance_window(&late).into_iter().collect();
    assert_eq!(
        channel_timeline(&measured, &[], &windows),
        [tr(-4 * H, U), tr(-2 * H, D), tr(-90 * MIN, M), tr(0, U)]
    );
    let after_the_fact = mnt(2)
        .announce(H, "chat")
        .window(-3 * H, 0, true, true)
        .build();
    let windows: Vec<Window> = maintenance_window(&after_the_fact).into_iter().collect();
    assert_eq!(
        channel_timeline(&measured, &[], &windows),
        measured,
        "announced after its end: the past is as measured"
    );
}
