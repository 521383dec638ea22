//! `beacon import incidents`: history from Statuspage's public `incidents.json` and
//! `scheduled-maintenances.json` (v2 layout; a file with both lists, like `summary.json`,
//! brings both), keeping each update's original time as its publication time and each
//! window's planned times. Everything is checked before anything is written; a bad file
//! names what is wrong.

use crate::domain::{
    Affected, Channel, DeclaredStatus, Impact, IncidentKind, Timestamp, UpdateStatus,
};
use crate::store::{ImportedIncident, ImportedUpdate, ImportedWindow};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct File {
    incidents: Option<Vec<RawIncident>>,
    scheduled_maintenances: Option<Vec<RawIncident>>,
}

#[derive(Deserialize)]
struct RawIncident {
    id: Option<String>,
    name: Option<String>,
    impact: Option<String>,
    created_at: Option<String>,
    started_at: Option<String>,
    #[serde(default)]
    components: Vec<RawComponent>,
    #[serde(default)]
    incident_updates: Vec<RawUpdate>,
    /// Maintenance only: the planned window, and whether Statuspage moved it on by itself.
    scheduled_for: Option<String>,
    scheduled_until: Option<String>,
    #[serde(default)]
    scheduled_auto_in_progress: bool,
    #[serde(default)]
    scheduled_auto_completed: bool,
}

#[derive(Deserialize)]
struct RawComponent {
    name: String,
}

#[derive(Deserialize)]
struct RawUpdate {
    status: Option<String>,
    body: Option<String>,
    created_at: Option<String>,
    #[serde(default)]
    affected_components: Option<Vec<RawAffected>>,
}

#[derive(Deserialize)]
struct RawAffected {
    name: String,
    new_status: Option<String>,
}

/// Parses and checks the file. `map` sends Statuspage component names to channel ids;
/// otherwise a component matches the channel with the same name (case-insensitive).
pub fn parse(
    text: &str,
    channels: &[Channel],
    map: &BTreeMap<String, String>,
) -> Result<Vec<ImportedIncident>, String> {
    let not_statuspage = "not a Statuspage incidents.json or scheduled-maintenances.json";
    let file: File = serde_json::from_str(text).map_err(|e| format!("{not_statuspage}: {e}"))?;
    if file.incidents.is_none() && file.scheduled_maintenances.is_none() {
        return Err(format!(
            "{not_statuspage}: neither `incidents` nor `scheduled_maintenances` is there"
        ));
    }
    let lists = [
        (IncidentKind::Incident, "incidents", file.incidents),
        (
            IncidentKind::Maintenance,
            "scheduled_maintenances",
            file.scheduled_maintenances,
        ),
    ];
    let mut out = Vec::new();
    for (kind, key, list) in lists {
        for (n, raw) in list.unwrap_or_default().into_iter().enumerate() {
            out.push(incident(raw, kind, channels, map).map_err(|e| format!("{key}[{n}]: {e}"))?);
        }
    }
    Ok(out)
}

fn incident(
    raw: RawIncident,
    kind: IncidentKind,
    channels: &[Channel],
    map: &BTreeMap<String, String>,
) -> Result<ImportedIncident, String> {
    let external_id = raw.id.filter(|i| !i.is_empty()).ok_or("missing id")?;
    let title = raw
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or("missing name")?;
    let impact = match raw.impact.as_deref() {
        Some("none") => Impact::None,
        Some("minor") => Impact::Minor,
        Some("major") => Impact::Major,
        Some("critical") => Impact::Critical,
        Some("maintenance") => Impact::Maintenance,
        Some(other) => {
            return Err(format!(
                "impact {other:?} is not none, minor, major or critical"
            ))
        }
        None => return Err("missing impact".into()),
    };
    let created_at = time(raw.created_at.as_deref(), "created_at")?;
    let started_at = raw
        .started_at
        .as_deref()
        .map(|t| time(Some(t), "started_at"))
        .transpose()?;
    // Statuspage lists updates newest first.
    let mut updates = raw
        .incident_updates
        .into_iter()
        .enumerate()
        .map(|(n, u)| {
            update(u, kind, channels, map).map_err(|e| format!("incident_updates[{n}]: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    updates.sort_by_key(|u| u.published_at);
    if updates.is_empty() {
        return Err("no incident_updates: nothing was published".into());
    }
    // Components named on the incident but on no update: the whole incident affected them.
    if updates.iter().all(|u| u.affected.is_none()) && !raw.components.is_empty() {
        let status = match impact {
            _ if kind == IncidentKind::Maintenance => DeclaredStatus::UnderMaintenance,
            Impact::Critical | Impact::Major => DeclaredStatus::MajorOutage,
            Impact::Minor => DeclaredStatus::PartialOutage,
            Impact::None | Impact::Maintenance => DeclaredStatus::DegradedPerformance,
        };
        let mut affected = Affected::new();
        for c in &raw.components {
            affected.insert(channel_for(&c.name, channels, map)?, status);
        }
        updates[0].affected = Some(affected);
    }
    let window = match kind {
        IncidentKind::Incident => None,
        IncidentKind::Maintenance => {
            let from = time(raw.scheduled_for.as_deref(), "scheduled_for")?;
            let until = time(raw.scheduled_until.as_deref(), "scheduled_until")?;
            if until <= from {
                return Err("scheduled_until must be after scheduled_for".into());
            }
            Some(ImportedWindow {
                scheduled_for: from,
                scheduled_until: until,
                auto_start: raw.scheduled_auto_in_progress,
                auto_end: raw.scheduled_auto_completed,
            })
        }
    };
    Ok(ImportedIncident {
        external_id,
        title,
        // Beacon's windows all have the maintenance impact, as the API gives them.
        impact: if window.is_some() {
            Impact::Maintenance
        } else {
            impact
        },
        started_at,
        created_at,
        updates,
        window,
    })
}

fn update(
    raw: RawUpdate,
    kind: IncidentKind,
    channels: &[Channel],
    map: &BTreeMap<String, String>,
) -> Result<ImportedUpdate, String> {
    let status_text = raw.status.ok_or("missing status")?;
    let kind_name = match kind {
        IncidentKind::Incident => "an incident",
        IncidentKind::Maintenance => "a maintenance",
    };
    let status = UpdateStatus::parse(&status_text)
        .filter(|s| s.fits(kind))
        .ok_or_else(|| format!("status {status_text:?} is not {kind_name} status"))?;
    let affected = match raw.affected_components {
        None => None,
        Some(list) => {
            let mut affected = Affected::new();
            for a in list {
                let declared = match a.new_status.as_deref() {
                    Some("degraded_performance") => Some(DeclaredStatus::DegradedPerformance),
                    Some("partial_outage") => Some(DeclaredStatus::PartialOutage),
                    Some("major_outage") => Some(DeclaredStatus::MajorOutage),
                    Some("under_maintenance") => Some(DeclaredStatus::UnderMaintenance),
                    Some("operational") | None => None,
                    Some(other) => return Err(format!("component status {other:?} is unknown")),
                };
                if let Some(d) = declared {
                    affected.insert(channel_for(&a.name, channels, map)?, d);
                }
            }
            Some(affected)
        }
    };
    Ok(ImportedUpdate {
        status,
        message: raw.body.unwrap_or_default(),
        affected,
        published_at: time(raw.created_at.as_deref(), "created_at")?,
    })
}

fn channel_for(
    component: &str,
    channels: &[Channel],
    map: &BTreeMap<String, String>,
) -> Result<String, String> {
    if let Some(id) = map.get(component) {
        return channels
            .iter()
            .find(|c| &c.id == id)
            .map(|c| c.id.clone())
            .ok_or_else(|| format!("--map sends {component:?} to unknown channel {id:?}"));
    }
    channels
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(component))
        .map(|c| c.id.clone())
        .ok_or_else(|| {
            format!(
                "component {component:?} matches no channel (use --map \"{component}=CHANNEL_ID\")"
            )
        })
}

fn time(text: Option<&str>, field: &str) -> Result<Timestamp, String> {
    let text = text.ok_or_else(|| format!("missing {field}"))?;
    Timestamp::parse(text).ok_or_else(|| format!("{field} {text:?} is not an RFC 3339 time"))
}
