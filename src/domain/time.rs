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
}
