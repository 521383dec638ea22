//! Availability of a timeline over a period (sla-rules section 3 rules 7 and 8).
//!
//! Every figure comes from exact durations in integer milliseconds. The commitment and the
//! partial weight are scaled integers (parts per million), so "met" and the budgets are
//! decided in exact integer arithmetic: a month that is exactly at its budget is met, never
//! missed by a float rounding. Only the displayed ratios (`availability`, `coverage`) are
//! floats.

use super::timeline::segments;
use crate::domain::{ServiceSettings, State, Timestamp, Transition};

/// One in parts per million: the scale of [`Settings`]' exact decimals.
pub const PPM: u32 = 1_000_000;

/// How availability is computed; a report states the settings it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The monthly commitment in parts per million: 99.5 % is `995_000`.
    pub commitment_ppm: u32,
    /// Weight `w` of partial outage time in parts per million, at most [`PPM`]: 0.3 is
    /// `300_000`.
    pub partial_weight_ppm: u32,
    /// Maintenance counts as downtime (the default: the contract grants no exclusion);
    /// otherwise maintenance time is left out of the measured time.
    pub maintenance_counts_as_downtime: bool,
}

impl Default for Settings {
    /// The contract and sla-rules defaults: 99.5 %, w = 0.3, maintenance counts as downtime.
    fn default() -> Self {
        Settings {
            commitment_ppm: 995_000,
            partial_weight_ppm: 300_000,
            maintenance_counts_as_downtime: true,
        }
    }
}

impl Settings {
    /// From the configuration's decimals (`99.5`, `0.3`), each rounded to the nearest ppm so
    /// that the binary float `0.3` becomes exactly `300_000`. Values are clamped to
    /// `0..=100` % and `0..=1`, and NaN becomes 0; config validation rejects both anyway.
    pub fn from_percent(
        commitment_percent: f64,
        partial_weight: f64,
        maintenance_counts_as_downtime: bool,
    ) -> Settings {
        Settings {
            commitment_ppm: to_ppm(commitment_percent * 10_000.0),
            partial_weight_ppm: to_ppm(partial_weight * f64::from(PPM)),
            maintenance_counts_as_downtime,
        }
    }

    /// What `durations` charge against the budget: the bad time `down + w*partial + M` in
    /// ppm-milliseconds (exact) and the measured time `total - unknown - X` in milliseconds.
    pub(super) fn charge(self, d: &StateDurations) -> (i128, i128) {
        let ppm = i128::from(PPM);
        let maintenance = i128::from(d.maintenance_ms);
        let (counted, excluded) = if self.maintenance_counts_as_downtime {
            (maintenance, 0)
        } else {
            (0, maintenance)
        };
        let bad = (i128::from(d.down_ms) + counted) * ppm
            + i128::from(self.partial_weight_ppm) * i128::from(d.partial_ms);
        let measured = i128::from(d.total_ms()) - i128::from(d.unknown_ms) - excluded;
        (bad, measured)
    }

    /// The error budget's share of measured time, `1 - c`, in ppm.
    pub(super) fn budget_ppm(self) -> i128 {
        i128::from(PPM) - i128::from(self.commitment_ppm)
    }
}

impl From<&ServiceSettings> for Settings {
    fn from(s: &ServiceSettings) -> Self {
        Settings::from_percent(
            s.commitment_percent,
            s.partial_weight,
            s.maintenance_counts_as_downtime,
        )
    }
}

/// Rounds a value already scaled to ppm and clamps it to `0..=PPM` (NaN gives 0).
fn to_ppm(scaled: f64) -> u32 {
    // `as` saturates and maps NaN to 0; the clamp keeps the result a valid fraction.
    (scaled.round() as u32).min(PPM)
}

/// Time spent in each state over a period, in milliseconds; the fields sum to the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateDurations {
    pub up_ms: i64,
    pub degraded_ms: i64,
    pub partial_ms: i64,
    pub down_ms: i64,
    pub maintenance_ms: i64,
    pub unknown_ms: i64,
}

impl StateDurations {
    /// The durations of `timeline` over `[from, to)`; all zero if `to <= from`.
    pub fn of(timeline: &[Transition], from: Timestamp, to: Timestamp) -> StateDurations {
        let mut d = StateDurations::default();
        for seg in segments(timeline, from, to) {
            let slot = match seg.state {
                State::Up => &mut d.up_ms,
                State::Degraded => &mut d.degraded_ms,
                State::Partial => &mut d.partial_ms,
                State::Down => &mut d.down_ms,
                State::Maintenance => &mut d.maintenance_ms,
                State::Unknown => &mut d.unknown_ms,
            };
            *slot = slot.saturating_add(length(seg.start, seg.end));
        }
        d
    }

    /// The whole period: the sum of every state's time.
    pub fn total_ms(&self) -> i64 {
        [
            self.up_ms,
            self.degraded_ms,
            self.partial_ms,
            self.down_ms,
            self.maintenance_ms,
            self.unknown_ms,
        ]
        .into_iter()
        .fold(0, i64::saturating_add)
    }
}

/// A timeline's availability over a period, with what the report shows beside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Availability {
    /// The period's length (`to - from`; for the current month, up to now).
    pub total_ms: i64,
    pub durations: StateDurations,
    /// `1 - (down + w*partial + M) / (total - unknown - X)`; `None` when nothing was measured.
    pub availability: Option<f64>,
    /// `(total - unknown) / total`: the share of the period that was observed; 0 for an empty
    /// period.
    pub coverage: f64,
    /// Availability >= commitment, unrounded and exact; `None` when nothing was measured.
    pub met: Option<bool>,
    /// `floor((1 - c) * (total - unknown - X))`.
    pub allowed_downtime_ms: i64,
    /// `floor((1 - c) * (total - unknown - X) - (down + w*partial + M))`: negative once the
    /// budget is overspent; at least 0 exactly when `met` is not `Some(false)`.
    pub budget_remaining_ms: i64,
    /// Maximal down intervals within the period (one crossing a boundary is cut at it).
    pub outages: usize,
    /// The longest of them; 0 when there are none.
    pub longest_outage_ms: i64,
    /// Their mean duration, floored; `None` when there are none.
    pub mttr_ms: Option<i64>,
}

/// The availability of `timeline` over `[from, to)` (rule 7), with outage statistics over
/// its maximal down intervals cut at the period's ends (rule 8).
///
/// For the current month pass `to = now`: the future is not unknown time.
pub fn availability(
    timeline: &[Transition],
    from: Timestamp,
    to: Timestamp,
    settings: Settings,
) -> Availability {
    let durations = StateDurations::of(timeline, from, to);
    let total_ms = durations.total_ms();
    let (bad, measured) = settings.charge(&durations);
    let ppm = i128::from(PPM);
    // Exact allowance in ppm-milliseconds: (1 - c) * measured.
    let allowed = settings.budget_ppm() * measured;

    let (availability, met) = if measured > 0 {
        let scaled = measured * ppm;
        // One division of two exact integers: the correctly rounded ratio, so a month exactly
        // at 99.5 % reads as the float 0.995.
        let ratio = (scaled - bad) as f64 / scaled as f64;
        (Some(ratio), Some(bad <= allowed))
    } else {
        (None, None)
    };
    let coverage = if total_ms > 0 {
        (total_ms - durations.unknown_ms) as f64 / total_ms as f64
    } else {
        0.0
    };

    let outages: Vec<i64> = segments(timeline, from, to)
        .iter()
        .filter(|seg| seg.state == State::Down)
        .map(|seg| length(seg.start, seg.end))
        .collect();
    let down_total = outages.iter().copied().fold(0, i64::saturating_add);
    let mttr_ms = i64::try_from(outages.len())
        .ok()
        .filter(|count| *count > 0)
        .map(|count| down_total.div_euclid(count));

    Availability {
        total_ms,
        durations,
        availability,
        coverage,
        met,
        allowed_downtime_ms: saturate(allowed.div_euclid(ppm)),
        budget_remaining_ms: saturate((allowed - bad).div_euclid(ppm)),
        outages: outages.len(),
        longest_outage_ms: outages.iter().copied().max().unwrap_or(0),
        mttr_ms,
    }
}

/// Length of `[start, end)` in milliseconds (saturating for absurd spans).
fn length(start: Timestamp, end: Timestamp) -> i64 {
    end.millis().saturating_sub(start.millis())
}

/// Narrows an exact intermediate to `i64`, saturating; only absurd periods reach the limits.
fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}
