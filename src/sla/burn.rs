//! Error-budget burn rates over the windows of the SRE workbook's multiwindow alerts.
//!
//! A burn rate of 1 spends exactly the budget over the period; a rate of `b` sustained over a
//! window of length `L` spends `b * L / period` of a month's budget. The thresholds below are
//! the workbook's for a 30-day budget: they alert when a window has spent 2 % (1 h), 5 % (6 h)
//! or 10 % (3 days) of the month's budget.

use super::availability::{Settings, StateDurations};
use crate::domain::{Timestamp, Transition};

const HOUR_MS: i64 = 3_600_000;

/// Page when the 1-hour burn rate reaches this: 2 % of a 30-day budget in one hour.
pub const BURN_ALERT_1H: f64 = 14.4;
/// Page when the 6-hour burn rate reaches this: 5 % of a 30-day budget in six hours.
pub const BURN_ALERT_6H: f64 = 6.0;
/// Open a ticket when the 3-day burn rate reaches this: 10 % of a 30-day budget in 3 days.
pub const BURN_ALERT_3D: f64 = 1.0;

/// Burn rates over the windows ending now; `None` where nothing in the window was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRates {
    pub h1: Option<f64>,
    pub h6: Option<f64>,
    pub h24: Option<f64>,
    pub d3: Option<f64>,
}

/// Burn rates of `timeline` over the last 1 h, 6 h, 24 h and 3 days before `now`: in each
/// window `[now - L, now)`, `(bad / measured) / (1 - c)` with bad and measured as in
/// availability (rule 7).
pub fn burn_rates(timeline: &[Transition], now: Timestamp, settings: Settings) -> BurnRates {
    let rate = |hours: i64| burn_rate(timeline, now.plus_ms(-hours * HOUR_MS), now, settings);
    BurnRates {
        h1: rate(1),
        h6: rate(6),
        h24: rate(24),
        d3: rate(72),
    }
}

/// The burn rate over `[from, to)`, as one division of exact integers.
fn burn_rate(
    timeline: &[Transition],
    from: Timestamp,
    to: Timestamp,
    settings: Settings,
) -> Option<f64> {
    let (bad, measured) = settings.charge(&StateDurations::of(timeline, from, to));
    if measured <= 0 {
        return None;
    }
    let budget = settings.budget_ppm();
    if budget <= 0 {
        // A 100 % commitment has no budget: any bad time burns it infinitely fast.
        return Some(if bad > 0 { f64::INFINITY } else { 0.0 });
    }
    // bad is in ppm-ms and budget in ppm: (bad / ppm / measured) / (budget / ppm).
    Some(bad as f64 / (measured * budget) as f64)
}
