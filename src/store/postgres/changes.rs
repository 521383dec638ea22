//! The change notice between nodes: a write on any node that changes what the public pages
//! show (incidents, maintenance, a channel's state) sends `NOTIFY beacon_changes` in its own
//! transaction, so it arrives exactly when the change is committed; every node listens on a
//! connection of its own and re-renders its cached pages. NOTIFY is not replayed, so after a
//! lost connection the listener reconnects with backoff and reports a change anyway (the
//! pages' periodic render is the last fallback).

use super::{config, connect, tls};
use crate::store::sql::{args, Db, Engine};
use crate::store::Result;
use postgres::fallible_iterator::FallibleIterator;
use std::time::Duration;
use tokio::sync::watch;

/// The channel every node listens on (one per schema, so schemas of a database stay apart).
const CHANNEL: &str = "beacon_changes";

/// How long the listener waits for a notice before checking that anyone still listens.
const POLL: Duration = Duration::from_secs(1);

/// Sends the change notice in `db`'s transaction (nothing on SQLite: one node per file).
pub(crate) fn notify(db: &dyn Db) -> Result<()> {
    if db.engine() == Engine::Postgres {
        db.execute(
            "SELECT pg_notify(CAST(?1 AS TEXT) || '_' || current_schema(), '')",
            args![CHANNEL],
        )?;
    }
    Ok(())
}

/// Starts the listener thread: the receiver's number grows with every notice (or lost
/// connection). The thread ends once every receiver is gone.
pub(crate) fn listen(url: &str) -> watch::Receiver<u64> {
    let (sender, receiver) = watch::channel(0);
    let url = url.to_owned();
    let started = std::thread::Builder::new()
        .name("beacon-pg-listen".into())
        .spawn(move || run(&url, &sender));
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the change listener; pages follow other nodes by their periodic render only");
    }
    receiver
}

fn run(url: &str, changes: &watch::Sender<u64>) {
    let mut backoff = Duration::from_millis(250);
    while !changes.is_closed() {
        match listen_once(url, changes) {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "lost the change listener's connection");
                // Notices sent meanwhile are lost: render as if one came.
                changes.send_modify(|n| *n += 1);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Listens until every receiver is gone (`Ok`) or the connection fails.
fn listen_once(url: &str, changes: &watch::Sender<u64>) -> Result<()> {
    let mut client = connect(&config(url)?, &tls(), url)?;
    let schema: String = client.query_one("SELECT current_schema()", &[])?.get(0);
    client.batch_execute(&format!("LISTEN \"{CHANNEL}_{schema}\""))?;
    while !changes.is_closed() {
        {
            let mut notices = client.notifications();
            let mut waiting = notices.timeout_iter(POLL);
            // Each notice at once (the page cache debounces a burst itself).
            while waiting.next()?.is_some() {
                changes.send_modify(|n| *n += 1);
            }
        }
        if client.is_closed() {
            return Err(crate::store::Error::Postgres("connection closed".into()));
        }
    }
    Ok(())
}
