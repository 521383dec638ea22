//! The first-response clock of a support ticket (sla-rules 1.5, 1.6 and 2.1): met, breached,
//! pending, or waived because the status page had already acknowledged the issue (Rule W,
//! [`super::waiver`]).
//!
//! [`evaluate`] is a pure function of the ticket's append-only log, the incidents with all
//! their updates, the channels, the settings and `now`. Recomputing it from the log at any
//! later time gives the same answer for the same `now`, which is how the waiver stays sticky.

use super::calendar::{self, Calendar, HOUR_MS};
use super::waiver::{self, Acknowledgement};
use crate::domain::{Channel, Incident, Severity, Ticket, TicketEventKind, Timestamp};
use serde::Serialize;

/// Version of the rules [`evaluate`] implements, recorded with every evaluation so that a
/// report can say which rules decided it.
pub const RULE_VERSION: &str = "sla-rules-1/W1";

/// First-response targets per severity in milliseconds (`[tickets.targets]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub critical_ms: i64,
    pub high_ms: i64,
    pub medium_ms: i64,
    pub low_ms: i64,
}

impl Default for Targets {
    /// The contract's table (support-sla.txt 2.1): 1 h, 1 h, 24 h, 72 h.
    fn default() -> Targets {
        Targets {
            critical_ms: HOUR_MS,
            high_ms: HOUR_MS,
            medium_ms: 24 * HOUR_MS,
            low_ms: 72 * HOUR_MS,
        }
    }
}

impl Targets {
    pub fn for_severity(&self, severity: Severity) -> i64 {
        match severity {
            Severity::Critical => self.critical_ms,
            Severity::High => self.high_ms,
            Severity::Medium => self.medium_ms,
            Severity::Low => self.low_ms,
        }
    }
}

/// `[tickets]` settings; `Default` is the defaults of sla-rules ("Decisions taken").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketSettings {
    pub targets: Targets,
    /// Calendar of the Medium and Low targets (Critical and High are always 24x7).
    pub calendar: Calendar,
    /// W-impact: the waiver also needs the component declared in partial or major outage.
    pub waiver_requires_impact: bool,
    /// A2: a covering status-page update published after receipt and by the deadline stops
    /// a Critical clock like a reply (met at its publication, never retroactively).
    pub a2_status_page_counts: bool,
    /// M0: maintenance never waives.
    pub maintenance_never_waives: bool,
    /// `retarget_from = "change"` (sla-rules 1.6, "Option: measure from the severity-change
    /// time"): the target of the severity in force is measured from the latest severity
    /// change instead of receipt. Rule W still looks at receipt `C`. Changes after the first
    /// response leave the verdict as the response settled it: the clock had stopped, and
    /// counting from a later change would make every late reply "met".
    pub measure_from_severity_change: bool,
}

/// The 24x7 calendar of Critical and High.
static TWENTY_FOUR_SEVEN: Calendar = Calendar::Calendar;

impl TicketSettings {
    /// The calendar a severity's target is counted on.
    pub fn calendar_for(&self, severity: Severity) -> &Calendar {
        match severity {
            Severity::Critical | Severity::High => &TWENTY_FOUR_SEVEN,
            Severity::Medium | Severity::Low => &self.calendar,
        }
    }
}

/// Where a ticket's first-response clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketState {
    /// No first response yet and the deadline has not passed.
    Pending,
    /// First response (or, under A2, a covering status-page update) at or before the deadline.
    Met,
    /// First response after the deadline, or none and the deadline has passed.
    Breached,
    /// Critical and already acknowledged on the status page: no contractual clock (F0), left
    /// out of met and breached.
    Waived,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Pending => "pending",
            TicketState::Met => "met",
            TicketState::Breached => "breached",
            TicketState::Waived => "waived",
        }
    }
}

/// The verdict on one ticket at `now`, with what a report needs to show and justify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub state: TicketState,
    /// Severity from the latest severity change at or before the first response (or `now`,
    /// while there is none): changes after the first response do not re-target it.
    pub severity: Severity,
    /// Where the target is counted from: receipt, or the latest severity change under the
    /// `measure_from_severity_change` option.
    pub clock_from: Timestamp,
    /// `None` when waived: there is no contractual clock.
    pub deadline: Option<Timestamp>,
    /// First public human reply.
    pub first_response_at: Option<Timestamp>,
    /// Option A2: publication of the covering status-page update that stopped the clock.
    pub status_page_stop_at: Option<Timestamp>,
    /// The acknowledging incident (or maintenance) when waived.
    pub waived_by: Option<i64>,
    /// When that incident first covered the ticket's components.
    pub ack_published_at: Option<Timestamp>,
    /// `beacon` or `imported`: where the acknowledgement was published.
    pub ack_origin: Option<String>,
    /// Not waived, and an incident came to cover the ticket after receipt, by the deadline
    /// (and by `now`): the customer reported before the status page did (sla-rules 1.3).
    pub acknowledged_after_ticket: bool,
    /// First reply minus receipt, wall-clock; informational, also for waived tickets.
    pub time_to_first_response_ms: Option<i64>,
    pub rule_version: &'static str,
    /// One sentence for people, e.g. `Met: first reply at 10:14:00 UTC, 46 minutes before
    /// the deadline.`
    pub explanation: String,
}

/// Tickets are counted in the period that contains their receipt, whenever they are answered
/// (edge case 16): `true` if `from <= received_at < to`.
pub fn attributed_to(ticket: &Ticket, from: Timestamp, to: Timestamp) -> bool {
    from <= ticket.received_at && ticket.received_at < to
}

/// Evaluates `ticket` at `now` against the status page's `incidents` and the `channels` that
/// give `group:<slug>` keys their members.
///
/// Stickiness is the caller's half of the contract: pass every incident ever published,
/// hidden ("deleted") ones included, with all their updates. Updates are append-only and
/// their `published_at` never changes, and Rule W reads only updates published by `C`, so a
/// waiver once granted is granted again by every later evaluation; nothing is stored.
///
/// Only ticket events at or before `now` count. The current severity and components are the
/// latest changes; the waiver is decided at receipt `C` with the current components, for a
/// current severity of Critical only (an upgrade to Critical can be waived, a downgrade drops
/// the waiver and the new severity's clock runs from `C`). The first response is the first
/// human public reply: auto-acknowledgements, bot replies and internal notes never stop the
/// clock, and a reopen starts no new cycle. The deadline is inclusive.
pub fn evaluate(
    ticket: &Ticket,
    incidents: &[Incident],
    channels: &[Channel],
    settings: &TicketSettings,
    now: Timestamp,
) -> Evaluation {
    let received = ticket.received_at;
    let log = Log::read(ticket, now);
    // The severity that decides the first-response clock is the one in force when the first
    // response came: a later change cannot turn a late answer into a met one (or the reverse).
    let settled = log.at_first_reply.unwrap_or(log.current);
    let (severity, clock_from) = if settings.measure_from_severity_change {
        (settled.severity, settled.changed_at.unwrap_or(received))
    } else {
        (settled.severity, received)
    };
    let time_to_first_response_ms = log
        .first_reply
        .map(|r| r.millis().saturating_sub(received.millis()));
    let mut evaluation = Evaluation {
        state: TicketState::Pending,
        severity,
        clock_from,
        deadline: None,
        first_response_at: log.first_reply,
        status_page_stop_at: None,
        waived_by: None,
        ack_published_at: None,
        ack_origin: None,
        acknowledged_after_ticket: false,
        time_to_first_response_ms,
        rule_version: RULE_VERSION,
        explanation: String::new(),
    };

    let waiver = (severity == Severity::Critical)
        .then(|| waiver::acknowledgement_at(received, &log.channels, incidents, channels, settings))
        .flatten();
    if let Some(ack) = waiver {
        evaluation.state = TicketState::Waived;
        evaluation.waived_by = Some(ack.incident.id);
        evaluation.ack_published_at = Some(ack.at);
        evaluation.ack_origin = Some(ack.incident.origin.clone());
        evaluation.explanation = super::explain::waived(&ack, received);
        return evaluation;
    }

    let deadline = calendar::deadline(
        clock_from,
        settings.targets.for_severity(severity),
        settings.calendar_for(severity),
    );
    evaluation.deadline = Some(deadline);

    let late = waiver::acknowledgement_after(
        received,
        deadline.min(now),
        &log.channels,
        incidents,
        channels,
        settings,
    );
    evaluation.acknowledged_after_ticket = late.is_some();
    let page_stop =
        late.filter(|_| settings.a2_status_page_counts && severity == Severity::Critical);
    evaluation.status_page_stop_at = page_stop.map(|a| a.at);

    let stop = match (log.first_reply, page_stop) {
        (Some(reply), Some(page)) if page.at < reply => Stop::Page(page),
        (Some(reply), _) => Stop::Reply(reply),
        (None, Some(page)) => Stop::Page(page),
        (None, None) => Stop::None,
    };
    evaluation.state = match stop.at() {
        Some(at) if at <= deadline => TicketState::Met,
        Some(_) => TicketState::Breached,
        None if now <= deadline => TicketState::Pending,
        None => TicketState::Breached,
    };
    let retargeted = (clock_from != received).then_some((severity, clock_from));
    evaluation.explanation =
        super::explain::clock(evaluation.state, &stop, deadline, received, now, retargeted);
    evaluation
}

/// What stopped the first-response clock, if anything.
pub(super) enum Stop<'a> {
    Reply(Timestamp),
    Page(Acknowledgement<'a>),
    None,
}

impl Stop<'_> {
    fn at(&self) -> Option<Timestamp> {
        match self {
            Stop::Reply(at) => Some(*at),
            Stop::Page(ack) => Some(ack.at),
            Stop::None => None,
        }
    }
}

/// What the ticket's log says at `now`.
struct Log {
    /// The severity now.
    current: Triage,
    /// The severity when the first response came, if it came.
    at_first_reply: Option<Triage>,
    channels: Vec<String>,
    first_reply: Option<Timestamp>,
}

/// A severity and when it was set by a change (`None`: as received).
#[derive(Clone, Copy)]
struct Triage {
    severity: Severity,
    changed_at: Option<Timestamp>,
}

impl Log {
    fn read(ticket: &Ticket, now: Timestamp) -> Log {
        let mut events: Vec<_> = ticket.events.iter().filter(|e| e.at <= now).collect();
        // Stable: events recorded at the same instant keep their recording order.
        events.sort_by_key(|e| e.at);
        let mut log = Log {
            current: Triage {
                severity: ticket.severity,
                changed_at: None,
            },
            at_first_reply: None,
            channels: ticket.channels.clone(),
            first_reply: None,
        };
        for event in events {
            match &event.kind {
                TicketEventKind::PublicReply => {
                    if log.first_reply.is_none() {
                        log.first_reply = Some(event.at);
                        log.at_first_reply = Some(log.current);
                    }
                }
                TicketEventKind::SeverityChange(s) if *s != log.current.severity => {
                    log.current = Triage {
                        severity: *s,
                        changed_at: Some(event.at),
                    };
                }
                TicketEventKind::ChannelsChange(channels) => log.channels = channels.clone(),
                TicketEventKind::SeverityChange(_)
                | TicketEventKind::AutoAck
                | TicketEventKind::BotReply
                | TicketEventKind::InternalNote
                | TicketEventKind::Reopen => {}
            }
        }
        log
    }
}
