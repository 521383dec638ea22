//! The jobs lease on PostgreSQL: work that must happen once (the recorder, maintenance,
//! deliveries, reports, pruning) runs on the one node holding a session-level advisory lock
//! on a connection of its own. The server releases the lock when that connection ends, so a
//! node that dies (even by `kill -9`) frees it at once and the next node that tries (every
//! [`TRY_EVERY`]) takes it over.
//!
//! A lock alone cannot stop a leader that lost its connection but not its work (a network
//! cut, a long pause): taking the lease also adds one to `jobs_lease.epoch`, and the store's
//! writer refuses every write of a node whose epoch is no longer the current one (the fence,
//! see `Writer::fence`). So a deposed leader's late writes never land.

use super::{config, connect, tls};
use crate::store::{Error, Result};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The advisory lock's first key ("BEAC"); the second is the schema's hash, so databases
/// shared by schemas (the tests) have a lease per schema.
const LOCK_CLASS: i32 = 0x4245_4143;
/// How often a node without the lease tries to take it, and how often the holder checks
/// that its lock's connection is alive: the takeover time after a leader dies.
pub const TRY_EVERY: Duration = Duration::from_secs(1);

/// What happens to this node's hold on the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEvent {
    /// This node holds the lease; its writes are fenced with `epoch`.
    Acquired { epoch: i64 },
    /// Another node holds the lease (told once per connection, after the first try).
    Standby,
    /// The lock's connection was lost: the lease may be another node's by now.
    Lost { reason: String },
}

/// The lease thread's side of a [`contend`]: it stops (releasing the lock at once) when the
/// receiver of events is dropped, and wakes early when `stop` is dropped.
pub struct Contender {
    pub events: mpsc::Receiver<LeaseEvent>,
    /// Dropped with the contender: the thread sees it at once instead of at its next try.
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Contender {
    /// Stops contending and waits until the thread has released the lock (a query, so it is
    /// free when this returns: a node restarted at once takes it at its first try). Blocks.
    pub fn release(mut self) {
        self.events.close();
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the jobs lease thread panicked");
            }
        }
    }
}

/// Starts contending for the lease on a thread of its own (the blocking client must not run
/// on an async thread). `holder` names this node in `jobs_lease` and in a refusal's message;
/// `fence` is set to the epoch on each acquisition (the writer's fence; the app clears it
/// once its jobs have stopped). The thread ends, releasing the lock, when the receiver is
/// dropped.
pub fn contend(url: &str, holder: String, fence: Arc<AtomicI64>) -> Contender {
    let (events, receiver) = mpsc::channel(4);
    let (stop_tx, stop) = std::sync::mpsc::channel();
    let url = url.to_owned();
    let started = std::thread::Builder::new()
        .name("beacon-pg-lease".into())
        .spawn(move || run(&url, &holder, &fence, &events, &stop));
    let thread = started
        .map_err(|e| {
            tracing::error!(error = %e, "cannot start the jobs lease thread; this node runs no jobs");
        })
        .ok();
    Contender {
        events: receiver,
        stop: Some(stop_tx),
        thread,
    }
}

/// Waits `wait`; false once the contender is gone (time to stop).
fn pause(stop: &std::sync::mpsc::Receiver<()>, wait: Duration) -> bool {
    matches!(
        stop.recv_timeout(wait),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) | Ok(())
    )
}

fn run(
    url: &str,
    holder: &str,
    fence: &AtomicI64,
    events: &mpsc::Sender<LeaseEvent>,
    stop: &std::sync::mpsc::Receiver<()>,
) {
    let mut backoff = TRY_EVERY;
    while !events.is_closed() {
        match hold_once(url, holder, fence, events, stop) {
            Ok(()) => return,
            Err(e) => {
                // Told only if the lease was held; a failed attempt to connect is retried.
                tracing::warn!(error = %e, retry_in = ?backoff, "jobs lease connection failed");
                if !pause(stop, backoff) {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// One connection's life: tries the lock until it is taken, then holds it until the
/// connection fails (an error) or nobody listens any more (`Ok`).
fn hold_once(
    url: &str,
    holder: &str,
    fence: &AtomicI64,
    events: &mpsc::Sender<LeaseEvent>,
    stop: &std::sync::mpsc::Receiver<()>,
) -> Result<()> {
    let mut client = connect(&config(url)?, &tls(), url)?;
    let key: i32 = client
        .query_one("SELECT hashtext(current_schema())", &[])?
        .get(0);
    let mut told = false;
    loop {
        if events.is_closed() {
            return Ok(());
        }
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_CLASS, &key])?
            .get(0);
        if taken {
            break;
        }
        if !told {
            told = true;
            if events.blocking_send(LeaseEvent::Standby).is_err() {
                return Ok(());
            }
        }
        if !pause(stop, TRY_EVERY) {
            return Ok(());
        }
    }
    let now = crate::domain::Clock::now(&crate::domain::SystemClock).millis();
    let epoch: i64 = client
        .query_one(
            "UPDATE jobs_lease SET epoch = epoch + 1, holder = $1, since_ms = $2
             WHERE name = 'jobs' RETURNING epoch",
            &[&holder, &now],
        )?
        .get(0);
    fence.store(epoch, Ordering::Release);
    tracing::info!(epoch, "took the jobs lease: this node runs the jobs");
    if events
        .blocking_send(LeaseEvent::Acquired { epoch })
        .is_err()
    {
        return Ok(());
    }
    loop {
        if !pause(stop, TRY_EVERY) || events.is_closed() {
            // Released by a query rather than by closing: free when `release` returns.
            if let Err(e) = client.simple_query("SELECT pg_advisory_unlock_all()") {
                tracing::warn!(error = %e, "releasing the jobs lease failed; the server frees it with the connection");
            }
            return Ok(());
        }
        if let Err(e) = client.simple_query("SELECT 1") {
            let reason = super::message(&e);
            tracing::error!(epoch, error = %reason, "lost the jobs lease's connection: stopping the jobs");
            let _ = events.blocking_send(LeaseEvent::Lost {
                reason: reason.clone(),
            });
            return Err(Error::Postgres(reason));
        }
    }
}
