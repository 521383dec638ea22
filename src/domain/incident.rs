//! Incidents and maintenance windows as operators declare them, with Statuspage's names.

use super::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Incident (unplanned) or maintenance (planned); they share updates and publication rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Incident,
    Maintenance,
}

/// How bad an incident is, as on Statuspage.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
    /// Planned maintenance (Statuspage's impact for scheduled maintenances).
    Maintenance,
}

impl Impact {
    /// The name used in the API, the database and CSS classes (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
            Impact::Maintenance => "maintenance",
        }
    }

    /// Parses the name written by [`Impact::as_str`].
    pub fn parse(text: &str) -> Option<Impact> {
        [
            Impact::None,
            Impact::Minor,
            Impact::Major,
            Impact::Critical,
            Impact::Maintenance,
        ]
        .into_iter()
        .find(|i| i.as_str() == text)
    }
}

/// The status an update gives its incident or maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Postmortem,
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

impl UpdateStatus {
    /// Every status, incidents' first.
    pub const ALL: [UpdateStatus; 9] = [
        UpdateStatus::Investigating,
        UpdateStatus::Identified,
        UpdateStatus::Monitoring,
        UpdateStatus::Resolved,
        UpdateStatus::Postmortem,
        UpdateStatus::Scheduled,
        UpdateStatus::InProgress,
        UpdateStatus::Verifying,
        UpdateStatus::Completed,
    ];

    /// Statuses an incident may take; the others belong to maintenance.
    pub fn fits(self, kind: IncidentKind) -> bool {
        use UpdateStatus::*;
        match kind {
            IncidentKind::Incident => matches!(
                self,
                Investigating | Identified | Monitoring | Resolved | Postmortem
            ),
            IncidentKind::Maintenance => {
                matches!(self, Scheduled | InProgress | Verifying | Completed)
            }
        }
    }

    /// Closed: resolved, postmortem (never a reopening) or completed.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            UpdateStatus::Resolved | UpdateStatus::Postmortem | UpdateStatus::Completed
        )
    }

    pub fn as_str(self) -> &'static str {
        use UpdateStatus::*;
        match self {
            Investigating => "investigating",
            Identified => "identified",
            Monitoring => "monitoring",
            Resolved => "resolved",
            Postmortem => "postmortem",
            Scheduled => "scheduled",
            InProgress => "in_progress",
            Verifying => "verifying",
            Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<UpdateStatus> {
        UpdateStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The status operators declare for an affected channel (Statuspage component status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredStatus {
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
    UnderMaintenance,
}

impl DeclaredStatus {
    /// The Beacon state the declaration stands for (sla-rules section 3 rule 5).
    pub fn state(self) -> super::State {
        match self {
            DeclaredStatus::DegradedPerformance => super::State::Degraded,
            DeclaredStatus::PartialOutage => super::State::Partial,
            DeclaredStatus::MajorOutage => super::State::Down,
            DeclaredStatus::UnderMaintenance => super::State::Maintenance,
        }
    }
}

/// Affected channels by key: a channel id, or `group:<slug>` for every channel of a group.
pub type Affected = BTreeMap<String, DeclaredStatus>;

/// One update of an incident: append-only; public once `published_at` is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentUpdate {
    pub id: i64,
    pub status: UpdateStatus,
    /// Markdown, rendered safely (raw HTML is shown as text).
    pub message: String,
    /// The full set of affected channels from this update on; `None` keeps the previous set.
    pub affected: Option<Affected>,
    pub created_at: Timestamp,
    /// Server time it went public; `None` while a draft. Never changes once set.
    pub published_at: Option<Timestamp>,
    pub author: String,
}

/// An incident or maintenance window with its updates, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub kind: IncidentKind,
    pub title: String,
    pub impact: Impact,
    /// Covers every channel (sla-rules 1.2 rule 4).
    pub service_wide: bool,
    /// When the problem began; may be backdated; never the acknowledgement.
    pub started_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The first public update's publication: the acknowledgement time. Immutable.
    pub published_at: Option<Timestamp>,
    /// Hidden from the public page (a "deleted" published incident keeps its record).
    pub hidden: bool,
    /// `beacon` or `imported`.
    pub origin: String,
    /// Maintenance only: the planned window, and whether it starts and ends by itself.
    pub scheduled_for: Option<Timestamp>,
    pub scheduled_until: Option<Timestamp>,
    pub auto_start: bool,
    pub auto_end: bool,
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    /// The status of the latest update (public or draft).
    pub fn status(&self) -> Option<UpdateStatus> {
        self.updates.last().map(|u| u.status)
    }

    /// Closed by its latest update, public or draft (resolved, postmortem, completed).
    pub fn is_closed(&self) -> bool {
        self.status().is_some_and(UpdateStatus::is_closed)
    }

    /// The latest public update at or before `t`.
    pub fn public_state_at(&self, t: Timestamp) -> Option<&IncidentUpdate> {
        self.updates
            .iter()
            .filter(|u| u.published_at.is_some_and(|p| p <= t))
            .max_by_key(|u| (u.published_at, u.id))
    }

    /// Public and not closed at `t`.
    pub fn is_open_at(&self, t: Timestamp) -> bool {
        self.public_state_at(t)
            .is_some_and(|u| !u.status.is_closed())
    }
}

/// Who makes a change and from where, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `token:<name>`, `user:<name>`, `cli:<os user>`...
    pub who: String,
    /// Remote address, or `cli`.
    pub source: String,
}

/// A new incident or maintenance window with its first update.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub kind: IncidentKind,
    pub title: String,
    pub impact: Impact,
    pub service_wide: bool,
    pub started_at: Option<Timestamp>,
    pub status: UpdateStatus,
    pub message: String,
    pub affected: Option<Affected>,
    /// Public at once (the acknowledgement is now), or a draft.
    pub publish: bool,
    pub scheduled_for: Option<Timestamp>,
    pub scheduled_until: Option<Timestamp>,
    pub auto_start: bool,
    pub auto_end: bool,
}

/// A new update to an existing incident; public at once if the incident is published.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUpdate {
    pub status: UpdateStatus,
    pub message: String,
    pub affected: Option<Affected>,
}
