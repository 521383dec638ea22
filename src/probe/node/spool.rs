//! The node's spool: a small SQLite file of observations not yet acknowledged by the server,
//! so a link cut or a restart of the node loses nothing (issue 11, "nothing lost").
//!
//! One table `spool` keyed by (channel, probe, at_ms) holds each observation as JSON, read
//! back oldest first; `rejected` keeps what the server refused for good, so one bad batch
//! never blocks the rest; `assignment` keeps the last probe set the server gave, so a node
//! restarted while the server is down keeps probing; `counters` keeps the totals dropped
//! and rejected. The spool is bounded: past its capacity the oldest observations are
//! dropped and counted, never silently.
//!
//! This is the node's own file, not the server's database, which is why its SQL lives here
//! rather than in `store` (the node has no `Store`).

use crate::config::shortest_interval;
use crate::domain::remote::{AssignedProbe, ProbeAssignment};
use crate::domain::{Observation, Timestamp};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// The spool never holds fewer than this many observations, however few probes it has.
pub const MIN_CAPACITY: u64 = 1_000;

/// The schema this code writes (`PRAGMA user_version`); a newer file is refused.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spool (
    channel TEXT NOT NULL,
    probe TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    observation TEXT NOT NULL,
    PRIMARY KEY (channel, probe, at_ms)
);
CREATE INDEX IF NOT EXISTS spool_by_time ON spool (at_ms);
CREATE TABLE IF NOT EXISTS rejected (
    channel TEXT NOT NULL,
    probe TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    observation TEXT NOT NULL,
    error TEXT NOT NULL,
    rejected_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS assignment (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    etag TEXT,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

/// Why the spool could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot open the spool {path}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("spool {path} was written by a newer beacon (schema {found}, this one knows {SCHEMA_VERSION})")]
    Newer { path: String, found: i64 },
    #[error("spool: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("spool: {0}")]
    Json(#[from] serde_json::Error),
    /// The blocking task that held the file failed, or the file was still shared.
    #[error("spool: {0}")]
    Task(String),
}

/// How many observations `assigned` probes make in `spool_max` (at least [`MIN_CAPACITY`]):
/// the bound of `--spool-max`, a duration of the node's probes.
pub fn capacity(assigned: &[AssignedProbe], spool_max: Duration) -> u64 {
    let max_ms = spool_max.as_millis();
    let made: u128 = assigned
        .iter()
        .map(|p| max_ms / shortest_interval(&p.spec.schedule).as_millis().max(1))
        .sum();
    u64::try_from(made).unwrap_or(u64::MAX).max(MIN_CAPACITY)
}

/// The open spool file.
pub struct Spool {
    conn: Connection,
    capacity: u64,
    /// Rows in `spool`, kept here so no write has to count the table.
    backlog: u64,
}

impl Spool {
    /// Opens (or creates) the spool at `path` and resumes what it holds.
    pub fn open(path: &Path) -> Result<Spool, SpoolError> {
        let shown = path.display().to_string();
        let open = |source| SpoolError::Open {
            path: shown.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(open)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open)?;
        // A power cut may lose the last commit or so, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open)?;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open)?;
        if found > SCHEMA_VERSION {
            return Err(SpoolError::Newer { path: shown, found });
        }
        conn.execute_batch(SCHEMA).map_err(open)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open)?;
        let backlog: i64 = conn.query_row("SELECT COUNT(*) FROM spool", [], |r| r.get(0))?;
        Ok(Spool {
            conn,
            capacity: MIN_CAPACITY,
            backlog: u64::try_from(backlog).unwrap_or(0),
        })
    }

    /// Sets the bound (from [`capacity`]); a smaller one takes effect at the next push.
    pub fn set_capacity(&mut self, capacity: u64) {
        self.capacity = capacity.max(1);
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Observations waiting to be sent.
    pub fn backlog(&self) -> u64 {
        self.backlog
    }

    /// Adds `observations` in one transaction, then drops the oldest past the capacity;
    /// returns how many were dropped (also added to the `dropped` counter).
    pub fn push(&mut self, observations: &[Observation]) -> Result<u64, SpoolError> {
        let tx = self.conn.transaction()?;
        let mut added = 0u64;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO spool (channel, probe, at_ms, observation) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for o in observations {
                let json = serde_json::to_string(o)?;
                added +=
                    insert.execute(params![o.probe.channel, o.probe.probe, o.at.millis(), json])?
                        as u64;
            }
        }
        let over = (self.backlog + added).saturating_sub(self.capacity);
        let mut dropped = 0u64;
        if over > 0 {
            dropped = tx.execute(
                "DELETE FROM spool WHERE rowid IN
                   (SELECT rowid FROM spool ORDER BY at_ms, rowid LIMIT ?1)",
                [i64::try_from(over).unwrap_or(i64::MAX)],
            )? as u64;
            add_counter(&tx, "dropped", dropped)?;
        }
        tx.commit()?;
        self.backlog = (self.backlog + added).saturating_sub(dropped);
        Ok(dropped)
    }

    /// Up to `limit` observations, oldest first (by start time, then arrival). A row that no
    /// longer parses (written by another version) is moved aside into `rejected`, so it
    /// cannot block the spool.
    pub fn oldest(&mut self, limit: usize) -> Result<Vec<Observation>, SpoolError> {
        let mut out = Vec::new();
        let mut unreadable = Vec::new();
        {
            let mut select = self.conn.prepare_cached(
                "SELECT rowid, observation FROM spool ORDER BY at_ms, rowid LIMIT ?1",
            )?;
            let rows = select.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (rowid, json) = row?;
                match serde_json::from_str(&json) {
                    Ok(observation) => out.push(observation),
                    Err(e) => unreadable.push((rowid, format!("unreadable in the spool: {e}"))),
                }
            }
        }
        if !unreadable.is_empty() {
            tracing::error!(
                count = unreadable.len(),
                "spool rows that do not parse moved aside to its rejected table"
            );
            self.move_rows_aside(&unreadable)?;
        }
        Ok(out)
    }

    fn move_rows_aside(&mut self, rows: &[(i64, String)]) -> Result<(), SpoolError> {
        let tx = self.conn.transaction()?;
        let mut moved = 0u64;
        {
            let mut copy = tx.prepare_cached(
                "INSERT INTO rejected (channel, probe, at_ms, observation, error, rejected_at_ms)
                 SELECT channel, probe, at_ms, observation, ?2, 0 FROM spool WHERE rowid = ?1",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM spool WHERE rowid = ?1")?;
            for (rowid, error) in rows {
                copy.execute(params![rowid, error])?;
                moved += delete.execute([rowid])? as u64;
            }
        }
        add_counter(&tx, "rejected", moved)?;
        tx.commit()?;
        self.backlog = self.backlog.saturating_sub(moved);
        Ok(())
    }

    /// Deletes exactly `sent` (the server acknowledged them); anything spooled since stays.
    pub fn ack(&mut self, sent: &[Observation]) -> Result<(), SpoolError> {
        let tx = self.conn.transaction()?;
        let mut deleted = 0u64;
        {
            let mut delete = tx.prepare_cached(
                "DELETE FROM spool WHERE channel = ?1 AND probe = ?2 AND at_ms = ?3",
            )?;
            for o in sent {
                deleted +=
                    delete.execute(params![o.probe.channel, o.probe.probe, o.at.millis()])? as u64;
            }
        }
        tx.commit()?;
        self.backlog = self.backlog.saturating_sub(deleted);
        Ok(())
    }

    /// Moves `refused` aside into `rejected` with the server's `error` (counted), so the
    /// spool moves on; they stay in the file for an operator to look at.
    pub fn reject(
        &mut self,
        refused: &[Observation],
        error: &str,
        now: Timestamp,
    ) -> Result<(), SpoolError> {
        let tx = self.conn.transaction()?;
        let mut moved = 0u64;
        {
            let mut copy = tx.prepare_cached(
                "INSERT INTO rejected (channel, probe, at_ms, observation, error, rejected_at_ms)
                 SELECT channel, probe, at_ms, observation, ?4, ?5 FROM spool
                 WHERE channel = ?1 AND probe = ?2 AND at_ms = ?3",
            )?;
            let mut delete = tx.prepare_cached(
                "DELETE FROM spool WHERE channel = ?1 AND probe = ?2 AND at_ms = ?3",
            )?;
            for o in refused {
                let key = params![o.probe.channel, o.probe.probe, o.at.millis()];
                copy.execute(params![
                    o.probe.channel,
                    o.probe.probe,
                    o.at.millis(),
                    error,
                    now.millis()
                ])?;
                moved += delete.execute(key)? as u64;
            }
        }
        add_counter(&tx, "rejected", moved)?;
        tx.commit()?;
        self.backlog = self.backlog.saturating_sub(moved);
        Ok(())
    }

    /// Observations dropped from a full spool, over the file's life.
    pub fn dropped(&self) -> Result<u64, SpoolError> {
        self.counter("dropped")
    }

    /// Observations the server refused for good, over the file's life.
    pub fn rejected(&self) -> Result<u64, SpoolError> {
        self.counter("rejected")
    }

    fn counter(&self, name: &str) -> Result<u64, SpoolError> {
        let value: Option<i64> = self
            .conn
            .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(value.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
    }

    /// Keeps the server's latest assignment (and its ETag) for the next start.
    pub fn save_assignment(
        &mut self,
        etag: Option<&str>,
        assignment: &ProbeAssignment,
    ) -> Result<(), SpoolError> {
        let body = serde_json::to_string(assignment)?;
        self.conn.execute(
            "INSERT INTO assignment (id, etag, body) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET etag = excluded.etag, body = excluded.body",
            params![etag, body],
        )?;
        Ok(())
    }

    /// The assignment saved by [`Spool::save_assignment`], with its ETag. One that no longer
    /// parses (a file from another version) counts as none: the server will send it again.
    pub fn saved_assignment(
        &self,
    ) -> Result<Option<(Option<String>, ProbeAssignment)>, SpoolError> {
        let row: Option<(Option<String>, String)> = self
            .conn
            .query_row("SELECT etag, body FROM assignment WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(row.and_then(|(etag, body)| match serde_json::from_str(&body) {
            Ok(assignment) => Some((etag, assignment)),
            Err(e) => {
                tracing::warn!(error = %e, "the saved probe assignment does not parse; waiting for the server's");
                None
            }
        }))
    }

    /// Checkpoints the WAL into the main file and closes it.
    pub fn close(self) -> Result<(), SpoolError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn.close().map_err(|(_, e)| SpoolError::Sql(e))
    }
}

fn add_counter(tx: &rusqlite::Transaction<'_>, name: &str, by: u64) -> Result<(), SpoolError> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        params![name, i64::try_from(by).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

/// Turns the drops of successive pushes into one log line per episode of a full spool: a
/// warning when dropping starts, and the count when the spool has room again.
#[derive(Debug, Default)]
pub struct DropEpisode {
    /// Dropped so far in the episode under way, if one is.
    current: Option<u64>,
}

/// What to log after a push.
#[derive(Debug, PartialEq, Eq)]
pub enum DropLog {
    /// The spool just became full and started dropping.
    Started { dropped: u64 },
    /// A push fitted again: the episode is over, having dropped this many.
    Ended { dropped: u64 },
}

impl DropEpisode {
    /// Records one push that dropped `dropped` observations.
    pub fn record(&mut self, dropped: u64) -> Option<DropLog> {
        match (&mut self.current, dropped) {
            (None, 0) => None,
            (None, n) => {
                self.current = Some(n);
                Some(DropLog::Started { dropped: n })
            }
            (Some(total), 0) => {
                let dropped = *total;
                self.current = None;
                Some(DropLog::Ended { dropped })
            }
            (Some(total), n) => {
                *total += n;
                None
            }
        }
    }

    /// Ends an episode under way (at shutdown), so its count is logged.
    pub fn finish(&mut self) -> Option<DropLog> {
        self.current
            .take()
            .map(|dropped| DropLog::Ended { dropped })
    }
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
