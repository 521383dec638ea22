//! Response-time calendars (sla-rules 2.1): when a target of so many hours falls due.
//!
//! Critical and High always run on the 24x7 calendar (the contract's support channels are
//! "available 24 hours per day, 7 days a week, 365 days a year"). Medium and Low run on the
//! configured [`Calendar`]: plain calendar hours (C1, the default) or Tier-2 business hours
//! (C2), 06:00-16:00 UTC Monday to Friday except holidays, because Tier 2 specialists are
//! only there then. Everything is UTC, so daylight saving time never enters.
//!
//! Arithmetic is done in `i128` so that no input, however far from today, can overflow;
//! a deadline beyond the last representable instant saturates to it.

use crate::domain::Timestamp;
use time::Date;

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// Tier 2 opens at 06:00 UTC (milliseconds after midnight)...
pub const TIER2_OPEN_MS: i64 = 6 * HOUR_MS;
/// ...and closes at 16:00 UTC; business hours are the half-open `[06:00, 16:00)`.
pub const TIER2_CLOSE_MS: i64 = 16 * HOUR_MS;

const DAY_MS: i128 = 86_400_000;
const OPEN: i128 = TIER2_OPEN_MS as i128;
const CLOSE: i128 = TIER2_CLOSE_MS as i128;
/// Five business days of ten hours: what any seven whole days without a holiday contain.
const WEEK_BUSINESS_MS: i128 = 5 * (CLOSE - OPEN);
/// Julian day number of 1970-01-01, to turn dates into days since the epoch.
const EPOCH_JULIAN_DAY: i128 = 2_440_588;

/// The calendar Medium and Low targets are counted on (`[tickets] calendar` in probes.toml).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Calendar {
    /// C1: calendar hours; due = received + target. The default: simplest, and what a
    /// customer reading "24 hours" expects.
    #[default]
    Calendar,
    /// C2: Tier-2 business hours, 06:00-16:00 UTC Monday to Friday, minus `holidays`
    /// ("business days" is undefined in the contract, so the holiday list is configuration).
    Tier2 { holidays: Vec<Date> },
}

impl Calendar {
    /// The name a report states for the calendar in force: `calendar` or `tier2`.
    pub fn name(&self) -> &'static str {
        match self {
            Calendar::Calendar => "calendar",
            Calendar::Tier2 { .. } => "tier2",
        }
    }
}

/// When a target of `target_ms` counted from `received_at` falls due on `calendar`.
///
/// C1 adds the target. C2 returns the earliest instant at which the business time accumulated
/// since `received_at` equals the target: it can be exactly 16:00, a ticket received outside
/// business hours starts counting at the next 06:00, and one received at exactly 16:00 starts
/// the next business day. A target of zero or less is due at once. The deadline is never
/// before `received_at`.
pub fn deadline(received_at: Timestamp, target_ms: i64, calendar: &Calendar) -> Timestamp {
    let due = match calendar {
        _ if target_ms <= 0 => i128::from(received_at.millis()),
        Calendar::Calendar => i128::from(received_at.millis()) + i128::from(target_ms),
        Calendar::Tier2 { holidays } => tier2_deadline(
            i128::from(received_at.millis()),
            i128::from(target_ms),
            &BusinessDays::new(holidays),
        ),
    };
    Timestamp(i64::try_from(due).unwrap_or(i64::MAX))
}

/// The time `calendar` counts between `from` and `to` (zero if `to <= from`): wall-clock time
/// for C1, business time for C2. `deadline(from, business_ms(from, d, c), c) <= d` always.
pub fn business_ms(from: Timestamp, to: Timestamp, calendar: &Calendar) -> i64 {
    let (from, to) = (i128::from(from.millis()), i128::from(to.millis()));
    let elapsed = match calendar {
        _ if to <= from => 0,
        Calendar::Calendar => to - from,
        Calendar::Tier2 { holidays } => tier2_elapsed(from, to, &BusinessDays::new(holidays)),
    };
    i64::try_from(elapsed).unwrap_or(i64::MAX)
}

/// Which days (counted from the epoch) are Tier-2 business days.
struct BusinessDays {
    /// Holidays as days since the epoch, sorted, without duplicates.
    holidays: Vec<i128>,
}

impl BusinessDays {
    fn new(holidays: &[Date]) -> BusinessDays {
        let mut days: Vec<i128> = holidays
            .iter()
            .map(|d| i128::from(d.to_julian_day()) - EPOCH_JULIAN_DAY)
            .collect();
        days.sort_unstable();
        days.dedup();
        BusinessDays { holidays: days }
    }

    /// Monday to Friday and not a holiday. Day 0 (1970-01-01) was a Thursday.
    fn is_business(&self, day: i128) -> bool {
        (day + 3).rem_euclid(7) < 5 && self.holidays.binary_search(&day).is_err()
    }

    /// How many whole weeks from `day` on contain no holiday. Each holds exactly
    /// [`WEEK_BUSINESS_MS`], so they can be skipped instead of walked, which keeps every walk
    /// short however far apart its ends are.
    fn free_weeks(&self, day: i128) -> i128 {
        let next = self.holidays.partition_point(|h| *h < day);
        self.holidays
            .get(next)
            .map_or(i128::MAX, |holiday| (holiday - day) / 7)
    }
}

/// Walks business days from `received` until `target` (> 0) business milliseconds are used.
fn tier2_deadline(received: i128, target: i128, days: &BusinessDays) -> i128 {
    let mut remaining = target;
    let mut day = received.div_euclid(DAY_MS);
    // Counting resumes here: `received` on the first day, midnight on the following ones.
    let mut resume = received;
    loop {
        if days.is_business(day) {
            let start = resume.max(day * DAY_MS + OPEN);
            let close = day * DAY_MS + CLOSE;
            if start < close {
                if remaining <= close - start {
                    return start + remaining;
                }
                remaining -= close - start;
            }
        }
        day += 1;
        // Skip whole weeks, but keep the last (possibly partial) one to walk: `remaining - 1`
        // so that a deadline at exactly 16:00 on a Friday is found by the walk.
        let weeks = ((remaining - 1) / WEEK_BUSINESS_MS).min(days.free_weeks(day));
        day += weeks * 7;
        remaining -= weeks * WEEK_BUSINESS_MS;
        resume = day * DAY_MS;
    }
}

/// Business time in `[from, to)` (`from < to`).
fn tier2_elapsed(from: i128, to: i128, days: &BusinessDays) -> i128 {
    let last = (to - 1).div_euclid(DAY_MS);
    let mut day = from.div_euclid(DAY_MS);
    let mut total = 0;
    while day <= last {
        let midnight = day * DAY_MS;
        // Whole holiday-free weeks lying entirely inside `[from, to)` count 50 hours each.
        let weeks = ((last - day) / 7).min(days.free_weeks(day));
        if midnight >= from && weeks > 0 {
            total += weeks * WEEK_BUSINESS_MS;
            day += weeks * 7;
            continue;
        }
        if days.is_business(day) {
            let start = from.max(midnight + OPEN);
            let end = to.min(midnight + CLOSE);
            total += (end - start).max(0);
        }
        day += 1;
    }
    total
}
