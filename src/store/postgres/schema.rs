//! PostgreSQL's versioned migrations (`migrations/NNN_name.sql`, numbered as SQLite's so a
//! version means the same schema on both); the version is the one row of `beacon_schema`.

use crate::store::{database, Error, Result};

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

/// The schema version this build writes (equal to SQLite's).
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Any fixed number: the advisory lock that lets one node at a time migrate, so nodes started
/// together never apply a migration twice.
const MIGRATION_LOCK: i64 = 0x6265_6163_6f6e_0001;

/// Applies the migrations this database has not seen, each in its own transaction under the
/// migration lock; refuses a database a newer Beacon wrote.
pub(super) fn migrate(client: &mut postgres::Client, url: &str) -> Result<()> {
    // Without it, every start logs the server's "already exists, skipping" notice.
    client.batch_execute("SET client_min_messages TO warning")?;
    // Under the lock too: nodes started together on an empty database would otherwise race
    // to create the table (a duplicate-key error from the catalogue) or insert two rows.
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS beacon_schema (version BIGINT NOT NULL);
         INSERT INTO beacon_schema (version)
             SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM beacon_schema);",
    )?;
    tx.commit()?;
    loop {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        let found: i64 = tx
            .query_one("SELECT version FROM beacon_schema", &[])?
            .get(0);
        if found > LATEST {
            return Err(Error::TooNew {
                database: database::redact(url),
                found,
                supported: LATEST,
            });
        }
        let Some(sql) = MIGRATIONS.get(found as usize) else {
            return Ok(());
        };
        tx.batch_execute(sql)?;
        tx.execute("UPDATE beacon_schema SET version = $1", &[&(found + 1)])?;
        tx.commit()?;
        tracing::info!(version = found + 1, "applied database migration");
    }
}

#[cfg(test)]
mod tests {
    /// Both engines number their migrations alike, so a version is one schema.
    #[test]
    fn as_many_migrations_as_sqlite() {
        assert_eq!(super::LATEST, crate::store::sqlite::schema::LATEST);
    }
}
