//! The times a ticket may carry, checked the same way on every path (the API, the admin
//! form, the CSV import): a ticket is received no earlier than 2000 and no later than a few
//! seconds from now, and each of its events lies between its receipt and a few seconds from
//! now. An event before its ticket's receipt would give a negative time to first response,
//! which the report would then average in.

use crate::domain::{OutOfRange, Timestamp, EARLIEST_ACCEPTED};

/// How far ahead of the server's clock a ticket or event time may lie: clocks of the helpdesk
/// and of Beacon disagree a little, never by more.
pub const FUTURE_TOLERANCE_MS: i64 = 5_000;

/// A ticket's received time: from 2000-01-01 to [`FUTURE_TOLERANCE_MS`] after `now`.
pub fn check_received_at(received_at: Timestamp, now: Timestamp) -> Result<Timestamp, OutOfRange> {
    received_at.check_within((EARLIEST_ACCEPTED, "2000-01-01"), latest(now))
}

/// An event's time: from the ticket's receipt (allowed: a reply at the very instant of
/// receipt) to [`FUTURE_TOLERANCE_MS`] after `now`.
pub fn check_event_at(
    at: Timestamp,
    received_at: Timestamp,
    now: Timestamp,
) -> Result<Timestamp, OutOfRange> {
    at.check_within(
        (received_at.max(EARLIEST_ACCEPTED), "the ticket's receipt"),
        latest(now),
    )
}

fn latest(now: Timestamp) -> (Timestamp, &'static str) {
    (now.plus_ms(FUTURE_TOLERANCE_MS), "5 s from now")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_796_083_200_000); // 2026-12-01T00:00:00Z
    const RECEIVED: Timestamp = Timestamp(1_796_079_600_000); // an hour earlier

    #[test]
    fn events_lie_between_receipt_and_five_seconds_from_now() {
        let parse = |text: &str| Timestamp::parse(text).unwrap();
        for (name, at, ok) in [
            ("the epoch", parse("1970-01-01T00:00:00Z"), false),
            ("1 ms before receipt", RECEIVED.plus_ms(-1), false),
            ("1 s before receipt", RECEIVED.plus_ms(-1_000), false),
            ("at receipt", RECEIVED, true),
            ("now", NOW, true),
            ("5 s ahead", NOW.plus_ms(5_000), true),
            ("5 s and 1 ms ahead", NOW.plus_ms(5_001), false),
            ("year 9999", parse("9999-12-31T00:00:00Z"), false),
        ] {
            assert_eq!(check_event_at(at, RECEIVED, NOW).is_ok(), ok, "{name}");
        }
        assert_eq!(
            check_event_at(RECEIVED.plus_ms(-1_000), RECEIVED, NOW)
                .unwrap_err()
                .to_string(),
            "is earlier than the ticket's receipt (2026-11-30T23:00:00.000Z)"
        );
        assert_eq!(
            check_event_at(NOW.plus_ms(6_000), RECEIVED, NOW)
                .unwrap_err()
                .to_string(),
            "is later than 5 s from now (2026-12-01T00:00:05.000Z)"
        );
    }

    #[test]
    fn a_ticket_is_received_from_2000_to_five_seconds_from_now() {
        for (at, ok) in [
            (Timestamp(0), false),
            (EARLIEST_ACCEPTED.plus_ms(-1), false),
            (EARLIEST_ACCEPTED, true),
            (NOW, true),
            (NOW.plus_ms(5_000), true),
            (NOW.plus_ms(5_001), false),
        ] {
            assert_eq!(check_received_at(at, NOW).is_ok(), ok, "{at}");
        }
    }

    #[test]
    fn a_ticket_received_before_2000_still_bounds_its_events_at_2000() {
        assert!(check_event_at(Timestamp(5), Timestamp(0), NOW).is_err());
    }
}
