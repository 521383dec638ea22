//! Instants as integer UTC milliseconds, and the injected clock.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, UTC. All of Beacon's arithmetic is on these integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub fn plus_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-26T04:00:00.000Z` (the API convention).
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            Err(_) => format!("@{}ms", self.0),
        }
    }

    /// Human UTC time for pages: `2026-11-26 04:00:00 UTC`.
    pub fn to_display(self) -> String {
        let s = self.to_rfc3339();
        match (s.get(..10), s.get(11..19)) {
            (Some(date), Some(clock)) => format!("{date} {clock} UTC"),
            _ => s,
        }
    }

    /// Parses RFC 3339 (any offset, normalised to UTC) or a plain integer of epoch milliseconds.
    pub fn parse(text: &str) -> Option<Timestamp> {
        if let Ok(ms) = text.parse::<i64>() {
            return Some(Timestamp(ms));
        }
        let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Timestamp)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// 2000-01-01T00:00:00Z: no time Beacon takes from outside may be earlier. Earlier ones are
/// typos or a zero epoch (`1970-01-01`), and one of them would rewrite history nobody measured.
pub const EARLIEST_ACCEPTED: Timestamp = Timestamp(946_684_800_000);

/// How far ahead a planned time (a maintenance window) may lie: 10 years, leap days included.
pub const PLANNING_HORIZON_MS: i64 = 3_653 * 86_400_000;

/// A time outside the range a rule allows; the caller names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfRange {
    /// Earlier than `limit`, which `rule` describes (e.g. "the ticket's receipt").
    #[error("is earlier than {rule} ({limit})")]
    Before {
        limit: Timestamp,
        rule: &'static str,
    },
    /// Later than `limit`, which `rule` describes (e.g. "10 years from now").
    #[error("is later than {rule} ({limit})")]
    After {
        limit: Timestamp,
        rule: &'static str,
    },
}

impl Timestamp {
    /// Refuses a time before `earliest` or after `latest` (both allowed), each with the words
    /// that say what the bound is.
    pub fn check_within(
        self,
        (earliest, earliest_rule): (Timestamp, &'static str),
        (latest, latest_rule): (Timestamp, &'static str),
    ) -> Result<Timestamp, OutOfRange> {
        if self < earliest {
            Err(OutOfRange::Before {
                limit: earliest,
                rule: earliest_rule,
            })
        } else if self > latest {
            Err(OutOfRange::After {
                limit: latest,
                rule: latest_rule,
            })
        } else {
            Ok(self)
        }
    }

    /// A planned time (a maintenance window's start or end): from 2000 to 10 years after
    /// `now`. A time in the past is fine (it is counted only from its announcement, sla-rules
    /// 3 rule 6); one outside this range is a mistake.
    pub fn check_planned(self, now: Timestamp) -> Result<Timestamp, OutOfRange> {
        self.check_within(
            (EARLIEST_ACCEPTED, "2000-01-01"),
            (now.plus_ms(PLANNING_HORIZON_MS), "10 years from now"),
        )
    }
}

/// The source of "now". Passed down from the app layer so tests control time;
/// `domain` and `sla` never call it themselves, they take `now` as a parameter.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_795_665_600_123).to_rfc3339(),
            "2026-11-26T04:00:00.123Z"
        );
        assert_eq!(
            Timestamp(1_795_665_600_123).to_display(),
            "2026-11-26 04:00:00 UTC"
        );
    }

    #[test]
    fn parses_rfc3339_with_offsets_and_epoch_millis() {
        for (text, ms) in [
            ("2026-11-26T04:00:00.123Z", 1_795_665_600_123),
            ("2026-11-26T05:00:00.123+01:00", 1_795_665_600_123),
            ("1795665600123", 1_795_665_600_123),
        ] {
            assert_eq!(Timestamp::parse(text), Some(Timestamp(ms)), "{text}");
        }
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn planned_times_run_from_2000_to_ten_years_ahead() {
        let now = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
        let year = 365 * 86_400_000;
        for (text, ok) in [
            ("1969-07-20T20:17:00Z", false),
            ("1999-12-31T23:59:59.999Z", false),
            ("2000-01-01T00:00:00Z", true),
            ("2026-11-10T10:00:00Z", true),
            ("2035-12-01T00:00:00Z", true),
            ("2036-12-01T00:00:00Z", true),
            ("2036-12-02T00:00:00Z", false),
            ("9999-12-31T00:00:00Z", false),
        ] {
            let t = Timestamp::parse(text).unwrap();
            assert_eq!(t.check_planned(now).is_ok(), ok, "{text}");
        }
        assert_eq!(
            now.plus_ms(11 * year).check_planned(now),
            Err(OutOfRange::After {
                limit: now.plus_ms(PLANNING_HORIZON_MS),
                rule: "10 years from now"
            })
        );
        assert_eq!(
            Timestamp(0).check_planned(now).unwrap_err().to_string(),
            "is earlier than 2000-01-01 (2000-01-01T00:00:00.000Z)"
        );
    }
}
