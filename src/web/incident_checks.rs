//! The checks the incident and maintenance endpoints share with the admin forms: the kind an
//! endpoint serves, statuses that fit the kind (and their schemas), affected channel keys,
//! titles and messages within their bounds.

use super::text;
use super::{AppState, Error};
use crate::domain::{Affected, Config, DeclaredStatus, Incident, IncidentKind, UpdateStatus};
use std::collections::BTreeMap;

/// The statuses `kind` may take, as the schema of a `status` field.
fn statuses(kind: IncidentKind) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            UpdateStatus::ALL
                .into_iter()
                .filter(|s| s.fits(kind))
                .map(UpdateStatus::as_str),
        ))
        .build()
}

pub(super) fn incident_status() -> utoipa::openapi::schema::Object {
    statuses(IncidentKind::Incident)
}

pub(super) fn maintenance_status() -> utoipa::openapi::schema::Object {
    statuses(IncidentKind::Maintenance)
}

/// The incident or maintenance window `id`, if it is of `kind` and not deleted: each kind's
/// endpoints serve that kind only, so an incident's id under `/maintenances` is 404 like an
/// unknown one, and so is one the API deleted (hid): its record, times and audit entries
/// stay in the database and the admin, but the API no longer serves it.
pub(super) async fn of_kind(
    app: &AppState,
    id: &str,
    kind: IncidentKind,
) -> Result<Incident, Error> {
    let not_found = || {
        let name = match kind {
            IncidentKind::Incident => "incident",
            IncidentKind::Maintenance => "maintenance",
        };
        Error::NotFound(format!("{name} {id:?} not found"))
    };
    let n = id.parse().map_err(|_| not_found())?;
    match app.store.incident(n).await {
        Ok(incident) if incident.kind == kind && !incident.hidden => Ok(incident),
        Ok(_) | Err(crate::store::Error::NotFound) => Err(not_found()),
        Err(e) => Err(Error::Store(e)),
    }
}

/// Checks every key names a channel or `group:<slug>` of the configuration.
pub(super) fn affected(
    config: &Config,
    channels: BTreeMap<String, DeclaredStatus>,
) -> Result<Affected, Error> {
    for key in channels.keys() {
        text::check(key, "channels", text::KEY)?;
        if !config.knows_channel_key(key) {
            return Err(Error::Invalid {
                message: format!("unknown channel or group {key:?}"),
                field: format!("channels.{key}"),
            });
        }
    }
    Ok(channels)
}

pub(super) fn fitting(status: UpdateStatus, kind: IncidentKind) -> Result<UpdateStatus, Error> {
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

/// A title: not blank, bounded ([`text::TITLE`]), no NUL.
pub(super) fn non_empty(title: String, field: &str) -> Result<String, Error> {
    text::required(title, field, text::TITLE)
}

/// An update's message: bounded ([`text::MESSAGE`]), no NUL.
pub(super) fn message(message: String) -> Result<String, Error> {
    text::check(&message, "message", text::MESSAGE)?;
    Ok(message)
}
