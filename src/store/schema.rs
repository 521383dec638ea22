//! Connection settings and versioned migrations (`migrations/NNN_name.sql`, applied in order;
//! the version is SQLite's `user_version`).

use super::{Error, Result};
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
            path: path.display().to_string(),
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
