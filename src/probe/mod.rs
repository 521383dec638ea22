//! Probing: one check per kind, the per-probe schedule, and the recorder that turns results
//! into live state (through `sla`) and durable rows (through `store`).
//!
//! Owns: how a target is checked and when. May use: `domain`, `config`, `store`, `sla`.
//! Each probe runs in its own task, so a slow upstream delays nobody else and a probe never
//! overlaps itself; one recorder task applies observations in arrival order, so the state
//! machines need no locks. A new configuration (hot reload) restarts only the probes whose
//! definition changed; the history of a probe is keyed by its channel id and name.

mod certificate;
mod connectivity;
mod dns;
mod http;
pub mod import;
mod ingest;
mod live;
mod metrics;
pub mod node;
mod push;
mod reason;
mod recorder;
mod runner;
mod runtime;
mod scheduler;
mod seen;
mod tcp;
mod tls;
mod tracked;

pub use http::HttpChecker;
pub use ingest::{drain_queue, Ingest, IngestError, INGEST_BUCKETS};
pub use live::{ChannelStatus, LiveView, LocationStatus};
pub use metrics::{Histogram, ProbeMetrics, ProbeMetricsSnapshot};
pub use push::{hash_token, new_token, Push, PushBoard};
pub use recorder::{Heartbeat, ProbeEvent};
pub use runtime::ProberRuntime;
pub use seen::{judge, needs_body, Seen};
pub use tls::TlsChecker;

use crate::domain::{Clock, Config};
use crate::store::Store;
use recorder::RecorderMsg;
use runner::Runner;
use scheduler::Shared;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Why the prober could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("tls client: {0}")]
    Tls(#[from] rustls::Error),
    #[error("prober runtime: {0}")]
    Runtime(std::io::Error),
}

/// What the web layer reads (live states, the recorder's heartbeat, the metrics) and where
/// it hands what arrives from elsewhere (batches and pushes): made once per node, kept across
/// the prober's starts and stops as the node takes and loses the jobs lease.
#[derive(Clone)]
pub struct ProbeHandles {
    pub live: LiveView,
    pub heartbeat: Heartbeat,
    pub push: PushBoard,
    pub metrics: ProbeMetrics,
    pub ingest: Ingest,
}

impl ProbeHandles {
    /// Every channel unknown until a prober or [`follow`] fills the view from the store.
    pub fn new(config: &Config, store: Store, clock: Arc<dyn Clock>) -> ProbeHandles {
        let push = PushBoard::default();
        ProbeHandles {
            live: LiveView::new(config),
            heartbeat: Heartbeat::new(clock.now()),
            metrics: ProbeMetrics::default(),
            ingest: Ingest::new(store, clock, push.clone()),
            push,
        }
    }
}

/// On a node without the prober (another node holds the jobs lease): rebuilds the live view
/// from the store as a restarted prober would (the same checkpoints and timelines), and
/// beats the heartbeat. Called after each change notice and periodically.
pub async fn follow(
    config: &Config,
    store: &Store,
    clock: Arc<dyn Clock>,
    handles: &ProbeHandles,
) -> Result<(), crate::store::Error> {
    let restored = store.load_live().await?;
    let fresh = LiveView::new(config);
    let now = clock.now();
    drop(recorder::Recorder::restore(
        config,
        restored,
        store.clone(),
        fresh.clone(),
        Heartbeat::new(now),
        broadcast::channel(1).0,
        clock,
    ));
    handles.live.take_from(&fresh);
    handles.heartbeat.beat(now);
    Ok(())
}

/// The running prober: one task per probe, and the recorder.
pub struct Prober {
    handles: ProbeHandles,
    events: broadcast::Sender<ProbeEvent>,
    /// The probes of the server's own location. Created on the runtime `start` ran on:
    /// probe tasks started later by `reconfigure` (called from the app's runtime) go there
    /// too, so the prober keeps its own threads (see `app`).
    runner: Runner,
    /// Whether this node runs the probes of the server's own location (role `all`), or
    /// only records what prober nodes send (role `jobs`).
    own_probes: bool,
    recorder: tokio::task::JoinHandle<()>,
}

impl Prober {
    /// Restores live state from the store into `handles`, then starts the recorder (which
    /// from then on takes the batches and pushes `handles.ingest` receives) and, with
    /// `own_probes`, one task per probe of the server's location, all on the runtime this
    /// runs on.
    pub async fn start(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
        handles: ProbeHandles,
        own_probes: bool,
    ) -> Result<Prober, StartError> {
        let restored = store.load_live().await?;
        handles.live.reset(&config);
        handles.heartbeat.beat(clock.now());
        let (events, _) = broadcast::channel(1024);
        let (inbox_tx, inbox) = mpsc::channel(1024);
        let recorder = recorder::Recorder::restore(
            &config,
            restored,
            store,
            handles.live.clone(),
            handles.heartbeat.clone(),
            events.clone(),
            clock.clone(),
        )
        .with_metrics(handles.metrics.clone());
        let recorder = tokio::spawn(recorder.run(inbox));
        let http = HttpChecker::new()?;
        let shared = Shared {
            connectivity: config
                .service
                .connectivity_check
                .clone()
                .map(|url| connectivity::Connectivity::new(url, reqwest::Client::new())),
            http,
            tls: TlsChecker::new()?,
            push: handles.push.clone(),
            clock,
            location: config.service.location.clone(),
            recorder: inbox_tx,
        };
        handles.ingest.attach(Some(shared.recorder.downgrade()));
        let mut prober = Prober {
            handles,
            events,
            runner: Runner::new(shared),
            own_probes,
            recorder,
        };
        prober.apply(&config);
        tracing::info!(probes = prober.runner.len(), "prober started");
        Ok(prober)
    }

    /// Switches to a new (already validated) configuration: probes that disappeared or
    /// changed are stopped, new and changed ones started, unchanged ones left running.
    pub async fn reconfigure(&mut self, config: Arc<Config>) {
        // The recorder learns first, so observations of new probes find their channel.
        if self
            .runner
            .sink()
            .send(RecorderMsg::Reconfigure(config.clone()))
            .await
            .is_err()
        {
            tracing::error!("recorder gone; configuration not applied");
            return;
        }
        self.runner.shared.location = config.service.location.clone();
        let (stopped, started) = self.apply(&config);
        tracing::info!(
            stopped,
            started,
            running = self.runner.len(),
            "configuration reloaded"
        );
    }

    /// Runs the probes of `config` assigned to the server's own location; returns
    /// (stopped, started).
    fn apply(&mut self, config: &Config) -> (usize, usize) {
        let mut wanted = runner::wanted_at(config, &config.service.location);
        // Push probes are deadlines rather than checks of a place: the lease holder keeps
        // them whatever its role.
        if !self.own_probes {
            wanted
                .retain(|(_, spec)| matches!(spec.target, crate::domain::ProbeTarget::Push { .. }));
        }
        self.runner.apply(wanted)
    }

    /// State changes as they are confirmed, for whoever the app wires to them.
    pub fn subscribe(&self) -> broadcast::Receiver<ProbeEvent> {
        self.events.subscribe()
    }

    /// Stops scheduling, lets running checks finish (up to the grace period), and waits until
    /// every observation has been handed to the store's writer.
    pub async fn stop(self) {
        // What arrives from now on is queued for the next holder of the lease.
        self.handles.ingest.attach(None);
        self.runner.stop().await;
        if let Err(e) = self.recorder.await {
            tracing::error!(error = %e, "recorder task failed");
        }
    }
}
