//! The report model; its serde form is the JSON report, field for field.

use serde::Serialize;

/// One month's uptime report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthReport {
    /// The service name from `[service]`.
    pub service: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The commitment as a fraction, e.g. 0.995.
    pub commitment: f64,
    pub settings: ReportSettings,
    /// Start and end of the period measured (`end` is now for the current month).
    pub period_start: String,
    pub period_end: String,
    pub generated_at: String,
    pub channels: Vec<ChannelFigures>,
    /// The "support services": in-commitment channels combined (sla-rules section 3 rule 9).
    pub overall: OverallFigures,
    /// Ticket response times (sla-rules 2.3); left out of public reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tickets: Option<TicketSection>,
}

/// The ticket section: per severity, and the tickets a manager asks about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketSection {
    /// The calendar Medium and Low targets are counted on (`calendar` or `tier2`).
    pub calendar: String,
    /// The rule options in force (sla-rules 1.6 and the decisions taken), so a reader knows
    /// what the figures were computed under.
    pub rules: TicketRules,
    pub by_severity: BySeverity,
    pub breached: Vec<TicketLine>,
    pub waived: Vec<TicketLine>,
}

/// Targets and options of the ticket clocks, as configured in `[tickets]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketRules {
    /// First-response targets in minutes.
    pub target_min: TicketTargets,
    /// `receipt` (default) or `change`: where a re-targeted clock counts from.
    pub retarget_from: String,
    /// W-impact: only an acknowledgement declaring a partial or major outage waives.
    pub waiver_requires_impact: bool,
    /// A2: a covering status-page update before the deadline counts as the response.
    pub status_page_counts_as_response: bool,
    /// M0: maintenance never waives.
    pub maintenance_never_waives: bool,
}

/// Targets per severity, in minutes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketTargets {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
}

/// Ticket figures per severity, in severity order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BySeverity {
    pub critical: crate::ticket::SeverityFigures,
    pub high: crate::ticket::SeverityFigures,
    pub medium: crate::ticket::SeverityFigures,
    pub low: crate::ticket::SeverityFigures,
}

impl BySeverity {
    /// `(name, figures)` in severity order, for renderers.
    pub fn iter(&self) -> [(&'static str, &crate::ticket::SeverityFigures); 4] {
        [
            ("critical", &self.critical),
            ("high", &self.high),
            ("medium", &self.medium),
            ("low", &self.low),
        ]
    }
}

/// One ticket in a report list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketLine {
    pub id: String,
    pub external_id: String,
    pub severity: String,
    pub received_at: String,
    pub deadline: Option<String>,
    pub first_response_at: Option<String>,
    pub waived_by: Option<String>,
    pub ack_published_at: Option<String>,
    pub explanation: String,
}

/// The settings in force, stated on every report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportSettings {
    pub partial_weight: f64,
    pub maintenance_counts_as_downtime: bool,
    /// How periods are cut: calendar months and days in UTC.
    pub calendar: String,
    pub timezone: String,
}

/// Figures of one channel (or the overall timeline) over the month.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChannelFigures {
    pub id: String,
    pub name: String,
    pub in_commitment: bool,
    pub total_ms: i64,
    pub up_ms: i64,
    pub degraded_ms: i64,
    pub partial_ms: i64,
    pub down_ms: i64,
    pub maintenance_ms: i64,
    pub unknown_ms: i64,
    /// `None` when nothing was measured.
    pub availability: Option<f64>,
    pub coverage: f64,
    /// `None` when nothing was measured.
    pub met: Option<bool>,
    pub allowed_downtime_ms: i64,
    pub budget_remaining_ms: i64,
    pub outages: u32,
    pub longest_outage_ms: i64,
    pub mttr_ms: Option<i64>,
    pub days: Vec<DayFigures>,
}

impl ChannelFigures {
    /// Downtime as counted against the budget: down, weighted partial and counted maintenance.
    pub fn counted_downtime_ms(&self) -> i64 {
        // allowed - remaining = counted downtime (both floored the same way).
        self.allowed_downtime_ms - self.budget_remaining_ms
    }
}

/// The overall timeline's figures, plus whether every counted channel met the commitment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverallFigures {
    #[serde(flatten)]
    pub figures: ChannelFigures,
    pub all_channels_met: bool,
}

/// One UTC day of a channel.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub availability: Option<f64>,
    pub down_ms: i64,
    pub partial_ms: i64,
    pub maintenance_ms: i64,
    pub unknown_ms: i64,
}
