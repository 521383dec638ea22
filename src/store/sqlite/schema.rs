//! SQLite connection settings and versioned migrations (`migrations/NNN_name.sql`, applied in order;
//! the version is SQLite's `user_version`).

use crate::store::{Error, Result};
use rusqlite::Connection;
use std::path::Path;

/// Every migration in order; index + 1 is the schema version it produces.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_incidents.sql"),
    include_str!("migrations/003_outbox.sql"),
    include_str!("migrations/004_tickets.sql"),
    include_str!("migrations/005_accounts.sql"),
    include_str!("migrations/006_recurring_maintenance.sql"),
    include_str!("migrations/007_channel_created.sql"),
    include_str!("migrations/008_locations.sql"),
    include_str!("migrations/009_prober_tokens.sql"),
    include_str!("migrations/010_login_throttle.sql"),
    include_str!("migrations/011_jobs_lease.sql"),
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// WAL so readers never block the writer; NORMAL sync is durable across application crashes
/// in WAL mode and much faster than FULL.
pub(super) fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Applies the migrations this database has not seen, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > LATEST {
        return Err(Error::TooNew {
            database: path.display().to_string(),
            found,
            supported: LATEST,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 009 recreates `api_tokens`: the rows of a version 8 database keep their ids,
    /// names, roles and hashes, and the new constraints bind a location to prober tokens only.
    #[test]
    fn prober_tokens_migration_keeps_existing_tokens() {
        let mut conn = Connection::open_in_memory().expect("open");
        for sql in &MIGRATIONS[..8] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.pragma_update(None, "user_version", 8)
            .expect("version");
        conn.execute_batch(
            "INSERT INTO api_tokens (id, name, role, token_hash, created_ms, last_used_ms)
             VALUES (7, 'bot', 'operator', 'h1', 1, 2), (9, 'lead', 'admin', 'h2', 3, NULL);",
        )
        .expect("old tokens");
        migrate(&mut conn, Path::new("test.db")).expect("migrate");
        /// id, name, role, hash, last use, location.
        type Row = (i64, String, String, String, Option<i64>, Option<String>);
        let rows: Vec<Row> = conn
            .prepare("SELECT id, name, role, token_hash, last_used_ms, location FROM api_tokens ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            rows,
            vec![
                (
                    7,
                    "bot".into(),
                    "operator".into(),
                    "h1".into(),
                    Some(2),
                    None
                ),
                (9, "lead".into(), "admin".into(), "h2".into(), None, None),
            ]
        );
        let insert = |role: &str, location: Option<&str>| {
            conn.execute(
                "INSERT INTO api_tokens (name, role, token_hash, created_ms, location) VALUES ('t', ?1, ?2, 0, ?3)",
                rusqlite::params![role, format!("{role}-{location:?}"), location],
            )
        };
        let cases = [
            ("prober", Some("eu-west"), true),
            ("prober", None, false),
            ("operator", Some("eu-west"), false),
            ("operator", None, true),
            ("admin", Some("eu-west"), false),
            ("reader", None, false),
        ];
        for (role, location, admitted) in cases {
            assert_eq!(
                insert(role, location).is_ok(),
                admitted,
                "{role} at {location:?}"
            );
        }
    }
}
