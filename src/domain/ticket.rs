//! Support tickets as the first-response clock sees them: when a ticket was received, its
//! severity and components, and the append-only log of what happened to it.
//!
//! These are plain records; the rules that turn them into met, breached, pending or waived
//! live in `sla::ticket` (sla-rules section 1 and 2.1).

use super::Timestamp;
use serde::{Deserialize, Serialize};

/// The contract's severities (support-sla.txt section 2.1), most urgent first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    /// Every severity, most urgent first.
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    /// The name used in configuration, JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    /// Parses the name written by [`Severity::as_str`].
    pub fn parse(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a ticket. Only [`TicketEventKind::PublicReply`] is a first response
/// (sla-rules 1.6); the other messages are recorded so that the rule can be seen to ignore them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketEventKind {
    /// A public reply written by a human agent.
    PublicReply,
    /// The automatic "we received your request" notification.
    AutoAck,
    /// A virtual assistant's or bot's message.
    BotReply,
    /// A note the customer does not see.
    InternalNote,
    /// The severity from now on (agent triage).
    SeverityChange(Severity),
    /// The full set of affected components from now on (channel ids or `group:<slug>`).
    ChannelsChange(Vec<String>),
    /// The customer reopened the ticket; it never starts a new first-response cycle.
    Reopen,
}

/// One entry of a ticket's append-only log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// Server time the event was recorded.
    pub at: Timestamp,
    pub kind: TicketEventKind,
}

/// A support ticket with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    /// Server receipt (`C` in sla-rules 1.1): for email the receipt, not the `Date:` header.
    pub received_at: Timestamp,
    /// Severity at receipt; later changes are [`TicketEventKind::SeverityChange`] events.
    pub severity: Severity,
    /// Components at receipt (channel ids or `group:<slug>`); later re-triage is
    /// [`TicketEventKind::ChannelsChange`].
    pub channels: Vec<String>,
    /// Append-only, in recording order.
    pub events: Vec<TicketEvent>,
}

/// `[tickets]`: response targets and the options of sla-rules sections 1 and 2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPolicy {
    /// First-response targets in milliseconds: critical, high, medium, low.
    pub targets_ms: [i64; 4],
    /// Medium and Low on Tier-2 business hours (C2) instead of calendar hours (C1).
    pub tier2: bool,
    /// Holidays for Tier-2 business hours, as (year, month, day).
    pub holidays: Vec<(i32, u8, u8)>,
    /// W-impact: the acknowledgement must declare a partial or major outage.
    pub waiver_requires_impact: bool,
    /// A2: a covering status-page update before the deadline counts as a response.
    pub status_page_counts_as_response: bool,
    /// M0: maintenance never waives.
    pub maintenance_never_waives: bool,
    /// `retarget_from = "change"`: after a severity change the new target is measured from
    /// the change, not from receipt (sla-rules 1.6 "Option: measure from the severity-change
    /// time"; off by default).
    pub measure_from_severity_change: bool,
}

impl Default for TicketPolicy {
    fn default() -> Self {
        const HOUR: i64 = 3_600_000;
        TicketPolicy {
            targets_ms: [HOUR, HOUR, 24 * HOUR, 72 * HOUR],
            tier2: false,
            holidays: Vec::new(),
            waiver_requires_impact: false,
            status_page_counts_as_response: false,
            maintenance_never_waives: false,
            measure_from_severity_change: false,
        }
    }
}
