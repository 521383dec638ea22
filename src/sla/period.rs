//! Report periods: UTC calendar months and their days (sla-rules section 3 rule 8).
//!
//! Periods are half-open `[from, to)` in integer milliseconds, so consecutive months and days
//! tile time exactly and an outage crossing a boundary is split at it.

use crate::domain::Timestamp;
use time::{Date, Month, OffsetDateTime};

const DAY_MS: i64 = 86_400_000;

/// The UTC calendar month `year-month` as `[first midnight, next month's first midnight)`.
///
/// `None` for a month outside `1..=12` or a year outside the calendar's range (±9999).
pub fn month_bounds(year: i32, month: u8) -> Option<(Timestamp, Timestamp)> {
    let month = Month::try_from(month).ok()?;
    let next_year = if month == Month::December {
        year.checked_add(1)?
    } else {
        year
    };
    Some((
        midnight(Date::from_calendar_date(year, month, 1).ok()?),
        midnight(Date::from_calendar_date(next_year, month.next(), 1).ok()?),
    ))
}

/// Parses a report month written `YYYY-MM` (e.g. `2026-09`), strictly: four-digit year,
/// two-digit month in `01..=12`, nothing else.
pub fn parse_month(text: &str) -> Option<(i32, u8)> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes[range].iter().try_fold(0u32, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    if bytes.len() != 7 || bytes[4] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = u8::try_from(digits(5..7)?).ok()?;
    (1..=12).contains(&month).then_some((year, month))
}

/// `[from, to)` split at UTC midnights, each piece labelled with its date (`2026-09-01`); for
/// the daily bars of a report. Empty if `to <= from`.
pub fn days(from: Timestamp, to: Timestamp) -> Vec<(String, Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut start = from;
    while start < to {
        let next_midnight = start
            .millis()
            .div_euclid(DAY_MS)
            .saturating_add(1)
            .saturating_mul(DAY_MS);
        let end = Timestamp(next_midnight.min(to.millis()));
        out.push((date_label(start), start, end));
        start = end;
    }
    out
}

/// Milliseconds of the UTC midnight that starts `date`.
fn midnight(date: Date) -> Timestamp {
    Timestamp(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// The UTC date containing `t`, as `YYYY-MM-DD`; instants outside the calendar's range (±9999
/// years) fall back to the timestamp's own rendering rather than failing.
fn date_label(t: Timestamp) -> String {
    match OffsetDateTime::from_unix_timestamp(t.millis().div_euclid(1000)) {
        Ok(dt) => format!(
            "{:04}-{:02}-{:02}",
            dt.year(),
            u8::from(dt.month()),
            dt.day()
        ),
        Err(_) => t.to_rfc3339(),
    }
}
