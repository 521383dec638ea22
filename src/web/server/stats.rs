//! What the server did with its connections, for `/healthz` and `/metrics`.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counters shared by the server loop and the handlers that report them.
#[derive(Debug, Default)]
pub struct ServerStats {
    held: AtomicUsize,
    limit: AtomicUsize,
    refused: AtomicU64,
    evicted: AtomicU64,
    timed_out: AtomicU64,
}

/// A reading of [`ServerStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServerReading {
    /// Connections held now.
    pub held: usize,
    /// The most connections held at once (after the file descriptor reserve).
    pub limit: usize,
    /// Connections refused because the client or the server was full.
    pub refused: u64,
    /// Idle connections closed to let a new client in.
    pub evicted: u64,
    /// Connections closed at their header-read or idle deadline.
    pub timed_out: u64,
}

impl ServerStats {
    pub fn read(&self) -> ServerReading {
        ServerReading {
            held: self.held.load(Ordering::Relaxed),
            limit: self.limit.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            evicted: self.evicted.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
        }
    }

    pub(super) fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    pub(super) fn set_held(&self, held: usize) {
        self.held.store(held, Ordering::Relaxed);
    }

    pub(super) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn evicted(&self) {
        self.evicted.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }
}
