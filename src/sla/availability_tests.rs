//! Table tests of availability, budgets, outages and burn rates (sla-rules section 3 rules 7,
//! 8, the allowed-downtime table) and a seeded property test against the exact rational.
//!
//! Timelines are `(ms, state)` rows; periods start at 0 unless a row says otherwise.

use super::*;
use crate::domain::{State, Timestamp, Transition};
use State::{Degraded as G, Down as D, Maintenance as M, Partial as P, Unknown as X, Up as U};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
const MONTH: i64 = 30 * DAY;

/// The defaults: 99.5 %, w = 0.3, maintenance counts as downtime.
const COUNTED: Settings = Settings {
    commitment_ppm: 995_000,
    partial_weight_ppm: 300_000,
    maintenance_counts_as_downtime: true,
};
/// The same with maintenance excluded from the measured time.
const EXCLUDED: Settings = Settings {
    maintenance_counts_as_downtime: false,
    ..COUNTED
};

fn tl(points: &[(i64, State)]) -> Vec<Transition> {
    points
        .iter()
        .map(|&(at, state)| Transition {
            at: Timestamp(at),
            state,
        })
        .collect()
}

/// Availability of `points` over `[0, period)`.
fn of(points: &[(i64, State)], period: i64, settings: Settings) -> Availability {
    availability(&tl(points), Timestamp(0), Timestamp(period), settings)
}

/// Checks `(allowed_downtime_ms, budget_remaining_ms, met)` of `points` over `[0, period)`
/// with the default settings.
fn check(period: i64, points: &[(i64, State)], expected: (i64, i64, Option<bool>)) {
    let a = of(points, period, COUNTED);
    assert_eq!(
        (a.allowed_downtime_ms, a.budget_remaining_ms, a.met),
        expected,
        "{points:?} over {period} ms"
    );
}

#[test]
fn settings_from_config_decimals_are_exact_ppm() {
    assert_eq!(Settings::from_percent(99.5, 0.3, true), COUNTED);
    assert_eq!(Settings::default(), COUNTED);
    for (percent, weight, expected) in [
        (99.95, 1.0, (999_500, PPM)),
        (99.99994, 0.1, (999_999, 100_000)),
        (120.0, -1.0, (PPM, 0)),
        (f64::NAN, 2.0, (0, PPM)),
    ] {
        let s = Settings::from_percent(percent, weight, false);
        assert_eq!((s.commitment_ppm, s.partial_weight_ppm), expected);
    }
}

#[test]
fn allowed_downtime_at_99_5_matches_the_table() {
    for (days, allowed) in [
        (28, 12_096_000), // 201.6 min
        (29, 12_528_000), // 208.8 min
        (30, 12_960_000), // 216 min
        (31, 13_392_000), // 223.2 min
    ] {
        check(days * DAY, &[(0, U)], (allowed, allowed, Some(true)));
    }
}

#[test]
fn a_30_day_month_is_met_at_exactly_216_minutes_of_downtime() {
    let outage = |minutes: i64, state| [(0, U), (DAY, state), (DAY + minutes * MIN, U)];
    check(MONTH, &outage(216, D), (12_960_000, 0, Some(true)));
    check(MONTH, &outage(217, D), (12_960_000, -60_000, Some(false)));
    assert_eq!(
        of(&outage(216, D), MONTH, COUNTED).availability,
        Some(0.995)
    );
    // Partial at w = 0.3: 720 min weigh exactly 216.
    check(MONTH, &outage(720, P), (12_960_000, 0, Some(true)));
    check(MONTH, &outage(721, P), (12_960_000, -18_000, Some(false)));
    assert_eq!(
        of(&outage(720, P), MONTH, COUNTED).availability,
        Some(0.995)
    );
    // Degraded counts as available: the budget is untouched.
    let degraded = of(&outage(9_000, G), MONTH, COUNTED);
    assert_eq!(degraded.availability, Some(1.0));
    assert_eq!(degraded.budget_remaining_ms, degraded.allowed_downtime_ms);
}

#[test]
fn budgets_are_floored_toward_minus_infinity() {
    // 1001 ms at 0.5 % allow 5.005 ms.
    check(1_001, &[(0, U)], (5, 5, Some(true)));
    check(1_001, &[(0, D), (1, U)], (5, 4, Some(true)));
    check(1_001, &[(0, D), (5, U)], (5, 0, Some(true)));
    check(1_001, &[(0, D), (6, U)], (5, -1, Some(false)));
    // 19 ms partial weigh 5.7 ms: 5.005 - 5.7 = -0.695, floored to -1.
    check(1_001, &[(0, P), (19, U)], (5, -1, Some(false)));
    check(1_001, &[(0, P), (16, U)], (5, 0, Some(true)));
}

#[test]
fn unknown_time_is_left_out_of_the_measured_time_and_lowers_coverage() {
    // 10 of 30 days unknown: 20 days measured allow 144 min, and 216 min down exceed it.
    let points = [(10 * DAY, U), (20 * DAY, D), (20 * DAY + 216 * MIN, U)];
    check(MONTH, &points, (8_640_000, -4_320_000, Some(false)));
    let a = of(&points, MONTH, COUNTED);
    assert_eq!(a.durations.unknown_ms, 10 * DAY);
    assert_eq!(a.coverage, 2.0 / 3.0);
    assert_eq!(a.availability, Some(0.9925));
    assert_eq!(of(&[(0, U)], MONTH, COUNTED).coverage, 1.0);
}

#[test]
fn nothing_measured_gives_no_availability_and_no_verdict() {
    for (points, period) in [(&[][..], MONTH), (&[(0, X)][..], DAY), (&[(0, U)][..], 0)] {
        let a = of(points, period, COUNTED);
        assert_eq!((a.availability, a.coverage, a.met), (None, 0.0, None));
        assert_eq!((a.allowed_downtime_ms, a.budget_remaining_ms), (0, 0));
    }
    // Only maintenance, excluded: measured time is zero too, but coverage is full.
    let a = of(&[(0, M)], DAY, EXCLUDED);
    assert_eq!((a.availability, a.coverage, a.met), (None, 1.0, None));
}

#[test]
fn maintenance_counts_as_downtime_by_default_or_is_excluded() {
    let points = [(0, U), (DAY, M), (DAY + 216 * MIN, D), (DAY + 217 * MIN, U)];
    // Excluded: 30 days - 216 min measured allow 214.92 min; 1 min down leaves 213.92.
    for (settings, expected) in [
        (COUNTED, (12_960_000, -60_000, Some(false))),
        (EXCLUDED, (12_895_200, 12_835_200, Some(true))),
    ] {
        let a = of(&points, MONTH, settings);
        assert_eq!(a.durations.maintenance_ms, 216 * MIN);
        let got = (a.allowed_downtime_ms, a.budget_remaining_ms, a.met);
        assert_eq!(got, expected, "{settings:?}");
    }
}

/// Checks `(outages, longest_outage_ms, mttr_ms)` of `points` over `[from, to)`.
fn check_outages(points: &[(i64, State)], from: i64, to: i64, expected: (usize, i64, Option<i64>)) {
    let a = availability(&tl(points), Timestamp(from), Timestamp(to), COUNTED);
    assert_eq!(
        (a.outages, a.longest_outage_ms, a.mttr_ms),
        expected,
        "{points:?}"
    );
}

#[test]
fn outages_are_maximal_down_intervals_cut_at_the_period() {
    let three = [(0, U), (10, D), (20, U), (30, D), (60, U), (70, D), (74, U)];
    check_outages(&three, 0, 100, (3, 30, Some(14))); // MTTR 44 / 3, floored
    check_outages(&three, 15, 65, (2, 30, Some(17))); // cut at both ends
    check_outages(&[(0, U)], 0, 100, (0, 0, None));
    check_outages(&[(0, D), (10, D), (20, U)], 0, 100, (1, 20, Some(20))); // repeats merge
    check_outages(&[(-50, D), (20, U)], 0, 100, (1, 20, Some(20))); // cut at the start
    check_outages(&[(0, U), (90, D)], 0, 100, (1, 10, Some(10))); // cut at the end
    check_outages(&[(0, P), (10, M), (20, X)], 0, 100, (0, 0, None)); // only down counts
    check_outages(&[(0, D), (10, M), (20, D)], 0, 30, (2, 10, Some(10)));
}

#[test]
fn burn_rate_is_the_bad_share_of_measured_time_over_the_budget() {
    let now = 10 * DAY;
    // Up for the last 3 days with 30 s down in the last hour.
    let points = [
        (now - 3 * DAY, U),
        (now - 10 * MIN, D),
        (now - 10 * MIN + 30_000, U),
    ];
    let rates = burn_rates(&tl(&points), Timestamp(now), COUNTED);
    let expected = |window_ms: i64| 30_000.0 / window_ms as f64 / 0.005;
    let close = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < 1e-9);
    assert!(close(rates.h1, 1.666_666_666_666_667), "{rates:?}");
    assert!(close(rates.h6, expected(6 * HOUR)), "{rates:?}");
    assert!(close(rates.h24, expected(DAY)), "{rates:?}");
    assert!(close(rates.d3, expected(3 * DAY)), "{rates:?}");

    // Unknown time is not measured: only the last hour was observed.
    let rates = burn_rates(
        &tl(&[(now - HOUR, D), (now - HOUR + 30_000, U)]),
        Timestamp(now),
        COUNTED,
    );
    assert_eq!((rates.h6, rates.d3), (rates.h1, rates.h1));
    let none = BurnRates {
        h1: None,
        h6: None,
        h24: None,
        d3: None,
    };
    assert_eq!(burn_rates(&[], Timestamp(now), COUNTED), none);
    assert_eq!(
        burn_rates(&tl(&[(now, D)]), Timestamp(now), COUNTED),
        none,
        "future excluded"
    );

    let strict = Settings {
        commitment_ppm: PPM,
        ..COUNTED
    };
    assert_eq!(
        burn_rates(&tl(&points), Timestamp(now), strict).h1,
        Some(f64::INFINITY)
    );
    assert_eq!(
        burn_rates(&tl(&[(0, U)]), Timestamp(now), strict).h1,
        Some(0.0)
    );
}

#[test]
fn alert_thresholds_spend_the_workbooks_share_of_a_30_day_budget() {
    for (threshold, window_hours, share) in [
        (BURN_ALERT_1H, 1.0, 0.02),
        (BURN_ALERT_6H, 6.0, 0.05),
        (BURN_ALERT_3D, 72.0, 0.10),
    ] {
        assert!(
            (threshold * window_hours / 720.0 - share).abs() < 1e-12,
            "{threshold}"
        );
    }
}

/// Property: for random timelines, periods and settings, the durations sum to the period and
/// match a millisecond-by-millisecond count; availability, when defined, is within [0, 1];
/// `met` and the budget agree with the exact rational; the outage figures are consistent.
#[test]
fn figures_agree_with_the_exact_rational_for_random_timelines() {
    let mut seed: u64 = 0xa7a1_1ab1e;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for _case in 0..500 {
        let mut at = -50;
        let timeline: Vec<Transition> = (0..next(12))
            .map(|_| {
                at += 1 + next(80) as i64;
                Transition {
                    at: Timestamp(at),
                    state: State::ALL[next(6) as usize],
                }
            })
            .collect();
        let from = next(200) as i64 - 60;
        let to = from + next(400) as i64 - 10;
        let settings = Settings {
            commitment_ppm: 900_000 + next(100_001) as u32,
            partial_weight_ppm: next(1_000_001) as u32,
            maintenance_counts_as_downtime: next(2) == 0,
        };
        let a = availability(&timeline, Timestamp(from), Timestamp(to), settings);
        let d = a.durations;

        let mut brute = StateDurations::default();
        for ms in from..to {
            let slot = match state_at(&timeline, Timestamp(ms)) {
                U => &mut brute.up_ms,
                G => &mut brute.degraded_ms,
                P => &mut brute.partial_ms,
                D => &mut brute.down_ms,
                M => &mut brute.maintenance_ms,
                X => &mut brute.unknown_ms,
            };
            *slot += 1;
        }
        assert_eq!(d, brute, "{timeline:?} over [{from}, {to})");
        assert_eq!(d.total_ms(), (to - from).max(0));
        assert_eq!(a.total_ms, (to - from).max(0));

        // The exact rational: availability = 1 - bad / measured, compared with c.
        let ppm = i128::from(PPM);
        let (counted, excluded) = match settings.maintenance_counts_as_downtime {
            true => (d.maintenance_ms, 0),
            false => (0, d.maintenance_ms),
        };
        let measured = i128::from(a.total_ms - d.unknown_ms - excluded);
        let bad = i128::from(d.down_ms + counted) * ppm
            + i128::from(settings.partial_weight_ppm) * i128::from(d.partial_ms);
        let exact_met =
            (measured * ppm - bad) * ppm >= i128::from(settings.commitment_ppm) * measured * ppm;
        assert_eq!(
            a.met,
            (measured > 0).then_some(exact_met),
            "{d:?} {settings:?}"
        );
        assert_eq!(a.availability.is_some(), measured > 0);
        if let Some(av) = a.availability {
            assert!((0.0..=1.0).contains(&av), "availability {av}");
        }
        assert_eq!(a.budget_remaining_ms >= 0, a.met != Some(false));
        let left = (ppm - i128::from(settings.commitment_ppm)) * measured - bad;
        let floor = i128::from(a.budget_remaining_ms) * ppm;
        assert!(
            floor <= left && left < floor + ppm,
            "budget floored: {left} {floor}"
        );

        let count = a.outages as i64;
        assert!(a.longest_outage_ms <= d.down_ms);
        assert!(count * a.longest_outage_ms >= d.down_ms);
        match a.mttr_ms {
            None => assert_eq!((count, d.down_ms), (0, 0)),
            Some(mttr) => assert!(mttr * count <= d.down_ms && d.down_ms < (mttr + 1) * count),
        }
    }
}

#[test]
fn extreme_instants_saturate_instead_of_panicking() {
    let timeline = tl(&[(i64::MIN, D), (0, U), (i64::MAX - 1, X)]);
    let a = availability(&timeline, Timestamp(i64::MIN), Timestamp(i64::MAX), COUNTED);
    assert_eq!(
        (a.total_ms, a.durations.down_ms, a.outages),
        (i64::MAX, i64::MAX, 1)
    );
    assert_eq!(a.met, Some(false));
    let none = burn_rates(&timeline, Timestamp(i64::MIN), COUNTED);
    assert_eq!(none.d3, None, "an empty window at the start of time");
}
