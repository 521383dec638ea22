//! The operator API for incidents and maintenance (`Authorization: Bearer TOKEN`).

use super::auth::{Caller, Role};
use super::body::Body;
use super::{AppState, Error};
use crate::domain::{
    Affected, Config, DeclaredStatus, Impact, Incident, IncidentKind, NewIncident, NewUpdate,
    Timestamp, UpdateStatus,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/incidents",
            post(create_incident).get(list_incidents),
        )
        .route(
            "/api/v1/incidents/{id}",
            get(get_incident).delete(hide_incident),
        )
        .route("/api/v1/incidents/{id}/updates", post(add_update))
        .route("/api/v1/incidents/{id}/publish", post(publish))
        .route(
            "/api/v1/maintenances",
            post(create_maintenance).get(list_maintenances),
        )
        .route("/api/v1/maintenances/{id}", get(get_incident))
        .route("/api/v1/maintenances/{id}/updates", post(add_update))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentBody {
    title: String,
    impact: Impact,
    #[serde(default = "investigating")]
    status: UpdateStatus,
    #[serde(default)]
    message: String,
    /// Channel id or `group:<slug>` to its declared status.
    #[serde(default)]
    channels: BTreeMap<String, DeclaredStatus>,
    #[serde(default)]
    service_wide: bool,
    /// When the problem began (may be backdated); never the acknowledgement.
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default = "yes")]
    publish: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    title: String,
    #[serde(default)]
    message: String,
    scheduled_for: String,
    scheduled_until: String,
    /// Channel ids or `group:<slug>`.
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default = "yes")]
    auto_start: bool,
    #[serde(default = "yes")]
    auto_end: bool,
    #[serde(default = "yes")]
    publish: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    status: UpdateStatus,
    #[serde(default)]
    message: String,
    /// The full new set of affected channels; absent keeps the previous set.
    #[serde(default)]
    channels: Option<BTreeMap<String, DeclaredStatus>>,
}

#[derive(Deserialize)]
struct ListQuery {
    /// `open` for unresolved ones only.
    status: Option<String>,
}

fn investigating() -> UpdateStatus {
    UpdateStatus::Investigating
}

fn yes() -> bool {
    true
}

/// The API's view of an incident: ids as strings, times RFC 3339 UTC with milliseconds.
#[derive(Serialize)]
pub(super) struct IncidentView {
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
    updates: Vec<UpdateView>,
}

#[derive(Serialize)]
struct UpdateView {
    id: String,
    status: UpdateStatus,
    message: String,
    channels: Option<Affected>,
    created_at: String,
    published_at: Option<String>,
}

impl From<Incident> for IncidentView {
    fn from(i: Incident) -> Self {
        IncidentView {
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

async fn create_incident(
    State(app): State<AppState>,
    caller: Caller,
    Body(body): Body<IncidentBody>,
) -> Result<(StatusCode, Json<IncidentView>), Error> {
    caller.require(Role::Operator)?;
    let config = app.config();
    let new = NewIncident {
        kind: IncidentKind::Incident,
        title: non_empty(body.title, "title")?,
        impact: body.impact,
        service_wide: body.service_wide,
        started_at: body
            .started_at
            .as_deref()
            .map(|t| time(t, "started_at"))
            .transpose()?,
        status: fitting(body.status, IncidentKind::Incident)?,
        message: body.message,
        affected: Some(affected(&config, body.channels)?),
        publish: body.publish,
        scheduled_for: None,
        scheduled_until: None,
        auto_start: false,
        auto_end: false,
    };
    let incident = app
        .store
        .create_incident(new, app.clock.now(), caller.actor)
        .await?;
    announce(&app, &incident).await;
    Ok((StatusCode::CREATED, Json(incident.into())))
}

async fn create_maintenance(
    State(app): State<AppState>,
    caller: Caller,
    Body(body): Body<MaintenanceBody>,
) -> Result<(StatusCode, Json<IncidentView>), Error> {
    caller.require(Role::Operator)?;
    let config = app.config();
    let from = time(&body.scheduled_for, "scheduled_for")?;
    let until = time(&body.scheduled_until, "scheduled_until")?;
    if until <= from {
        return Err(Error::Invalid {
            message: "scheduled_until must be after scheduled_for".into(),
            field: "scheduled_until".into(),
        });
    }
    let channels = body
        .channels
        .into_iter()
        .map(|c| (c, DeclaredStatus::UnderMaintenance))
        .collect();
    let new = NewIncident {
        kind: IncidentKind::Maintenance,
        title: non_empty(body.title, "title")?,
        impact: Impact::Maintenance,
        service_wide: false,
        started_at: None,
        status: UpdateStatus::Scheduled,
        message: body.message,
        affected: Some(affected(&config, channels)?),
        publish: body.publish,
        scheduled_for: Some(from),
        scheduled_until: Some(until),
        auto_start: body.auto_start,
        auto_end: body.auto_end,
    };
    let incident = app
        .store
        .create_incident(new, app.clock.now(), caller.actor)
        .await?;
    announce(&app, &incident).await;
    Ok((StatusCode::CREATED, Json(incident.into())))
}

async fn add_update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<UpdateBody>,
) -> Result<(StatusCode, Json<IncidentView>), Error> {
    caller.require(Role::Operator)?;
    let id = parse_id(&id)?;
    let existing = app.store.incident(id).await?;
    let config = app.config();
    let update = NewUpdate {
        status: fitting(body.status, existing.kind)?,
        message: body.message,
        affected: body.channels.map(|c| affected(&config, c)).transpose()?,
    };
    let incident = app
        .store
        .add_update(id, update, app.clock.now(), caller.actor)
        .await?;
    announce(&app, &incident).await;
    Ok((StatusCode::CREATED, Json(incident.into())))
}

async fn publish(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, Error> {
    caller.require(Role::Operator)?;
    let incident = app
        .store
        .publish_incident(parse_id(&id)?, app.clock.now(), caller.actor)
        .await?;
    announce(&app, &incident).await;
    Ok(Json(incident.into()))
}

async fn hide_incident(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Operator)?;
    app.store
        .hide_incident(parse_id(&id)?, app.clock.now(), caller.actor)
        .await?;
    app.public_changed().await;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_incident(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, Error> {
    caller.require(Role::Operator)?;
    Ok(Json(app.store.incident(parse_id(&id)?).await?.into()))
}

#[derive(Serialize)]
struct IncidentList {
    incidents: Vec<IncidentView>,
    next: Option<String>,
}

async fn list_incidents(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<IncidentList>, Error> {
    list(app, caller, q, IncidentKind::Incident).await
}

async fn list_maintenances(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<IncidentList>, Error> {
    list(app, caller, q, IncidentKind::Maintenance).await
}

async fn list(
    app: AppState,
    caller: Caller,
    q: ListQuery,
    kind: IncidentKind,
) -> Result<Json<IncidentList>, Error> {
    caller.require(Role::Operator)?;
    let open_only = match q.status.as_deref() {
        None | Some("all") => false,
        Some("open") => true,
        Some(other) => {
            return Err(Error::Invalid {
                message: format!("status must be open or all, not {other:?}"),
                field: "status".into(),
            })
        }
    };
    let incidents = app
        .store
        .incidents()
        .await?
        .into_iter()
        .filter(|i| i.kind == kind)
        .filter(|i| !open_only || i.status().is_some_and(|s| !s.is_closed()))
        .map(IncidentView::from)
        .collect();
    Ok(Json(IncidentList {
        incidents,
        next: None,
    }))
}

/// Tells whoever listens (notifications, the page cache) about a public change; drafts stay
/// quiet. Returns once the cached public pages show it.
async fn announce(app: &AppState, incident: &Incident) {
    if incident.published_at.is_some() {
        // Nobody listening is fine.
        let _ = app.published.send(incident.clone());
        app.public_changed().await;
    }
}

/// Checks every key names a channel or `group:<slug>` of the configuration.
fn affected(
    config: &Config,
    channels: BTreeMap<String, DeclaredStatus>,
) -> Result<Affected, Error> {
    for key in channels.keys() {
        if !config.knows_channel_key(key) {
            return Err(Error::Invalid {
                message: format!("unknown channel or group {key:?}"),
                field: format!("channels.{key}"),
            });
        }
    }
    Ok(channels)
}

fn fitting(status: UpdateStatus, kind: IncidentKind) -> Result<UpdateStatus, Error> {
    if status.fits(kind) {
        Ok(status)
    } else {
        Err(Error::Invalid {
            message: format!("status {} does not apply to {kind:?}", status.as_str())
                .to_lowercase(),
            field: "status".into(),
        })
    }
}

fn non_empty(text: String, field: &str) -> Result<String, Error> {
    if text.trim().is_empty() {
        Err(Error::Invalid {
            message: format!("{field} must not be empty"),
            field: field.into(),
        })
    } else {
        Ok(text)
    }
}

fn time(text: &str, field: &str) -> Result<Timestamp, Error> {
    Timestamp::parse(text).ok_or_else(|| Error::Invalid {
        message: format!("{field} {text:?} is not RFC 3339 or epoch milliseconds"),
        field: field.into(),
    })
}

fn parse_id(text: &str) -> Result<i64, Error> {
    text.parse()
        .map_err(|_| Error::NotFound(format!("no incident {text:?}")))
}
