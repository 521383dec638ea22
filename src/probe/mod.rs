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
pub use ingest::{Ingest, IngestError, INGEST_BUCKETS};
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

/// The running prober: one task per probe, and the recorder.
pub struct Prober {
    live: LiveView,
    heartbeat: Heartbeat,
    events: broadcast::Sender<ProbeEvent>,
    push: PushBoard,
    metrics: ProbeMetrics,
    /// The probes of the server's own location. Created on the runtime `start` ran on:
    /// probe tasks started later by `reconfigure` (called from the app's runtime) go there
    /// too, so the prober keeps its own threads (see `app`).
    runner: Runner,
    recorder: tokio::task::JoinHandle<()>,
    ingest: Ingest,
}

impl Prober {
    /// Restores live state from the store, then starts one task per probe and the recorder,
    /// all on the runtime this runs on.
    pub async fn start(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Prober, StartError> {
        let restored = store.load_live().await?;
        let live = LiveView::new(&config);
        let heartbeat = Heartbeat::new(clock.now());
        let (events, _) = broadcast::channel(1024);
        let (inbox_tx, inbox) = mpsc::channel(1024);
        let metrics = ProbeMetrics::default();
        let ingest_store = store.clone();
        let recorder = recorder::Recorder::restore(
            &config,
            restored,
            store,
            live.clone(),
            heartbeat.clone(),
            events.clone(),
            clock.clone(),
        )
        .with_metrics(metrics.clone());
        let recorder = tokio::spawn(recorder.run(inbox));
        let http = HttpChecker::new()?;
        let push = PushBoard::default();
        let shared = Shared {
            connectivity: config
                .service
                .connectivity_check
                .clone()
                .map(|url| connectivity::Connectivity::new(url, reqwest::Client::new())),
            http,
            tls: TlsChecker::new()?,
            push: push.clone(),
            clock,
            location: config.service.location.clone(),
            recorder: inbox_tx,
        };
        let mut prober = Prober {
            live,
            heartbeat,
            events,
            push,
            metrics,
            ingest: Ingest {
                recorder: shared.recorder.downgrade(),
                store: ingest_store,
                clock: shared.clock.clone(),
                latency: Default::default(),
            },
            runner: Runner::new(shared),
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
        self.runner
            .apply(runner::wanted_at(config, &config.service.location))
    }

    /// Where observations from prober nodes go, for the web layer.
    pub fn ingest(&self) -> Ingest {
        self.ingest.clone()
    }

    /// The live channel states, for the web layer.
    pub fn live(&self) -> LiveView {
        self.live.clone()
    }

    /// Proof of life of the recorder, for `/healthz`.
    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat.clone()
    }

    /// Where the push endpoint records heartbeats.
    pub fn push_board(&self) -> PushBoard {
        self.push.clone()
    }

    /// Counters and histograms of every observation, for `/metrics`.
    pub fn metrics(&self) -> ProbeMetrics {
        self.metrics.clone()
    }

    /// State changes as they are confirmed, for whoever the app wires to them.
    pub fn subscribe(&self) -> broadcast::Receiver<ProbeEvent> {
        self.events.subscribe()
    }

    /// Stops scheduling, lets running checks finish (up to the grace period), and waits until
    /// every observation has been handed to the store's writer.
    pub async fn stop(self) {
        self.runner.stop().await;
        if let Err(e) = self.recorder.await {
            tracing::error!(error = %e, "recorder task failed");
        }
    }
}
