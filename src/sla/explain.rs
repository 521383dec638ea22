//! The one-sentence explanation of a ticket evaluation, for the report and the ticket view.
//!
//! A verdict that cannot be explained cannot be trusted, so every sentence names the instant
//! that decided it and how far it was from the line. Times on the ticket's receipt date are
//! written as a UTC clock time, others with their date.

use super::ticket::{Stop, TicketState};
use super::waiver::Acknowledgement;
use crate::domain::{IncidentKind, Severity, Timestamp};

/// Why a ticket was waived.
pub(super) fn waived(ack: &Acknowledgement<'_>, received: Timestamp) -> String {
    let incident = ack.incident;
    let when = instant(ack.at, received);
    if incident.kind == IncidentKind::Maintenance {
        return format!(
            "Waived: maintenance {} \"{}\", announced at {when}, was in progress when this ticket \
             was received.",
            incident.id, incident.title
        );
    }
    let first_published = incident.updates.iter().filter_map(|u| u.published_at).min();
    let how = if first_published == Some(ack.at) {
        "was published at"
    } else {
        "covered this ticket's component from"
    };
    let gap = received.millis().saturating_sub(ack.at.millis());
    let relation = if gap == 0 {
        "the same instant this ticket was received".to_owned()
    } else {
        format!("{} before this ticket was received", duration(gap))
    };
    // An acknowledgement taken from another status page's history says so (issue 5 item 10).
    let imported = if incident.origin == "imported" {
        " (imported from the previous status page)"
    } else {
        ""
    };
    format!(
        "Waived: incident {} \"{}\"{imported} {how} {when}, {relation}.",
        incident.id, incident.title
    )
}

/// Why a ticket that has a clock is met, breached or pending. `retargeted` is the severity
/// and the instant of the change the clock is measured from, when that is not the receipt
/// (`retarget_from = "change"`); the sentence then says so, since the deadline alone would
/// look wrong to anyone counting from receipt.
pub(super) fn clock(
    state: TicketState,
    stop: &Stop<'_>,
    deadline: Timestamp,
    received: Timestamp,
    now: Timestamp,
    retargeted: Option<(Severity, Timestamp)>,
) -> String {
    let sentence = verdict(state, stop, deadline, received, now);
    match retargeted {
        Some((severity, at)) => format!(
            "{} (the {severity} target counts from the severity change at {}).",
            sentence.trim_end_matches('.'),
            instant(at, received)
        ),
        None => sentence,
    }
}

fn verdict(
    state: TicketState,
    stop: &Stop<'_>,
    deadline: Timestamp,
    received: Timestamp,
    now: Timestamp,
) -> String {
    let due = instant(deadline, received);
    let what = match stop {
        Stop::Reply(at) => format!("first reply at {}", instant(*at, received)),
        Stop::Page(ack) => format!(
            "incident {} \"{}\" acknowledged the issue on the status page at {} (option A2)",
            ack.incident.id,
            ack.incident.title,
            instant(ack.at, received)
        ),
        Stop::None => String::new(),
    };
    match (state, stop) {
        (TicketState::Pending, _) if now == deadline => format!("Pending: due at {due}, now."),
        (TicketState::Pending, _) => format!(
            "Pending: due at {due}, in {}.",
            duration(deadline.millis().saturating_sub(now.millis()))
        ),
        (_, Stop::None) => format!(
            "Breached: no reply yet; it was due at {due}, {} ago.",
            duration(now.millis().saturating_sub(deadline.millis()))
        ),
        (_, Stop::Reply(at)) | (_, Stop::Page(Acknowledgement { at, .. })) => {
            let gap = deadline.millis().saturating_sub(at.millis());
            match state {
                TicketState::Met if gap == 0 => format!("Met: {what}, exactly at the deadline."),
                TicketState::Met => format!("Met: {what}, {} before the deadline.", duration(gap)),
                _ => format!(
                    "Breached: {what}, {} after the deadline of {due}.",
                    duration(gap)
                ),
            }
        }
    }
}

/// `10:02:11 UTC` on the reference's UTC date, `2026-11-26 10:02:11 UTC` on another.
fn instant(t: Timestamp, reference: Timestamp) -> String {
    let text = t.to_display();
    let same_day = text.get(..10).is_some() && text.get(..10) == reference.to_display().get(..10);
    match text.get(11..) {
        Some(clock) if same_day => clock.to_owned(),
        _ => text,
    }
}

/// A duration for people, in its two most significant units: `3 minutes`, `1 hour 5
/// minutes`, `2 days`, `1 millisecond`. The sign is ignored (the sentence says which way).
fn duration(ms: i64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "day"),
        (3_600_000, "hour"),
        (60_000, "minute"),
        (1_000, "second"),
    ];
    let ms = ms.unsigned_abs();
    let Some(first) = UNITS.iter().position(|(size, _)| ms >= *size) else {
        return count(ms, "millisecond");
    };
    let (size, name) = UNITS[first];
    let mut text = count(ms / size, name);
    if let Some((next, next_name)) = UNITS.get(first + 1) {
        let n = ms % size / next;
        if n > 0 {
            text = format!("{text} {}", count(n, next_name));
        }
    }
    text
}

fn count(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_two_units() {
        for (ms, text) in [
            (0, "0 milliseconds"),
            (1, "1 millisecond"),
            (-1_500, "1 second"),
            (3 * 60_000, "3 minutes"),
            (65 * 60_000, "1 hour 5 minutes"),
            (61 * 60_000 + 59_999, "1 hour 1 minute"),
            (2 * 86_400_000 + 60_000, "2 days"),
            (i64::MIN, "106751991167 days 7 hours"),
        ] {
            assert_eq!(duration(ms), text, "{ms}");
        }
    }

    #[test]
    fn instants_drop_the_date_on_the_reference_day() {
        // 2026-11-26T10:02:11Z and the next day.
        let t = Timestamp(1_795_687_331_000);
        assert_eq!(instant(t, Timestamp(1_795_651_200_000)), "10:02:11 UTC");
        assert_eq!(
            instant(t, Timestamp(1_795_651_200_000 + 86_400_000)),
            "2026-11-26 10:02:11 UTC"
        );
    }
}
