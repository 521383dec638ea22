//! Probing: one check per kind, the per-probe schedule, and the recorder that turns results
//! into live state (through `sla`) and durable rows (through `store`).
//!
//! Owns: how a target is checked and when. May use: `domain`, `config`, `store`, `sla`.
//! Each probe runs in its own task, so a slow upstream delays nobody else and a probe never
//! overlaps itself; one recorder task applies observations in arrival order, so the state
//! machines need no locks.

mod http;
mod live;
mod recorder;
mod scheduler;

pub use http::HttpChecker;
pub use live::{ChannelStatus, LiveView};
pub use recorder::{Heartbeat, ProbeEvent};

use crate::domain::{Clock, Config, Outcome};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What one check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub outcome: Outcome,
    pub status_code: Option<u16>,
    pub response_ms: Option<u32>,
    pub reason: Option<String>,
}

impl CheckResult {
    fn failed(reason: String, status_code: Option<u16>) -> CheckResult {
        CheckResult {
            outcome: Outcome::Down,
            status_code,
            response_ms: None,
            reason: Some(reason),
        }
    }
}

/// How long running checks may take to finish after shutdown begins, so Beacon exits within
/// 5 s even when a probe's timeout is longer; unfinished runs are dropped, not recorded.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The running prober: schedules every probe of the config and records what they see.
pub struct Prober {
    live: LiveView,
    heartbeat: Heartbeat,
    events: broadcast::Sender<ProbeEvent>,
    cancel: CancellationToken,
    scheduler: JoinHandle<()>,
    recorder: JoinHandle<()>,
}

impl Prober {
    /// Restores live state from the store, then starts one task per probe and the recorder.
    pub async fn start(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Prober, crate::store::Error> {
        let restored = store.load_live().await?;
        let live = LiveView::new(&config);
        let heartbeat = Heartbeat::new(clock.now());
        let (events, _) = broadcast::channel(1024);
        let (observations, inbox) = tokio::sync::mpsc::channel(1024);
        let recorder = recorder::Recorder::restore(
            &config,
            restored,
            store,
            live.clone(),
            heartbeat.clone(),
            events.clone(),
            clock.clone(),
        );
        let recorder = tokio::spawn(recorder.run(inbox));
        let cancel = CancellationToken::new();
        let checker = HttpChecker::new().map_err(|e| crate::store::Error::Task(e.to_string()))?;
        let scheduler = tokio::spawn(scheduler::run_all(
            config,
            checker,
            clock,
            observations,
            cancel.clone(),
            SHUTDOWN_GRACE,
        ));
        Ok(Prober {
            live,
            heartbeat,
            events,
            cancel,
            scheduler,
            recorder,
        })
    }

    /// The live channel states, for the web layer.
    pub fn live(&self) -> LiveView {
        self.live.clone()
    }

    /// Proof of life of the recorder, for `/healthz`.
    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat.clone()
    }

    /// State changes as they are confirmed, for whoever the app wires to them.
    pub fn subscribe(&self) -> broadcast::Receiver<ProbeEvent> {
        self.events.subscribe()
    }

    /// Stops scheduling, lets running checks finish (up to the grace period), and waits until
    /// every observation has been handed to the store's writer.
    pub async fn stop(self) {
        self.cancel.cancel();
        if let Err(e) = self.scheduler.await {
            tracing::error!(error = %e, "scheduler task failed");
        }
        if let Err(e) = self.recorder.await {
            tracing::error!(error = %e, "recorder task failed");
        }
    }
}
