//! The prober's own tokio runtime, so that no other work can queue ahead of a probe's start.
//!
//! Tokio schedules tasks cooperatively: on one runtime shared with the web server, a page
//! under load keeps dozens of connection tasks ready and a probe whose start time came waits
//! behind them. On threads of its own, the kernel's scheduler arbitrates, and a prober thread
//! waking from its timer gets a core within milliseconds however busy the web threads are
//! (`beacon bench page` measures both at once). The app starts the prober here and everything
//! else (web server, page renders, reports, notifications) on its own runtime.

use super::{ProbeHandles, Prober, StartError};
use crate::domain::{Clock, Config};
use crate::store::Store;
use std::sync::Arc;

/// Worker threads: probes are light (a fraction of a millisecond of CPU per run), but a
/// second thread keeps one slow TLS handshake or certificate parse from holding up the rest.
const THREADS: usize = 2;

/// The runtime the prober runs on. Its owner is async code, where dropping a runtime would
/// block (and panic), so on every way out it is shut down in the background instead: by then
/// the prober has stopped and only idle pooled connections remain on it.
pub struct ProberRuntime(Option<tokio::runtime::Runtime>);

impl ProberRuntime {
    /// Starts the runtime's threads (named `beacon-prober`).
    pub fn new() -> std::io::Result<ProberRuntime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(THREADS)
            .thread_name("beacon-prober")
            .enable_all()
            .build()
            .map(|rt| ProberRuntime(Some(rt)))
    }

    /// [`Prober::start`] on this runtime: the recorder and every probe task run here, and so
    /// do the tasks `reconfigure` starts later (the prober keeps the handle).
    pub async fn start(
        &self,
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
        handles: ProbeHandles,
        own_probes: bool,
    ) -> Result<Prober, StartError> {
        let Some(rt) = &self.0 else {
            return Err(StartError::Runtime(std::io::Error::other("shut down")));
        };
        match rt
            .spawn(Prober::start(config, store, clock, handles, own_probes))
            .await
        {
            Ok(started) => started,
            Err(e) => Err(StartError::Runtime(std::io::Error::other(e))),
        }
    }
}

impl Drop for ProberRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
