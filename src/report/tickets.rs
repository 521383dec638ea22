//! The report's ticket section (sla-rules 2.3).

use super::model::{BySeverity, TicketLine, TicketSection};
use crate::domain::{Severity, TicketPolicy, Timestamp};
use crate::sla::TicketState;
use crate::ticket::{figures, Evaluated};

pub(super) fn section(evaluated: &[Evaluated], policy: &TicketPolicy) -> TicketSection {
    let of = |s: Severity| {
        let list: Vec<&Evaluated> = evaluated
            .iter()
            .filter(|e| e.evaluation.severity == s)
            .collect();
        figures(&list)
    };
    let by_severity = BySeverity {
        critical: of(Severity::Critical),
        high: of(Severity::High),
        medium: of(Severity::Medium),
        low: of(Severity::Low),
    };
    let line = |e: &Evaluated| TicketLine {
        id: e.record.ticket.id.clone(),
        external_id: e.record.external_id.clone(),
        severity: e.evaluation.severity.as_str().to_owned(),
        received_at: e.record.ticket.received_at.to_rfc3339(),
        deadline: e.evaluation.deadline.map(Timestamp::to_rfc3339),
        first_response_at: e.evaluation.first_response_at.map(Timestamp::to_rfc3339),
        waived_by: e.evaluation.waived_by.map(|i| i.to_string()),
        ack_published_at: e.evaluation.ack_published_at.map(Timestamp::to_rfc3339),
        explanation: e.evaluation.explanation.clone(),
    };
    TicketSection {
        calendar: if policy.tier2 { "tier2" } else { "calendar" }.to_owned(),
        by_severity,
        breached: evaluated
            .iter()
            .filter(|e| e.evaluation.state == TicketState::Breached)
            .map(line)
            .collect(),
        waived: evaluated
            .iter()
            .filter(|e| e.evaluation.state == TicketState::Waived)
            .map(line)
            .collect(),
    }
}
