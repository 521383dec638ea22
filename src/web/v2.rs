//! Statuspage-compatible public JSON (`/api/v2/*.json`): the same field layout as
//! Statuspage's public v2 API, so existing clients, widgets and aggregators read Beacon
//! unchanged. Answers carry `Access-Control-Allow-Origin: *` for widgets on other sites
//! (added by the page cache, which serves them all).

use super::live::{live, PublicView};
use super::{AppState, Error};
use crate::domain::{
    DeclaredStatus, Incident, IncidentKind, IncidentUpdate, State as ChannelState, Timestamp,
    UpdateStatus,
};
use crate::probe::ChannelStatus;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Every v2 path, in the order [`documents`] renders them.
pub(super) const PATHS: [&str; 8] = [
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
];

/// Every v2 answer, from one snapshot (so they agree with each other), for the page cache,
/// which serves them with `Access-Control-Allow-Origin: *`.
pub(super) async fn documents(app: &AppState) -> Result<Vec<(&'static str, Value)>, Error> {
    let s = snapshot(app).await?;
    let documents = [
        summary(&s),
        json!({ "page": s.page, "status": status_of(&s) }),
        json!({ "page": s.page, "components": components_of(&s) }),
        incidents(&s),
        unresolved(&s),
        maintenance_list(&s, |_, _| true),
        maintenance_list(&s, |i, now| {
            status_at(i, now) == Some(UpdateStatus::Scheduled)
        }),
        maintenance_list(&s, |i, now| {
            matches!(
                status_at(i, now),
                Some(UpdateStatus::InProgress | UpdateStatus::Verifying)
            )
        }),
    ];
    Ok(PATHS.into_iter().zip(documents).collect())
}

/// What every v2 answer is built from.
struct Snapshot {
    page: Value,
    /// `[page] url`: makes `shortlink`s absolute.
    public_url: Option<String>,
    view: PublicView,
    all: Vec<Incident>,
    last_known: Vec<Option<ChannelState>>,
    /// When each channel was first stored: its component's `created_at`.
    created: HashMap<String, Timestamp>,
    now: Timestamp,
}

async fn snapshot(app: &AppState) -> Result<Snapshot, Error> {
    let now = app.clock.now();
    let config = app.config();
    let view = live(app).await?;
    let all = app.store.incidents().await?;
    let mut last_known = Vec::with_capacity(view.channels.len());
    for c in &view.channels {
        let transitions = app
            .store
            .channel_transitions(c.id.clone(), Timestamp(i64::MIN), now)
            .await?;
        last_known.push(
            transitions
                .iter()
                .rev()
                .map(|t| t.state)
                .find(|s| *s != ChannelState::Unknown),
        );
    }
    let created = app
        .store
        .channel_records()
        .await?
        .into_iter()
        .map(|r| (r.id, r.created_at))
        .collect();
    // The id stays the service's slug, so renaming the page keeps components' `page_id`.
    let page = json!({
        "id": crate::domain::slug(&config.service.name),
        "name": config.page.name,
        "url": config.page.url.as_deref().unwrap_or("/"),
        "time_zone": "Etc/UTC",
        "updated_at": now.to_rfc3339(),
    });
    Ok(Snapshot {
        page,
        public_url: config.page.url.clone(),
        view,
        all,
        last_known,
        created,
        now,
    })
}

fn summary(s: &Snapshot) -> Value {
    json!({
        "page": s.page,
        "components": components_of(s),
        "incidents": published(s, IncidentKind::Incident).filter(|i| i.is_open_at(s.now)).map(|i| incident(i, s)).collect::<Vec<_>>(),
        "scheduled_maintenances": published(s, IncidentKind::Maintenance)
            .filter(|i| !closed(i, s.now))
            .map(|i| incident(i, s))
            .collect::<Vec<_>>(),
        "status": status_of(s),
    })
}

fn incidents(s: &Snapshot) -> Value {
    let list: Vec<Value> = published(s, IncidentKind::Incident)
        .take(50)
        .map(|i| incident(i, s))
        .collect();
    json!({ "page": s.page, "incidents": list })
}

fn unresolved(s: &Snapshot) -> Value {
    let list: Vec<Value> = published(s, IncidentKind::Incident)
        .filter(|i| i.is_open_at(s.now))
        .map(|i| incident(i, s))
        .collect();
    json!({ "page": s.page, "incidents": list })
}

fn maintenance_list(s: &Snapshot, keep: impl Fn(&Incident, Timestamp) -> bool) -> Value {
    let list: Vec<Value> = published(s, IncidentKind::Maintenance)
        .filter(|i| keep(i, s.now))
        .map(|i| incident(i, s))
        .collect();
    json!({ "page": s.page, "scheduled_maintenances": list })
}

fn published(s: &Snapshot, kind: IncidentKind) -> impl Iterator<Item = &Incident> {
    s.all
        .iter()
        .filter(move |i| i.kind == kind && i.published_at.is_some() && !i.hidden)
}

fn status_at(i: &Incident, now: Timestamp) -> Option<UpdateStatus> {
    i.public_state_at(now).map(|u| u.status)
}

fn closed(i: &Incident, now: Timestamp) -> bool {
    status_at(i, now).is_some_and(UpdateStatus::is_closed)
}

fn status_of(s: &Snapshot) -> Value {
    let indicator = s.view.indicator();
    json!({ "indicator": indicator.as_str(), "description": indicator.description() })
}

/// The v2 component status of a channel: unknown shows the last known status (operational
/// if none), as the design says; the HTML page shows "unknown" plainly.
fn component_status(c: &ChannelStatus, last_known: Option<ChannelState>) -> &'static str {
    c.state
        .v2_component_status()
        .or_else(|| last_known.and_then(ChannelState::v2_component_status))
        .unwrap_or("operational")
}

fn severity_of(status: &str) -> u8 {
    match status {
        "major_outage" => 4,
        "partial_outage" => 3,
        "degraded_performance" => 2,
        "under_maintenance" => 1,
        _ => 0,
    }
}

fn components_of(s: &Snapshot) -> Vec<Value> {
    let page_id = s.page["id"].clone();
    let mut out = Vec::new();
    let mut groups: Vec<(String, String, Vec<String>, &'static str, Timestamp)> = Vec::new();
    for (position, (c, last)) in s.view.channels.iter().zip(&s.last_known).enumerate() {
        let status = component_status(c, *last);
        // Stored before it is served (the configuration is synced at start and on reload).
        let created = s.created.get(&c.id).copied().unwrap_or(s.now);
        out.push(json!({
            "id": c.id, "name": c.name, "status": status,
            "created_at": created.to_rfc3339(), "updated_at": c.since.unwrap_or(s.now).to_rfc3339(),
            "position": position + 1, "description": null, "showcase": true, "start_date": null,
            "group_id": c.group_id, "page_id": page_id, "group": false, "only_show_if_degraded": false,
        }));
        match groups.iter_mut().find(|g| g.0 == c.group_id) {
            Some(g) => {
                g.2.push(c.id.clone());
                if severity_of(status) > severity_of(g.3) {
                    g.3 = status;
                }
                g.4 = g.4.min(created);
            }
            None => groups.push((
                c.group_id.clone(),
                c.group.clone(),
                vec![c.id.clone()],
                status,
                created,
            )),
        }
    }
    let base = out.len();
    // A group exists since its first channel.
    for (n, (id, name, members, status, created)) in groups.into_iter().enumerate() {
        out.push(json!({
            "id": id, "name": name, "status": status,
            "created_at": created.to_rfc3339(), "updated_at": s.now.to_rfc3339(),
            "position": base + n + 1, "description": null, "showcase": false, "start_date": null,
            "group_id": null, "page_id": page_id, "group": true, "only_show_if_degraded": false,
            "components": members,
        }));
    }
    out
}

/// The channels (component id, name) an affected key stands for: `group:<slug>` for every
/// channel of the group, a channel id for itself (named by its id if it left the
/// configuration). Statuspage clients know components, never Beacon's group keys.
fn channels_of<'a>(s: &'a Snapshot, key: &'a str) -> Vec<(&'a str, &'a str)> {
    let channels = s.view.channels.iter();
    match key.strip_prefix("group:") {
        Some(slug) => channels
            .filter(|c| c.group_id == slug)
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect(),
        None => vec![channels
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .find(|(id, _)| *id == key)
            .unwrap_or((key, key))],
    }
}

/// An affected set by component: each channel's declared status (a channel named directly
/// wins over its group's declaration).
fn by_component<'a>(
    s: &'a Snapshot,
    affected: &'a crate::domain::Affected,
) -> BTreeMap<&'a str, (&'a str, DeclaredStatus)> {
    let mut out = BTreeMap::new();
    for (key, status) in affected {
        let direct = !key.starts_with("group:");
        for (id, name) in channels_of(s, key) {
            let declared = (name, *status);
            if direct {
                out.insert(id, declared);
            } else {
                out.entry(id).or_insert(declared);
            }
        }
    }
    out
}

/// A declared status as serde writes it (Statuspage's component status).
fn status_value(status: DeclaredStatus) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

/// Each public update's `affected_components` (`None` where the update kept the previous
/// set), oldest update first: every component of the new set with its status before the
/// update (`operational` if the incident had not declared it) and after, and each component
/// the update dropped, back to `operational`.
fn affected_components(s: &Snapshot, oldest_first: &[&IncidentUpdate]) -> Vec<Option<Value>> {
    let mut before: BTreeMap<&str, (&str, DeclaredStatus)> = BTreeMap::new();
    let mut out = Vec::with_capacity(oldest_first.len());
    for update in oldest_first {
        let Some(affected) = &update.affected else {
            out.push(None);
            continue;
        };
        let after = by_component(s, affected);
        let old = |id: &str| {
            before
                .get(id)
                .map_or(json!("operational"), |(_, status)| status_value(*status))
        };
        let mut list: Vec<Value> = after
            .iter()
            .map(|(id, (name, new))| {
                json!({"code": id, "name": name, "old_status": old(id), "new_status": status_value(*new)})
            })
            .collect();
        list.extend(before.iter().filter(|(id, _)| !after.contains_key(*id)).map(
            |(id, (name, old))| {
                json!({"code": id, "name": name, "old_status": status_value(*old), "new_status": "operational"})
            },
        ));
        out.push(Some(Value::Array(list)));
        before = after;
    }
    out
}

/// An incident or maintenance in Statuspage's layout, with its public updates newest first.
fn incident(i: &Incident, s: &Snapshot) -> Value {
    let id = i.id.to_string();
    let mut updates: Vec<_> = i
        .updates
        .iter()
        .filter(|u| u.published_at.is_some())
        .collect();
    updates.sort_by_key(|u| std::cmp::Reverse((u.published_at, u.id)));
    let time_of = |status: UpdateStatus| {
        updates
            .iter()
            .rev()
            .find(|u| u.status == status)
            .and_then(|u| u.published_at)
            .map(Timestamp::to_rfc3339)
    };
    let updated_at = updates
        .first()
        .and_then(|u| u.published_at)
        .unwrap_or(i.created_at);
    // Every channel the incident affected at some point, as Statuspage lists them (a
    // resolved incident still names what it was about); a group's key names its channels.
    let affected_ids: std::collections::BTreeSet<&str> = updates
        .iter()
        .filter_map(|u| u.affected.as_ref())
        .flat_map(|a| a.keys())
        .flat_map(|key| channels_of(s, key).into_iter().map(|(id, _)| id))
        .collect();
    let components: Vec<Value> = components_of(s)
        .into_iter()
        .filter(|c| c["group"] == false)
        .filter(|c| c["id"].as_str().is_some_and(|id| affected_ids.contains(id)))
        .collect();
    let oldest_first: Vec<&IncidentUpdate> = updates.iter().rev().copied().collect();
    let mut affected = affected_components(s, &oldest_first);
    affected.reverse();
    let status = updates
        .first()
        .map_or("investigating", |u| u.status.as_str());
    let mut value = json!({
        "id": id,
        "name": i.title,
        "status": status,
        // Public since its acknowledgement; an imported incident keeps its original creation.
        "created_at": if i.origin == "imported" { i.created_at } else { i.published_at.unwrap_or(i.created_at) }.to_rfc3339(),
        "updated_at": updated_at.to_rfc3339(),
        "monitoring_at": time_of(UpdateStatus::Monitoring),
        "resolved_at": time_of(UpdateStatus::Resolved).or_else(|| time_of(UpdateStatus::Completed)),
        "impact": i.impact.as_str(),
        "shortlink": format!("{}/incidents/{id}", s.public_url.as_deref().unwrap_or("")),
        "started_at": i.started_at.or(i.published_at).unwrap_or(i.created_at).to_rfc3339(),
        "page_id": s.page["id"],
        "incident_updates": updates.iter().zip(affected).map(|(u, affected)| {
            let at = u.published_at.unwrap_or(u.created_at).to_rfc3339();
            json!({
                "id": u.id.to_string(), "status": u.status.as_str(), "body": u.message,
                "incident_id": id, "created_at": at, "updated_at": at, "display_at": at,
                "affected_components": affected,
                "deliver_notifications": true, "custom_tweet": null, "tweet_id": null,
            })
        }).collect::<Vec<_>>(),
        "components": components,
    });
    if i.kind == IncidentKind::Maintenance {
        value["scheduled_for"] = json!(i.scheduled_for.map(Timestamp::to_rfc3339));
        value["scheduled_until"] = json!(i.scheduled_until.map(Timestamp::to_rfc3339));
    }
    value
}
