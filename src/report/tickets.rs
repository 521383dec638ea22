//! The report's ticket section (sla-rules 2.3).

use super::model::{BySeverity, TicketLine, TicketRules, TicketSection, TicketTargets};
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
        rules: TicketRules {
            target_min: TicketTargets {
                critical: policy.targets_ms[0] / 60_000,
                high: policy.targets_ms[1] / 60_000,
                medium: policy.targets_ms[2] / 60_000,
                low: policy.targets_ms[3] / 60_000,
            },
            retarget_from: if policy.measure_from_severity_change {
                "change"
            } else {
                "receipt"
            }
            .to_owned(),
            waiver_requires_impact: policy.waiver_requires_impact,
            status_page_counts_as_response: policy.status_page_counts_as_response,
            maintenance_never_waives: policy.maintenance_never_waives,
        },
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
