//! Tickets: the settings from `[tickets]`, evaluation of each ticket's first-response clock
//! and Critical waiver with `sla`, the contract's queue order, CSV import, and the bounds on
//! ticket and event times every path checks (`times.rs`).
//!
//! Owns: how tickets are taken in and ordered. May use: `domain`, `store`, `sla`.
//! A ticket's state is never stored: it is recomputed from the append-only ticket events and
//! incident updates, so a waiver stays exactly as the public saw it (sla-rules 1.2, sticky).

pub mod import;
mod times;

pub use times::{check_event_at, check_received_at, FUTURE_TOLERANCE_MS};

use crate::domain::{Channel, Incident, Severity, TicketPolicy, Timestamp};
use crate::sla::{self, Calendar, Evaluation, Targets, TicketSettings, TicketState};
use crate::store::TicketRecord;

/// The `sla` settings for a `[tickets]` policy.
pub fn settings(policy: &TicketPolicy) -> TicketSettings {
    let [critical_ms, high_ms, medium_ms, low_ms] = policy.targets_ms;
    let calendar = if policy.tier2 {
        Calendar::Tier2 {
            holidays: policy
                .holidays
                .iter()
                .filter_map(|&(y, m, d)| {
                    let month = time::Month::try_from(m).ok()?;
                    time::Date::from_calendar_date(y, month, d).ok()
                })
                .collect(),
        }
    } else {
        Calendar::Calendar
    };
    TicketSettings {
        targets: Targets {
            critical_ms,
            high_ms,
            medium_ms,
            low_ms,
        },
        calendar,
        waiver_requires_impact: policy.waiver_requires_impact,
        a2_status_page_counts: policy.status_page_counts_as_response,
        maintenance_never_waives: policy.maintenance_never_waives,
        measure_from_severity_change: policy.measure_from_severity_change,
    }
}

/// A ticket with its evaluation at some instant.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub record: TicketRecord,
    pub evaluation: Evaluation,
}

/// Evaluates every ticket at `now` against the incidents (hidden ones included: the public
/// saw them, so waivers they gave stay).
pub fn evaluate_all(
    records: Vec<TicketRecord>,
    incidents: &[Incident],
    channels: &[Channel],
    policy: &TicketPolicy,
    now: Timestamp,
) -> Vec<Evaluated> {
    let settings = settings(policy);
    records
        .into_iter()
        .map(|record| Evaluated {
            evaluation: sla::evaluate(&record.ticket, incidents, channels, &settings, now),
            record,
        })
        .collect()
}

/// Still waiting for a first response (waived ones too: they still need an answer).
pub fn is_open(e: &Evaluated) -> bool {
    e.evaluation.first_response_at.is_none()
}

/// The contract's order (section 2.1): high-urgency requests first (Critical and High, by
/// deadline; waived Critical ones have no deadline and go by receipt among them), then the
/// rest first come, first served.
pub fn queue(mut open: Vec<Evaluated>) -> Vec<Evaluated> {
    open.sort_by_key(|e| {
        let urgent = matches!(e.evaluation.severity, Severity::Critical | Severity::High);
        let key_time = if urgent {
            e.evaluation.deadline.unwrap_or(e.record.ticket.received_at)
        } else {
            e.record.ticket.received_at
        };
        (!urgent, key_time, e.record.ticket.received_at)
    });
    open
}

/// A ticket is due soon this long before its deadline (the queue highlights it and webhooks
/// are told once).
pub const DUE_SOON_MS: i64 = 15 * 60 * 1000;

/// Unanswered tickets with a contractual clock that ends within [`DUE_SOON_MS`] of `now`
/// (or has already ended).
pub fn due_soon(evaluated: &[Evaluated], now: Timestamp) -> Vec<&Evaluated> {
    evaluated.iter().filter(|e| is_due_soon(e, now)).collect()
}

/// Unanswered, with a contractual clock that ends within [`DUE_SOON_MS`] of `now` (or has
/// already ended): highlighted in the queue and warned about once.
pub fn is_due_soon(e: &Evaluated, now: Timestamp) -> bool {
    is_open(e)
        && e.evaluation
            .deadline
            .is_some_and(|d| d.millis() - now.millis() <= DUE_SOON_MS)
}

/// Per severity, for the monthly report (sla-rules 2.3).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SeverityFigures {
    pub received: u32,
    pub responded: u32,
    pub met: u32,
    /// Including open tickets already past their deadline.
    pub breached: u32,
    pub pending: u32,
    pub waived: u32,
    /// met / (met + breached); `None` when both are 0.
    pub met_ratio: Option<f64>,
    pub avg_first_response_ms: Option<i64>,
    pub median_first_response_ms: Option<i64>,
    pub p90_first_response_ms: Option<i64>,
}

/// Figures of a set of evaluated tickets of one severity.
pub fn figures(tickets: &[&Evaluated]) -> SeverityFigures {
    let mut f = SeverityFigures {
        received: tickets.len() as u32,
        ..SeverityFigures::default()
    };
    let mut times: Vec<i64> = Vec::new();
    for e in tickets {
        match e.evaluation.state {
            TicketState::Met => f.met += 1,
            TicketState::Breached => f.breached += 1,
            TicketState::Pending => f.pending += 1,
            TicketState::Waived => f.waived += 1,
        }
        if let Some(ms) = e.evaluation.time_to_first_response_ms {
            f.responded += 1;
            times.push(ms);
        }
    }
    if f.met + f.breached > 0 {
        f.met_ratio = Some(f64::from(f.met) / f64::from(f.met + f.breached));
    }
    times.sort_unstable();
    if !times.is_empty() {
        let n = times.len();
        f.avg_first_response_ms = Some(times.iter().sum::<i64>() / n as i64);
        f.median_first_response_ms = Some(times[(n - 1) / 2]);
        f.p90_first_response_ms = Some(
            times[((n as f64 * 0.9).ceil() as usize)
                .saturating_sub(1)
                .min(n - 1)],
        );
    }
    f
}
