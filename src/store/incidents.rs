//! Incidents, maintenance windows, API tokens and the audit log. Every write runs as one
//! job (its own transaction) and appends its audit entry in that same transaction.

use super::incident_rows::{incident_from_row, insert_incident, token_from_row, update_from_row};
use super::sql::{args, Db, Value};
use super::{Error, Result, Store};
use crate::domain::{
    Actor, Affected, Impact, Incident, IncidentKind, NewIncident, NewUpdate, Timestamp,
    UpdateStatus,
};

/// An incident from another status page, with its original times.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedIncident {
    pub external_id: String,
    pub title: String,
    pub impact: Impact,
    pub started_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Oldest first; the first one's time is the acknowledgement.
    pub updates: Vec<ImportedUpdate>,
    /// A maintenance window's plan; `None` for an incident.
    pub window: Option<ImportedWindow>,
}

/// The planned window of an imported maintenance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportedWindow {
    pub scheduled_for: Timestamp,
    pub scheduled_until: Timestamp,
    pub auto_start: bool,
    pub auto_end: bool,
}

/// One public update of an imported incident.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedUpdate {
    pub status: UpdateStatus,
    pub message: String,
    pub affected: Option<Affected>,
    pub published_at: Timestamp,
}

/// An API token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// The location a `prober` token posts for; `None` for the other roles.
    pub location: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub source: String,
}

impl Store {
    /// Creates an incident or maintenance window with its first update. Published at once
    /// (stamped `now`, the server's time) when asked, else a draft.
    pub async fn create_incident(
        &self,
        new: NewIncident,
        now: Timestamp,
        actor: Actor,
    ) -> Result<Incident> {
        let id = self
            .job(move |tx: &dyn Db| insert_incident(tx, &new, now, &actor))
            .await?;
        self.incident(id).await
    }

    /// Appends an update; it is public at once if the incident is published.
    pub async fn add_update(
        &self,
        id: i64,
        update: NewUpdate,
        now: Timestamp,
        actor: Actor,
    ) -> Result<Incident> {
        self.job(move |tx: &dyn Db| {
            let published: Option<i64> = tx
                .query_one(
                    "SELECT published_at_ms FROM incidents WHERE id = ?1",
                    args![id],
                )?
                .get(0)?;
            let at = published.map(|_| now.millis());
            insert_update(
                tx,
                id,
                update.status,
                &update.message,
                update.affected.as_ref(),
                now,
                at,
                &actor.who,
            )?;
            audit(
                tx,
                now,
                &actor,
                "update",
                &format!("incident {id}"),
                update.status.as_str(),
            )?;
            Ok(())
        })
        .await?;
        self.incident(id).await
    }

    /// Publishes a draft: the incident and its draft updates go public now. Publishing an
    /// already published incident changes nothing (its acknowledgement time stays).
    pub async fn publish_incident(
        &self,
        id: i64,
        now: Timestamp,
        actor: Actor,
    ) -> Result<Incident> {
        self.job(move |tx: &dyn Db| {
            let published: Option<i64> = tx
                .query_one("SELECT published_at_ms FROM incidents WHERE id = ?1", args![id])?
                .get(0)?;
            if published.is_none() {
                tx.execute("UPDATE incidents SET published_at_ms = ?2 WHERE id = ?1", args![id, now.millis()])?;
                tx.execute(
                    "UPDATE incident_updates SET published_at_ms = ?2 WHERE incident_id = ?1 AND published_at_ms IS NULL",
                    args![id, now.millis()],
                )?;
                audit(tx, now, &actor, "publish", &format!("incident {id}"), "")?;
            }
            Ok(())
        })
        .await?;
        self.incident(id).await
    }

    /// Imports incidents from another status page with their original publication times
    /// (origin `imported`), all in one transaction; ones already imported (same external
    /// id) are skipped. Returns how many were new.
    pub async fn import_incidents(
        &self,
        incidents: Vec<ImportedIncident>,
        now: Timestamp,
        actor: Actor,
    ) -> Result<usize> {
        self.job(move |tx: &dyn Db| {
            let mut added = 0;
            for i in &incidents {
                let exists = tx.exists(
                    "SELECT 1 FROM incidents WHERE external_id = ?1",
                    args![i.external_id],
                )?;
                if exists {
                    continue;
                }
                let first = i.updates.first().map(|u| u.published_at.millis());
                let kind = if i.window.is_some() { "maintenance" } else { "incident" };
                let w = i.window.as_ref();
                let id = tx.insert_id(
                    "INSERT INTO incidents (kind, title, impact, started_at_ms, created_at_ms, published_at_ms,
                         origin, external_id, auto_start, auto_end, scheduled_for_ms, scheduled_until_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'imported', ?7, ?8, ?9, ?10, ?11)
                     RETURNING id",
                    args![
                        kind,
                        i.title,
                        i.impact.as_str(),
                        i.started_at.map(Timestamp::millis),
                        i.created_at.millis(),
                        first,
                        i.external_id,
                        w.is_some_and(|w| w.auto_start),
                        w.is_some_and(|w| w.auto_end),
                        w.map(|w| w.scheduled_for.millis()),
                        w.map(|w| w.scheduled_until.millis())
                    ],
                )?;
                for u in &i.updates {
                    insert_update(tx, id, u.status, &u.message, u.affected.as_ref(), u.published_at, Some(u.published_at.millis()), "import")?;
                }
                added += 1;
            }
            audit(tx, now, &actor, "import incidents", "incidents", &format!("{added} new of {}", incidents.len()))?;
            Ok(added)
        })
        .await
    }

    /// Hides an incident from the public page; its record and times stay.
    pub async fn hide_incident(&self, id: i64, now: Timestamp, actor: Actor) -> Result<()> {
        self.job(move |tx: &dyn Db| {
            let n = tx.execute("UPDATE incidents SET hidden = 1 WHERE id = ?1", args![id])?;
            if n == 0 {
                return Err(Error::NotFound);
            }
            audit(tx, now, &actor, "hide", &format!("incident {id}"), "")
        })
        .await
    }

    /// One incident with its updates.
    pub async fn incident(&self, id: i64) -> Result<Incident> {
        self.read(move |db: &dyn Db| {
            load(db, "WHERE i.id = ?1", args![id])?
                .pop()
                .ok_or(Error::NotFound)
        })
        .await
    }

    /// Every incident and maintenance window, newest first.
    pub async fn incidents(&self) -> Result<Vec<Incident>> {
        self.read(|db: &dyn Db| load(db, "", args![])).await
    }

    /// Stores a new API token's hash; returns its id.
    pub async fn create_token(
        &self,
        name: String,
        role: String,
        token_hash: String,
        now: Timestamp,
        actor: Actor,
    ) -> Result<i64> {
        self.job(move |tx: &dyn Db| {
            let id = tx.insert_id(
                "INSERT INTO api_tokens (name, role, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4)
                 RETURNING id",
                args![name, role, token_hash, now.millis()],
            )?;
            audit(
                tx,
                now,
                &actor,
                "create token",
                &format!("token {id}"),
                &format!("{name} ({role})"),
            )?;
            Ok(id)
        })
        .await
    }

    /// Stores a new `prober` token's hash, bound to `location`; returns its id. The caller
    /// checks the location is declared (the store does not know the configuration).
    pub async fn create_prober_token(
        &self,
        name: String,
        location: String,
        token_hash: String,
        now: Timestamp,
        actor: Actor,
    ) -> Result<i64> {
        self.job(move |tx: &dyn Db| {
            let id = tx.insert_id(
                "INSERT INTO api_tokens (name, role, token_hash, created_ms, location)
                 VALUES (?1, 'prober', ?2, ?3, ?4)
                 RETURNING id",
                args![name, token_hash, now.millis(), location],
            )?;
            let detail = format!("{name} (prober at {location})");
            audit(
                tx,
                now,
                &actor,
                "create token",
                &format!("token {id}"),
                &detail,
            )?;
            Ok(id)
        })
        .await
    }

    /// Revokes a token by name; it stops working at once.
    pub async fn revoke_token(&self, name: String, now: Timestamp, actor: Actor) -> Result<()> {
        self.job(move |tx: &dyn Db| {
            let n = tx.execute(
                "UPDATE api_tokens SET revoked_ms = ?2 WHERE name = ?1 AND revoked_ms IS NULL",
                args![name, now.millis()],
            )?;
            if n == 0 {
                return Err(Error::NotFound);
            }
            audit(tx, now, &actor, "revoke token", &name, "")
        })
        .await
    }

    /// The live (unrevoked) token with this hash, if any; notes its use.
    pub async fn use_token(&self, token_hash: String, now: Timestamp) -> Result<TokenRecord> {
        let record = self
            .read(move |db: &dyn Db| {
                token_from_row(&db.query_one(
                    "SELECT id, name, role, created_ms, last_used_ms, revoked_ms, location FROM api_tokens
                     WHERE token_hash = ?1 AND revoked_ms IS NULL",
                    args![token_hash],
                )?)
            })
            .await?;
        let id = record.id;
        // Last use is informative; a failure to note it must not fail the request.
        let _ = self
            .job(move |tx: &dyn Db| {
                tx.execute(
                    "UPDATE api_tokens SET last_used_ms = ?2 WHERE id = ?1",
                    args![id, now.millis()],
                )?;
                Ok(())
            })
            .await;
        Ok(record)
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read(|db: &dyn Db| {
            db.query_map(
                "SELECT id, name, role, created_ms, last_used_ms, revoked_ms, location FROM api_tokens ORDER BY id DESC",
                args![],
                token_from_row,
            )
        })
        .await
    }

    /// The latest audit entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.read(move |db: &dyn Db| {
            db.query_map(
                "SELECT at_ms, actor, action, target, detail, source FROM audit_log ORDER BY id DESC LIMIT ?1",
                args![limit],
                |r| {
                    Ok(AuditEntry {
                        at: Timestamp::from_millis(r.get(0)?),
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        target: r.get(3)?,
                        detail: r.get(4)?,
                        source: r.get(5)?,
                    })
                },
            )
        })
        .await
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn insert_update(
    tx: &dyn Db,
    incident: i64,
    status: UpdateStatus,
    message: &str,
    affected: Option<&Affected>,
    now: Timestamp,
    published: Option<i64>,
    author: &str,
) -> Result<()> {
    let affected = affected
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::Write(e.to_string()))?;
    tx.execute(
        "INSERT INTO incident_updates (incident_id, status, message, affected, created_at_ms, published_at_ms, author)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![incident, status.as_str(), message, affected, now.millis(), published, author],
    )?;
    Ok(())
}

pub(super) fn audit(
    tx: &dyn Db,
    now: Timestamp,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at_ms, actor, action, target, detail, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![now.millis(), actor.who, action, target, detail, actor.source],
    )?;
    Ok(())
}

/// Incidents matching `filter` (a WHERE clause on `i`), newest first, with their updates.
fn load(db: &dyn Db, filter: &str, args: &[Value]) -> Result<Vec<Incident>> {
    let sql = format!(
        "SELECT i.id, i.kind, i.title, i.impact, i.service_wide, i.started_at_ms, i.created_at_ms,
                i.published_at_ms, i.hidden, i.origin, i.scheduled_for_ms, i.scheduled_until_ms,
                i.auto_start, i.auto_end
         FROM incidents i {filter} ORDER BY i.id DESC"
    );
    let mut incidents = db.query_map(&sql, args, incident_from_row)?;
    for incident in &mut incidents {
        incident.updates = db.query_map(
            "SELECT id, status, message, affected, created_at_ms, published_at_ms, author
             FROM incident_updates WHERE incident_id = ?1 ORDER BY id",
            args![incident.id],
            update_from_row,
        )?;
    }
    Ok(incidents)
}

pub(super) fn kind_str(kind: IncidentKind) -> &'static str {
    match kind {
        IncidentKind::Incident => "incident",
        IncidentKind::Maintenance => "maintenance",
    }
}
