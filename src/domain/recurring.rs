//! Recurring maintenance rules: a window that comes back on a cron schedule or once a week,
//! from `[[maintenance]]` in `probes.toml` or from the operator API. Times are UTC.

/// A rule that produces scheduled maintenance windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringMaintenance {
    /// Stable key of the rule, unique across sources: `config:<id>` for `probes.toml`,
    /// `api:<n>` for the API. With each occurrence's start it makes the window's unique key,
    /// so restarts and reloads never publish an occurrence twice.
    pub key: String,
    pub title: String,
    pub message: String,
    /// Channel ids or `group:<slug>`.
    pub channels: Vec<String>,
    pub repeat: Repeat,
    /// Length of each window in milliseconds, above zero.
    pub duration_ms: i64,
    pub auto_start: bool,
    pub auto_end: bool,
}

/// When a rule's windows start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repeat {
    /// A cron expression in UTC (six fields with seconds, or the classic five).
    Cron(String),
    Weekly(WeeklyAt),
}

/// A day of the week and a UTC time of day, e.g. `sun 02:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyAt {
    /// 0 = Monday ... 6 = Sunday.
    pub weekday: u8,
    /// Minutes after 00:00 UTC, below 1440.
    pub minute: u16,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FULL_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-01 was a Thursday: the epoch is 3 days after a Monday.
const EPOCH_WEEKDAY: i64 = 3;

impl WeeklyAt {
    /// Parses `sun 02:00` (a day name, short or full, any case, then `HH:MM` in UTC).
    pub fn parse(text: &str) -> Option<WeeklyAt> {
        let mut parts = text.split_whitespace();
        let (day, clock) = (parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let day = day.to_ascii_lowercase();
        let weekday = DAYS
            .iter()
            .position(|d| *d == day)
            .or_else(|| FULL_DAYS.iter().position(|d| *d == day))?;
        let (hours, minutes) = clock.split_once(':')?;
        if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
            return None;
        }
        let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
        if hours > 23 || minutes > 59 {
            return None;
        }
        Some(WeeklyAt {
            weekday: u8::try_from(weekday).ok()?,
            minute: hours * 60 + minutes,
        })
    }

    /// The first start strictly after `after_ms` (epoch milliseconds).
    pub fn next_after(self, after_ms: i64) -> i64 {
        let offset = (i64::from(self.weekday) - EPOCH_WEEKDAY).rem_euclid(7) * DAY_MS
            + i64::from(self.minute) * MINUTE_MS;
        // Starts are offset + k weeks; take the smallest one above after_ms.
        let k = (after_ms - offset).div_euclid(WEEK_MS) + 1;
        offset + k * WEEK_MS
    }
}

impl std::fmt::Display for WeeklyAt {
    /// The canonical form, `sun 02:00`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = DAYS.get(usize::from(self.weekday)).unwrap_or(&"mon");
        write!(f, "{day} {:02}:{:02}", self.minute / 60, self.minute % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    fn at(text: &str) -> i64 {
        Timestamp::parse(text).expect("time").millis()
    }

    #[test]
    fn parses_day_names_and_utc_times() {
        for (text, weekday, minute) in [
            ("sun 02:00", 6, 120),
            ("Mon 00:00", 0, 0),
            ("friday 23:59", 4, 1439),
            ("  wed   9:05 ", 2, 545),
        ] {
            assert_eq!(
                WeeklyAt::parse(text),
                Some(WeeklyAt { weekday, minute }),
                "{text}"
            );
        }
        for bad in [
            "",
            "sun",
            "sun 24:00",
            "sun 02:60",
            "sunday2 02:00",
            "sun 2am",
            "sun 02:00 x",
            "sun 002:00",
            "sun 02:0",
        ] {
            assert_eq!(WeeklyAt::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            WeeklyAt::parse("Sunday 2:00").map(|w| w.to_string()),
            Some("sun 02:00".to_owned())
        );
    }

    #[test]
    fn next_start_is_strictly_after_and_crosses_month_and_year_ends() {
        let sun_2 = WeeklyAt::parse("sun 02:00").expect("rule");
        for (after, expected) in [
            // Thursday 26 November 2026 -> Sunday the 29th.
            ("2026-11-26T08:00:00Z", "2026-11-29T02:00:00Z"),
            // Exactly at a start: the next week's.
            ("2026-11-29T02:00:00Z", "2026-12-06T02:00:00Z"),
            ("2026-11-29T01:59:59.999Z", "2026-11-29T02:00:00Z"),
            // Across a year end and a leap day.
            ("2026-12-31T12:00:00Z", "2027-01-03T02:00:00Z"),
            ("2028-02-27T03:00:00Z", "2028-03-05T02:00:00Z"),
            ("1969-12-31T00:00:00Z", "1970-01-04T02:00:00Z"),
        ] {
            assert_eq!(
                Timestamp(sun_2.next_after(at(after))).to_rfc3339(),
                Timestamp(at(expected)).to_rfc3339(),
                "after {after}"
            );
        }
        let mon_0 = WeeklyAt::parse("mon 00:00").expect("rule");
        assert_eq!(
            Timestamp(mon_0.next_after(at("2026-02-28T23:59:00Z"))).to_rfc3339(),
            "2026-03-02T00:00:00.000Z",
            "a month end in a non-leap year"
        );
    }
}
