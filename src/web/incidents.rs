//! The operator API for incidents and maintenance (`Authorization: Bearer TOKEN`).

use super::auth::{Caller, Role};
use super::body::{Body, Path, Query};
use super::error::{AuthErrors, InputErrors, NotFoundError};
pub(super) use super::incident_checks::{affected, fitting, message, non_empty};
use super::incident_checks::{incident_status, maintenance_status, of_kind};
use super::incident_view::{IncidentList, IncidentView};
use super::text;
use super::{AppState, Error};
use crate::domain::{
    DeclaredStatus, Impact, Incident, IncidentKind, NewIncident, NewUpdate, Timestamp, UpdateStatus,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_incident, list_incidents))
        .routes(routes!(get_incident, hide_incident))
        .routes(routes!(add_update))
        .routes(routes!(publish))
        .routes(routes!(create_maintenance, list_maintenances))
        .routes(routes!(get_maintenance, hide_maintenance))
        .routes(routes!(add_maintenance_update))
        .routes(routes!(publish_maintenance))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IncidentBody {
    /// Not blank; at most 200 characters, no NUL.
    #[schema(schema_with = text::title_schema)]
    title: String,
    impact: Impact,
    #[serde(default = "investigating")]
    #[schema(schema_with = incident_status)]
    status: UpdateStatus,
    /// Markdown; at most 20,000 characters, no NUL.
    #[serde(default)]
    #[schema(schema_with = text::message_schema)]
    message: String,
    /// Channel id or `group:<slug>` to its declared status.
    #[serde(default)]
    channels: BTreeMap<String, DeclaredStatus>,
    #[serde(default)]
    service_wide: bool,
    /// When the problem began (may be backdated); never the acknowledgement. RFC 3339 or
    /// epoch milliseconds.
    #[serde(default)]
    #[schema(schema_with = super::openapi::optional_instant)]
    started_at: Option<String>,
    #[serde(default = "yes")]
    publish: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    /// Not blank; at most 200 characters, no NUL.
    #[schema(schema_with = text::title_schema)]
    title: String,
    /// Markdown; at most 20,000 characters, no NUL.
    #[serde(default)]
    #[schema(schema_with = text::message_schema)]
    message: String,
    /// RFC 3339 or epoch milliseconds, from 2000-01-01 to 10 years from now (422 outside).
    /// A start in the past is accepted, but the window counts only from its announcement
    /// (its publication): the time before keeps what was measured (`takes_effect_from`).
    #[schema(schema_with = super::openapi::instant)]
    scheduled_for: String,
    /// After `scheduled_for`; from 2000-01-01 to 10 years from now (422 outside).
    #[schema(schema_with = super::openapi::instant)]
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

/// An incident's update.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[schema(schema_with = incident_status)]
    status: UpdateStatus,
    /// Markdown; at most 20,000 characters, no NUL.
    #[serde(default)]
    #[schema(schema_with = text::message_schema)]
    message: String,
    /// The full new set of affected channels; absent keeps the previous set.
    #[serde(default)]
    channels: Option<BTreeMap<String, DeclaredStatus>>,
}

/// A maintenance window's update: [`UpdateBody`] with maintenance's statuses.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MaintenanceUpdateBody {
    #[schema(schema_with = maintenance_status)]
    status: UpdateStatus,
    /// Markdown; at most 20,000 characters, no NUL.
    #[serde(default)]
    #[schema(schema_with = text::message_schema)]
    message: String,
    /// The full new set of affected channels; absent keeps the previous set.
    #[serde(default)]
    channels: Option<BTreeMap<String, DeclaredStatus>>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `open` for unresolved ones only; `all` (the default) for every one.
    #[param(value_type = Option<ListStatus>, inline)]
    status: Option<String>,
}

/// The values of `?status=`; parsed by hand so another value is a 422 naming `status`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only
enum ListStatus {
    Open,
    All,
}

fn investigating() -> UpdateStatus {
    UpdateStatus::Investigating
}

fn yes() -> bool {
    true
}

/// Declare an incident; published at once unless `"publish": false`.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", security(("bearer" = [])),
    request_body = IncidentBody,
    responses((status = 201, description = "Created", body = IncidentView), AuthErrors, InputErrors))]
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
        message: message(body.message)?,
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

/// Schedule a maintenance window.
#[utoipa::path(post, path = "/api/v1/maintenances", tag = "maintenance", security(("bearer" = [])),
    request_body = MaintenanceBody,
    responses((status = 201, description = "Created", body = IncidentView), AuthErrors, InputErrors))]
async fn create_maintenance(
    State(app): State<AppState>,
    caller: Caller,
    Body(body): Body<MaintenanceBody>,
) -> Result<(StatusCode, Json<IncidentView>), Error> {
    caller.require(Role::Operator)?;
    let config = app.config();
    let now = app.clock.now();
    let from = planned_time(&body.scheduled_for, "scheduled_for", now)?;
    let until = planned_time(&body.scheduled_until, "scheduled_until", now)?;
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
        message: message(body.message)?,
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

/// Append an update to an incident (public if the incident is published).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates", tag = "incidents", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id")), request_body = UpdateBody,
    responses((status = 201, description = "The incident with its new update", body = IncidentView),
        AuthErrors, InputErrors, NotFoundError))]
async fn add_update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<UpdateBody>,
) -> Result<(StatusCode, Json<IncidentView>), Error> {
    let update = (body.status, body.message, body.channels);
    add(app, caller, id, IncidentKind::Incident, update).await
}

/// Append an update to a maintenance window.
#[utoipa::path(post, path = "/api/v1/maintenances/{id}/updates", tag = "maintenance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Maintenance id")), request_body = MaintenanceUpdateBody,
    responses((status = 201, description = "The maintenance with its new update", body = IncidentView),
        AuthErrors, InputErrors, NotFoundError))]
async fn add_maintenance_update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<MaintenanceUpdateBody>,
) -> Result<(StatusCode, Json<IncidentView>), Error> {
    let update = (body.status, body.message, body.channels);
    add(app, caller, id, IncidentKind::Maintenance, update).await
}

/// A status, a message and maybe a new affected set.
type Posted = (
    UpdateStatus,
    String,
    Option<BTreeMap<String, DeclaredStatus>>,
);

async fn add(
    app: AppState,
    caller: Caller,
    id: String,
    kind: IncidentKind,
    (status, text, channels): Posted,
) -> Result<(StatusCode, Json<IncidentView>), Error> {
    caller.require(Role::Operator)?;
    let id = of_kind(&app, &id, kind).await?.id;
    let config = app.config();
    let update = NewUpdate {
        status: fitting(status, kind)?,
        message: message(text)?,
        affected: channels.map(|c| affected(&config, c)).transpose()?,
    };
    let incident = app
        .store
        .add_update(id, update, app.clock.now(), caller.actor)
        .await?;
    announce(&app, &incident).await;
    Ok((StatusCode::CREATED, Json(incident.into())))
}

/// Publish a draft: its acknowledgement time is now.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/publish", tag = "incidents", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The published incident", body = IncidentView),
        AuthErrors, NotFoundError))]
async fn publish(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, Error> {
    publish_one(app, caller, id, IncidentKind::Incident).await
}

/// Publish a draft maintenance window: its announcement time is now.
#[utoipa::path(post, path = "/api/v1/maintenances/{id}/publish", tag = "maintenance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 200, description = "The published maintenance", body = IncidentView),
        AuthErrors, NotFoundError))]
async fn publish_maintenance(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, Error> {
    publish_one(app, caller, id, IncidentKind::Maintenance).await
}

async fn publish_one(
    app: AppState,
    caller: Caller,
    id: String,
    kind: IncidentKind,
) -> Result<Json<IncidentView>, Error> {
    caller.require(Role::Operator)?;
    let id = of_kind(&app, &id, kind).await?.id;
    let incident = app
        .store
        .publish_incident(id, app.clock.now(), caller.actor)
        .await?;
    announce(&app, &incident).await;
    Ok(Json(incident.into()))
}

/// Delete an incident: gone from the page and from this API (404 afterwards); its record,
/// times and audit entries stay in the database, for the SLA figures and the admin.
#[utoipa::path(delete, path = "/api/v1/incidents/{id}", tag = "incidents", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 204, description = "Deleted from the page and the API"), AuthErrors, NotFoundError))]
async fn hide_incident(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::response::Response, Error> {
    hide(app, caller, id, IncidentKind::Incident).await
}

/// Delete a maintenance window: gone from the page and from this API (404 afterwards); its
/// record, times and audit entries stay in the database, for the SLA figures and the admin.
#[utoipa::path(delete, path = "/api/v1/maintenances/{id}", tag = "maintenance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 204, description = "Deleted from the page and the API"), AuthErrors, NotFoundError))]
async fn hide_maintenance(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::response::Response, Error> {
    hide(app, caller, id, IncidentKind::Maintenance).await
}

async fn hide(
    app: AppState,
    caller: Caller,
    id: String,
    kind: IncidentKind,
) -> Result<axum::response::Response, Error> {
    caller.require(Role::Operator)?;
    let id = of_kind(&app, &id, kind).await?.id;
    app.store
        .hide_incident(id, app.clock.now(), caller.actor)
        .await?;
    app.public_changed().await;
    Ok(super::no_body::NoBody::no_content())
}

/// One incident with all its updates, drafts included.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, description = "The incident", body = IncidentView), AuthErrors, NotFoundError))]
async fn get_incident(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, Error> {
    one(app, caller, id, IncidentKind::Incident).await
}

/// One maintenance window with all its updates.
#[utoipa::path(get, path = "/api/v1/maintenances/{id}", tag = "maintenance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Maintenance id")),
    responses((status = 200, description = "The maintenance", body = IncidentView), AuthErrors, NotFoundError))]
async fn get_maintenance(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, Error> {
    one(app, caller, id, IncidentKind::Maintenance).await
}

async fn one(
    app: AppState,
    caller: Caller,
    id: String,
    kind: IncidentKind,
) -> Result<Json<IncidentView>, Error> {
    caller.require(Role::Operator)?;
    Ok(Json(of_kind(&app, &id, kind).await?.into()))
}

/// Incidents (`?status=open` for unresolved ones).
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "Incidents", body = IncidentList), AuthErrors, InputErrors))]
async fn list_incidents(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<IncidentList>, Error> {
    list(app, caller, q, IncidentKind::Incident).await
}

/// Maintenance windows (`?status=open` for those not completed).
#[utoipa::path(get, path = "/api/v1/maintenances", tag = "maintenance", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "Maintenance windows", body = IncidentList), AuthErrors, InputErrors))]
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
        .filter(|i| i.kind == kind && !i.hidden)
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
pub(super) async fn announce(app: &AppState, incident: &Incident) {
    if incident.published_at.is_some() {
        // Nobody listening is fine.
        let _ = app.published.send(incident.clone());
        app.public_changed().await;
    }
}

pub(super) fn time(text: &str, field: &str) -> Result<Timestamp, Error> {
    Timestamp::parse(text).ok_or_else(|| Error::Invalid {
        message: format!("{field} {text:?} is not RFC 3339 or epoch milliseconds"),
        field: field.into(),
    })
}

/// A planned time (a maintenance window's start or end): parsed, and within
/// [`Timestamp::check_planned`] of `now`, else a 422 naming `field`.
pub(super) fn planned_time(text: &str, field: &str, now: Timestamp) -> Result<Timestamp, Error> {
    time(text, field)?
        .check_planned(now)
        .map_err(|e| Error::Invalid {
            message: format!("{field} {text:?} {e}"),
            field: field.into(),
        })
}

pub(super) fn parse_id(text: &str) -> Result<i64, Error> {
    text.parse()
        .map_err(|_| Error::NotFound(format!("no incident {text:?}")))
}
