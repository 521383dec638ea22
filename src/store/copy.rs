//! `beacon store copy`: moves a whole history from one database to another (SQLite to
//! PostgreSQL to grow past one machine, PostgreSQL to a SQLite file for a backup), table by
//! table in key order, in batches, through the one [`Db`] interface.
//!
//! Rows are copied as stored, ids and immutable times included, so every report computed
//! from the target equals the source's. The triggers that keep published times immutable
//! guard updates and deletes only; inserting a published incident is allowed.

use super::sql::{self, args, Db, Engine, Value};
use super::{Database, Error, Result};

/// Rows read and written per transaction.
pub const BATCH: usize = 1000;

/// One table as the copy moves it: its columns and its primary key, which orders the copy
/// and lets a batch continue after the previous one.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub key: &'static [&'static str],
    /// Its key is an id the database assigns (PostgreSQL's identity must be moved past the
    /// copied ids).
    pub assigned_id: bool,
}

macro_rules! table {
    ($name:literal, [$($column:literal),+], key [$($key:literal),+], $assigned:expr) => {
        Table { name: $name, columns: &[$($column),+], key: &[$($key),+], assigned_id: $assigned }
    };
}

/// Every table of the schema, parents before children (foreign keys). A test checks this
/// list against the migrated schema, so a new table or column cannot be forgotten.
pub const TABLES: &[Table] = &[
    table!(
        "channels",
        [
            "id",
            "name",
            "group_name",
            "in_commitment",
            "position",
            "active",
            "created_at_ms"
        ],
        key["id"],
        false
    ),
    table!(
        "probes",
        ["id", "channel_id", "name", "kind", "target", "active"],
        key["id"],
        true
    ),
    table!("observations", ["probe_id", "at_ms", "location", "outcome", "status_code", "response_ms", "reason", "interval_ms", "lateness_ms", "failure_threshold", "success_threshold"], key ["probe_id", "at_ms", "location"], false),
    table!("probe_transitions", ["probe_id", "at_ms", "state"], key ["probe_id", "at_ms"], false),
    table!("channel_transitions", ["channel_id", "at_ms", "state"], key ["channel_id", "at_ms"], false),
    table!(
        "probe_checkpoints",
        ["probe_id", "at_ms", "machine", "coverage_end_ms"],
        key["probe_id"],
        false
    ),
    table!(
        "push_tokens",
        ["probe_id", "token_hash", "created_ms"],
        key["probe_id"],
        false
    ),
    table!("location_transitions", ["probe_id", "location", "at_ms", "state"], key ["probe_id", "location", "at_ms"], false),
    table!("location_checkpoints", ["probe_id", "location", "at_ms", "machine"], key ["probe_id", "location"], false),
    table!(
        "incidents",
        [
            "id",
            "kind",
            "title",
            "impact",
            "service_wide",
            "started_at_ms",
            "created_at_ms",
            "published_at_ms",
            "hidden",
            "origin",
            "external_id",
            "scheduled_for_ms",
            "scheduled_until_ms",
            "auto_start",
            "auto_end"
        ],
        key["id"],
        true
    ),
    table!(
        "incident_updates",
        [
            "id",
            "incident_id",
            "status",
            "message",
            "affected",
            "created_at_ms",
            "published_at_ms",
            "author"
        ],
        key["id"],
        true
    ),
    table!(
        "recurring_maintenances",
        [
            "id",
            "title",
            "message",
            "channels",
            "cron",
            "weekly",
            "duration_ms",
            "auto_start",
            "auto_end",
            "created_at_ms",
            "deleted_at_ms"
        ],
        key["id"],
        true
    ),
    table!("maintenance_occurrences", ["rule_key", "starts_at_ms", "incident_id"], key ["rule_key", "starts_at_ms"], false),
    table!(
        "audit_log",
        ["id", "at_ms", "actor", "action", "target", "detail", "source"],
        key["id"],
        true
    ),
    table!(
        "notify_outbox",
        [
            "id",
            "webhook",
            "event",
            "body",
            "status",
            "attempts",
            "last_error",
            "created_ms",
            "next_attempt_ms",
            "last_attempt_ms",
            "delivered_ms",
            "claimed_epoch"
        ],
        key["id"],
        true
    ),
    table!(
        "tickets",
        [
            "id",
            "source",
            "external_id",
            "severity",
            "channels",
            "subject",
            "received_at_ms"
        ],
        key["id"],
        true
    ),
    table!(
        "ticket_events",
        ["id", "ticket_id", "at_ms", "kind", "actor"],
        key["id"],
        true
    ),
    table!(
        "ticket_warnings",
        ["ticket_id", "at_ms"],
        key["ticket_id"],
        false
    ),
    table!(
        "users",
        [
            "id",
            "name",
            "role",
            "password_hash",
            "created_ms",
            "disabled_ms"
        ],
        key["id"],
        true
    ),
    table!(
        "sessions",
        [
            "id_hash",
            "user_id",
            "csrf",
            "created_ms",
            "expires_ms",
            "source"
        ],
        key["id_hash"],
        false
    ),
    table!(
        "login_streaks",
        ["address", "name", "failures", "last_ms"],
        key["address", "name"],
        false
    ),
    table!(
        "login_failures",
        ["id", "address", "at_ms"],
        key["id"],
        true
    ),
    table!(
        "ingest_queue",
        ["id", "kind", "payload", "received_ms"],
        key["id"],
        true
    ),
    table!(
        "api_tokens",
        [
            "id",
            "name",
            "role",
            "token_hash",
            "created_ms",
            "last_used_ms",
            "revoked_ms",
            "location"
        ],
        key["id"],
        true
    ),
];

/// Tables that are each database's own and are not copied: the jobs lease (its row and
/// epoch belong to the nodes serving that database).
pub const NOT_COPIED: &[&str] = &["jobs_lease"];

/// What the copy did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopied {
    pub table: &'static str,
    /// Rows in the source.
    pub source_rows: u64,
    /// Rows written (with `--append`, rows already in the target are left and not counted).
    pub copied: u64,
}

/// How far the copy is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub table: &'static str,
    pub done: u64,
    pub total: u64,
}

/// Copies every table of `from` into `to` (both migrated to this Beacon's schema first).
/// Refuses a target that holds any row unless `append`, where rows whose key is already
/// there are kept as they are. Each batch is its own transaction: a copy cut short leaves
/// whole batches, and running it again with `append` finishes it.
pub fn copy(
    from: &Database,
    to: &Database,
    append: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<TableCopied>> {
    if from == to {
        return Err(Error::Copy(
            "the source and the target are the same database".into(),
        ));
    }
    let (_, source) = super::engine(from, Default::default())?;
    let (mut target, _) = super::engine(to, Default::default())?;
    let totals = source.read(|db| {
        TABLES
            .iter()
            .map(|t| count(db, t))
            .collect::<Result<Vec<_>>>()
    })?;
    if !append {
        let occupied = sql::transaction(target.as_mut(), |db| {
            for table in TABLES {
                if count(db, table)? > 0 {
                    return Ok(Some(table.name));
                }
            }
            Ok(None)
        })?;
        if let Some(table) = occupied {
            return Err(Error::Copy(format!(
                "the target {to} is not empty (table {table} has rows); copy into an empty \
                 database, or pass --append to add what it lacks"
            )));
        }
    }
    let mut report = Vec::with_capacity(TABLES.len());
    for (table, total) in TABLES.iter().zip(totals) {
        let mut after: Option<Vec<Value>> = None;
        let mut done = 0;
        let mut copied = 0;
        progress(Progress {
            table: table.name,
            done,
            total,
        });
        loop {
            let key = after.clone();
            let rows = source.read(|db| batch(db, table, key.as_deref()))?;
            let Some(last) = rows.last() else { break };
            after = Some(last[..table.key.len()].to_vec());
            copied += sql::transaction(target.as_mut(), |db| insert(db, table, &rows))? as u64;
            done += rows.len() as u64;
            progress(Progress {
                table: table.name,
                done,
                total,
            });
        }
        if table.assigned_id {
            sql::transaction(target.as_mut(), |db| move_identity_past(db, table))?;
        }
        report.push(TableCopied {
            table: table.name,
            source_rows: total,
            copied,
        });
    }
    Ok(report)
}

fn count(db: &dyn Db, table: &Table) -> Result<u64> {
    db.query_one(&format!("SELECT COUNT(*) FROM {}", table.name), args![])?
        .get(0)
}

/// The next rows in key order after `after` (the previous batch's last key).
fn batch(db: &dyn Db, table: &Table, after: Option<&[Value]>) -> Result<Vec<Vec<Value>>> {
    let columns = table.columns.join(", ");
    let key = table.key.join(", ");
    let sql = match after {
        None => format!(
            "SELECT {columns} FROM {} ORDER BY {key} LIMIT {BATCH}",
            table.name
        ),
        Some(_) => {
            let marks: Vec<String> = (1..=table.key.len()).map(|i| format!("?{i}")).collect();
            format!(
                "SELECT {columns} FROM {} WHERE ({key}) > ({}) ORDER BY {key} LIMIT {BATCH}",
                table.name,
                marks.join(", ")
            )
        }
    };
    let rows = db.query(&sql, after.unwrap_or(&[]))?;
    rows.iter()
        .map(|row| {
            (0..table.columns.len())
                .map(|i| row.get::<Value>(i))
                .collect()
        })
        .collect()
}

/// Inserts one batch in one statement; returns the rows written.
fn insert(db: &dyn Db, table: &Table, rows: &[Vec<Value>]) -> Result<usize> {
    let width = table.columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("?{}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT DO NOTHING",
        table.name,
        table.columns.join(", "),
        tuples.join(", ")
    );
    let values: Vec<Value> = rows.iter().flatten().cloned().collect();
    db.execute(&sql, &values)
}

/// On PostgreSQL, the next assigned id follows the copied ones (SQLite takes the largest
/// rowid by itself).
fn move_identity_past(db: &dyn Db, table: &Table) -> Result<()> {
    if db.engine() == Engine::Postgres {
        db.query(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), \
                 COALESCE(MAX(id), 0) + 1, false) FROM {0}",
                table.name
            ),
            args![],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copy's table list is the migrated schema, table for table and column for column,
    /// with parents before children.
    #[test]
    fn tables_cover_the_whole_schema() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("schema.db");
        drop(super::super::sqlite::open(&path).expect("migrate"));
        let conn = rusqlite::Connection::open(&path).expect("open");
        let mut names: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("tables");
        names.retain(|n| !NOT_COPIED.contains(&n.as_str()));
        names.sort();
        let mut listed: Vec<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
        listed.sort();
        assert_eq!(listed, names);
        for (position, table) in TABLES.iter().enumerate() {
            let columns: Vec<(String, i64)> = conn
                .prepare(&format!(
                    "SELECT name, pk FROM pragma_table_info('{}')",
                    table.name
                ))
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .expect("columns");
            let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(table.columns, names.as_slice(), "{}", table.name);
            let mut key: Vec<(i64, &str)> = columns
                .iter()
                .filter(|(_, pk)| *pk > 0)
                .map(|(n, pk)| (*pk, n.as_str()))
                .collect();
            key.sort();
            let key: Vec<&str> = key.into_iter().map(|(_, n)| n).collect();
            assert_eq!(table.key, key.as_slice(), "{} key", table.name);
            let parents: Vec<String> = conn
                .prepare(&format!(
                    "SELECT \"table\" FROM pragma_foreign_key_list('{}')",
                    table.name
                ))
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("foreign keys");
            for parent in parents {
                let at = TABLES
                    .iter()
                    .position(|t| t.name == parent)
                    .expect("parent listed");
                assert!(at < position, "{} before {}", parent, table.name);
            }
        }
    }
}
