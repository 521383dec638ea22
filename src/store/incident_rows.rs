//! The row writer every job that creates an incident shares (operators, the CLI, recurring
//! maintenance), so an incident is always inserted with its first update and audit entry.

use super::incidents::{audit, insert_update, kind_str};
use super::Result;
use crate::domain::{Actor, NewIncident, Timestamp};
use rusqlite::params;

/// Inserts an incident with its first update and its audit entry (inside a job's transaction).
pub(super) fn insert_incident(
    tx: &rusqlite::Connection,
    new: &NewIncident,
    now: Timestamp,
    actor: &Actor,
) -> Result<i64> {
    let published = new.publish.then_some(now.millis());
    tx.execute(
        "INSERT INTO incidents (kind, title, impact, service_wide, started_at_ms, created_at_ms,
             published_at_ms, scheduled_for_ms, scheduled_until_ms, auto_start, auto_end)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
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
    let id = tx.last_insert_rowid();
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
