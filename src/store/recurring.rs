//! Recurring maintenance: the rules created through the API, and the windows every rule
//! (from the API or `probes.toml`) has published, keyed by rule and start so an occurrence is
//! never published twice.

use super::incident_rows::insert_incident;
use super::incidents::audit;
use super::sql::{args, Db, Row};
use super::{Error, Result, Store};
use crate::domain::{Actor, NewIncident, RecurringMaintenance, Repeat, Timestamp, WeeklyAt};

/// One window a rule wants published: the rule's key and the window as a new maintenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub rule_key: String,
    /// Its `scheduled_for` is the occurrence's start, the other half of its unique key.
    pub window: NewIncident,
}

impl Store {
    /// Stores a rule from the API and returns it with its key (`api:<id>`; the key given is
    /// ignored). Audited.
    pub async fn create_recurring(
        &self,
        rule: RecurringMaintenance,
        now: Timestamp,
        actor: Actor,
    ) -> Result<RecurringMaintenance> {
        let channels =
            serde_json::to_string(&rule.channels).map_err(|e| Error::Write(e.to_string()))?;
        let (cron, weekly) = match &rule.repeat {
            Repeat::Cron(expression) => (Some(expression.clone()), None),
            Repeat::Weekly(at) => (None, Some(at.to_string())),
        };
        let id = self
            .job(move |tx: &dyn Db| {
                let id = tx.insert_id(
                    "INSERT INTO recurring_maintenances (title, message, channels, cron, weekly,
                         duration_ms, auto_start, auto_end, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     RETURNING id",
                    args![
                        rule.title,
                        rule.message,
                        channels,
                        cron,
                        weekly,
                        rule.duration_ms,
                        rule.auto_start,
                        rule.auto_end,
                        now.millis()
                    ],
                )?;
                audit(
                    tx,
                    now,
                    &actor,
                    "create recurring maintenance",
                    &format!("recurring maintenance {id}"),
                    &rule.title,
                )?;
                Ok(id)
            })
            .await?;
        self.read(move |db: &dyn Db| {
            rule_from_row(&db.query_one(&format!("{SELECT} WHERE id = ?1"), args![id])?)
        })
        .await
    }

    /// The API's rules that are not deleted, oldest first.
    pub async fn recurring_rules(&self) -> Result<Vec<RecurringMaintenance>> {
        self.read(|db: &dyn Db| {
            db.query_map(
                &format!("{SELECT} WHERE deleted_at_ms IS NULL ORDER BY id"),
                args![],
                rule_from_row,
            )
        })
        .await
    }

    /// Deletes an API rule: it publishes no new window; its record and the windows it already
    /// published stay. Audited; `NotFound` if there is no such live rule.
    pub async fn delete_recurring(&self, id: i64, now: Timestamp, actor: Actor) -> Result<()> {
        self.job(move |tx: &dyn Db| {
            let n = tx.execute(
                "UPDATE recurring_maintenances SET deleted_at_ms = ?2
                 WHERE id = ?1 AND deleted_at_ms IS NULL",
                args![id, now.millis()],
            )?;
            if n == 0 {
                return Err(Error::NotFound);
            }
            audit(
                tx,
                now,
                &actor,
                "delete recurring maintenance",
                &format!("recurring maintenance {id}"),
                "",
            )
        })
        .await
    }

    /// Publishes the occurrences not published before (same rule key and start), each as a
    /// maintenance window with its audit entry, all in one transaction. Returns the new
    /// windows' incident ids.
    pub async fn publish_occurrences(
        &self,
        occurrences: Vec<Occurrence>,
        now: Timestamp,
        actor: Actor,
    ) -> Result<Vec<i64>> {
        self.job(move |tx: &dyn Db| {
            let mut created = Vec::new();
            for o in &occurrences {
                let start = o
                    .window
                    .scheduled_for
                    .ok_or_else(|| Error::Write("an occurrence needs its start".into()))?
                    .millis();
                let known = tx.exists(
                    "SELECT 1 FROM maintenance_occurrences WHERE rule_key = ?1 AND starts_at_ms = ?2",
                    args![o.rule_key, start],
                )?;
                if known {
                    continue;
                }
                let id = insert_incident(tx, &o.window, now, &actor)?;
                tx.execute(
                    "INSERT INTO maintenance_occurrences (rule_key, starts_at_ms, incident_id) VALUES (?1, ?2, ?3)",
                    args![o.rule_key, start, id],
                )?;
                created.push(id);
            }
            Ok(created)
        })
        .await
    }
}

const SELECT: &str =
    "SELECT id, title, message, channels, cron, weekly, duration_ms, auto_start, auto_end
                      FROM recurring_maintenances";

fn rule_from_row(r: &Row) -> Result<RecurringMaintenance> {
    let id: i64 = r.get(0)?;
    let channels: String = r.get(3)?;
    let cron: Option<String> = r.get(4)?;
    let weekly: Option<String> = r.get(5)?;
    let repeat = match (cron, weekly.as_deref().and_then(WeeklyAt::parse)) {
        (Some(expression), _) => Repeat::Cron(expression),
        (None, Some(at)) => Repeat::Weekly(at),
        // The table's check and the API's validation make this unreachable; fail the read
        // rather than invent a schedule.
        (None, None) => {
            return Err(Error::Column {
                index: 5,
                expected: "a weekly rule when cron is NULL",
                found: format!("{weekly:?}"),
            })
        }
    };
    Ok(RecurringMaintenance {
        key: format!("api:{id}"),
        title: r.get(1)?,
        message: r.get(2)?,
        channels: serde_json::from_str(&channels).unwrap_or_default(),
        repeat,
        duration_ms: r.get(6)?,
        auto_start: r.get(7)?,
        auto_end: r.get(8)?,
    })
}
