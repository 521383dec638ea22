//! The operator API's view of incidents and maintenance windows (`web::incidents`): ids as
//! strings, times RFC 3339 UTC with milliseconds.

use crate::domain::{Affected, Impact, Incident, IncidentKind, Timestamp, UpdateStatus};
use crate::sla;
use serde::Serialize;
use utoipa::ToSchema;

/// The API's view of an incident: ids as strings, times RFC 3339 UTC with milliseconds.
#[derive(Serialize, ToSchema)]
/// Public so the CLI prints the same JSON whether it works on the database or the API.
pub struct IncidentView {
    id: String,
    kind: IncidentKind,
    title: String,
    impact: Impact,
    status: Option<UpdateStatus>,
    service_wide: bool,
    started_at: Option<String>,
    created_at: String,
    /// The acknowledgement: when the first public update was published. Immutable.
    published_at: Option<String>,
    hidden: bool,
    origin: String,
    scheduled_for: Option<String>,
    scheduled_until: Option<String>,
    /// Maintenance: the instant from which the window takes effect. A window takes effect no
    /// earlier than its announcement (`published_at`), so for one scheduled in the past this
    /// is the announcement, not `scheduled_for`, and the time before keeps what was measured;
    /// a window that ended before it changes no time. Null for a draft and for incidents.
    takes_effect_from: Option<String>,
    /// Maintenance announced after its start: says from when it counts (or that it counts
    /// not at all); null otherwise.
    announcement_note: Option<String>,
    updates: Vec<UpdateView>,
}

#[derive(Serialize, ToSchema)]
struct UpdateView {
    id: String,
    status: UpdateStatus,
    message: String,
    channels: Option<Affected>,
    created_at: String,
    published_at: Option<String>,
}

/// What the page and the API say about a maintenance announced after its start (sla-rules 3
/// rule 6), with times written by `format`; `None` for one announced in time.
pub(super) fn announcement_note(
    incident: &Incident,
    format: fn(Timestamp) -> String,
) -> Option<String> {
    let late = sla::late_announcement(incident)?;
    Some(match late.counted {
        Some(window) => format!(
            "Announced after its start: counted from {}",
            format(window.from)
        ),
        None => format!(
            "Announced after its end (at {}): it counts as no maintenance time",
            format(late.announced_at)
        ),
    })
}

impl From<Incident> for IncidentView {
    fn from(i: Incident) -> Self {
        let takes_effect_from = sla::takes_effect_from(&i).map(Timestamp::to_rfc3339);
        let announcement_note = announcement_note(&i, Timestamp::to_rfc3339);
        IncidentView {
            takes_effect_from,
            announcement_note,
            id: i.id.to_string(),
            kind: i.kind,
            status: i.status(),
            title: i.title,
            impact: i.impact,
            service_wide: i.service_wide,
            started_at: i.started_at.map(Timestamp::to_rfc3339),
            created_at: i.created_at.to_rfc3339(),
            published_at: i.published_at.map(Timestamp::to_rfc3339),
            hidden: i.hidden,
            origin: i.origin,
            scheduled_for: i.scheduled_for.map(Timestamp::to_rfc3339),
            scheduled_until: i.scheduled_until.map(Timestamp::to_rfc3339),
            updates: i
                .updates
                .into_iter()
                .map(|u| UpdateView {
                    id: u.id.to_string(),
                    status: u.status,
                    message: u.message,
                    channels: u.affected,
                    created_at: u.created_at.to_rfc3339(),
                    published_at: u.published_at.map(Timestamp::to_rfc3339),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(super) struct IncidentList {
    pub(super) incidents: Vec<IncidentView>,
    pub(super) next: Option<String>,
}
