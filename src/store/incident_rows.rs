//! The row writer every job that creates an incident shares (operators, the CLI, recurring
//! maintenance), so an incident is always inserted with its first update and audit entry; and
//! the readers that turn incident, update and token rows back into domain values.

use super::incidents::{audit, insert_update, kind_str, TokenRecord};
use super::sql::{args, Db, Row};
use super::Result;
use crate::domain::{
    Actor, Impact, Incident, IncidentKind, IncidentUpdate, NewIncident, Timestamp, UpdateStatus,
};

/// Inserts an incident with its first update and its audit entry (inside a job's transaction).
pub(super) fn insert_incident(
    tx: &dyn Db,
    new: &NewIncident,
    now: Timestamp,
    actor: &Actor,
) -> Result<i64> {
    let published = new.publish.then_some(now.millis());
    let id = tx.insert_id(
        "INSERT INTO incidents (kind, title, impact, service_wide, started_at_ms, created_at_ms,
             published_at_ms, scheduled_for_ms, scheduled_until_ms, auto_start, auto_end)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         RETURNING id",
        args![
            kind_str(new.kind),
            new.title,
            new.impact.as_str(),
            new.service_wide,
            new.started_at.map(Timestamp::millis),
            now.millis(),
            published,
            new.scheduled_for.map(Timestamp::millis),
            new.scheduled_until.map(Timestamp::millis),
            new.auto_start,
            new.auto_end,
        ],
    )?;
    insert_update(
        tx,
        id,
        new.status,
        &new.message,
        new.affected.as_ref(),
        now,
        published,
        &actor.who,
    )?;
    let action = if new.publish {
        "create and publish"
    } else {
        "create draft"
    };
    audit(
        tx,
        now,
        actor,
        action,
        &format!("{} {id}", kind_str(new.kind)),
        &new.title,
    )?;
    Ok(id)
}

/// An incident row (the columns `load` selects), without its updates.
pub(super) fn incident_from_row(r: &Row) -> Result<Incident> {
    let kind: String = r.get(1)?;
    let impact: String = r.get(3)?;
    Ok(Incident {
        id: r.get(0)?,
        kind: if kind == "maintenance" {
            IncidentKind::Maintenance
        } else {
            IncidentKind::Incident
        },
        title: r.get(2)?,
        impact: Impact::parse(&impact).unwrap_or(Impact::None),
        service_wide: r.get(4)?,
        started_at: r.get::<Option<i64>>(5)?.map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(r.get(6)?),
        published_at: r.get::<Option<i64>>(7)?.map(Timestamp::from_millis),
        hidden: r.get(8)?,
        origin: r.get(9)?,
        scheduled_for: r.get::<Option<i64>>(10)?.map(Timestamp::from_millis),
        scheduled_until: r.get::<Option<i64>>(11)?.map(Timestamp::from_millis),
        auto_start: r.get(12)?,
        auto_end: r.get(13)?,
        updates: Vec::new(),
    })
}

/// One update row; an `affected` that no longer parses reads as none rather than failing
/// the whole incident.
pub(super) fn update_from_row(r: &Row) -> Result<IncidentUpdate> {
    let status: String = r.get(1)?;
    let affected: Option<String> = r.get(3)?;
    Ok(IncidentUpdate {
        id: r.get(0)?,
        status: UpdateStatus::parse(&status).unwrap_or(UpdateStatus::Investigating),
        message: r.get(2)?,
        affected: affected.and_then(|a| serde_json::from_str(&a).ok()),
        created_at: Timestamp::from_millis(r.get(4)?),
        published_at: r.get::<Option<i64>>(5)?.map(Timestamp::from_millis),
        author: r.get(6)?,
    })
}

/// A token row: id, name, role, created, last used, revoked, location.
pub(super) fn token_from_row(r: &Row) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        created_at: Timestamp::from_millis(r.get(3)?),
        last_used_at: r.get::<Option<i64>>(4)?.map(Timestamp::from_millis),
        revoked_at: r.get::<Option<i64>>(5)?.map(Timestamp::from_millis),
        location: r.get(6)?,
    })
}
