//! Statuspage-compatible public JSON (`/api/v2/*.json`): the same field layout as
//! Statuspage's public v2 API, so existing clients, widgets and aggregators read Beacon
//! unchanged. Answers carry `Access-Control-Allow-Origin: *` for widgets on other sites
//! (added by the page cache, which serves them all).

use super::live::{live, PublicView};
use super::{AppState, Error};
use crate::domain::{Incident, IncidentKind, State as ChannelState, Timestamp, UpdateStatus};
use crate::probe::ChannelStatus;
use serde_json::{json, Value};

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
    let created = Timestamp(0).to_rfc3339();
    let mut out = Vec::new();
    let mut groups: Vec<(String, String, Vec<String>, &'static str)> = Vec::new();
    for (position, (c, last)) in s.view.channels.iter().zip(&s.last_known).enumerate() {
        let status = component_status(c, *last);
        out.push(json!({
            "id": c.id, "name": c.name, "status": status,
            "created_at": created, "updated_at": c.since.unwrap_or(s.now).to_rfc3339(),
            "position": position + 1, "description": null, "showcase": true, "start_date": null,
            "group_id": c.group_id, "page_id": page_id, "group": false, "only_show_if_degraded": false,
        }));
        match groups.iter_mut().find(|g| g.0 == c.group_id) {
            Some(g) => {
                g.2.push(c.id.clone());
                if severity_of(status) > severity_of(g.3) {
                    g.3 = status;
                }
            }
            None => groups.push((
                c.group_id.clone(),
                c.group.clone(),
                vec![c.id.clone()],
                status,
            )),
        }
    }
    let base = out.len();
    for (n, (id, name, members, status)) in groups.into_iter().enumerate() {
        out.push(json!({
            "id": id, "name": name, "status": status,
            "created_at": created, "updated_at": s.now.to_rfc3339(),
            "position": base + n + 1, "description": null, "showcase": false, "start_date": null,
            "group_id": null, "page_id": page_id, "group": true, "only_show_if_degraded": false,
            "components": members,
        }));
    }
    out
}

/// A channel's display name (Statuspage's component name), or the key itself for a group.
fn channel_name<'a>(s: &'a Snapshot, key: &'a str) -> &'a str {
    s.view
        .channels
        .iter()
        .find(|c| c.id == key)
        .map_or(key, |c| c.name.as_str())
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
    // resolved incident still names what it was about).
    let affected_ids: std::collections::BTreeSet<&String> = updates
        .iter()
        .filter_map(|u| u.affected.as_ref())
        .flat_map(|a| a.keys())
        .collect();
    let components: Vec<Value> = components_of(s)
        .into_iter()
        .filter(|c| {
            c["id"].as_str().is_some_and(|id| {
                affected_ids
                    .iter()
                    .any(|a| *a == id || **a == format!("group:{id}"))
            })
        })
        .collect();
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
        "incident_updates": updates.iter().map(|u| {
            let at = u.published_at.unwrap_or(u.created_at).to_rfc3339();
            json!({
                "id": u.id.to_string(), "status": u.status.as_str(), "body": u.message,
                "incident_id": id, "created_at": at, "updated_at": at, "display_at": at,
                "affected_components": u.affected.as_ref().map(|a| a.iter().map(|(k, v)| json!({
                    "code": k, "name": channel_name(s, k), "old_status": null,
                    "new_status": serde_json::to_value(v).unwrap_or(Value::Null),
                })).collect::<Vec<_>>()),
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
