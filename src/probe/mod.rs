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
mod live;
mod metrics;
mod push;
mod reason;
mod recorder;
mod runtime;
mod scheduler;
mod seen;
mod tcp;
mod tls;

pub use http::HttpChecker;
pub use live::{ChannelStatus, LiveView};
pub use metrics::{Histogram, ProbeMetrics, ProbeMetricsSnapshot};
pub use push::{hash_token, new_token, Push, PushBoard};
pub use recorder::{Heartbeat, ProbeEvent};
pub use runtime::ProberRuntime;
pub use seen::{judge, needs_body, Seen};
pub use tls::TlsChecker;

use crate::domain::{Clock, Config, ProbeKey, ProbeSpec};
use crate::store::Store;
use recorder::RecorderMsg;
use scheduler::Shared;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long running checks may take to finish after shutdown begins, so Beacon exits within
/// 5 s even when a probe's timeout is longer; unfinished runs are dropped, not recorded.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

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
    shared: Shared,
    running: HashMap<ProbeKey, (ProbeSpec, CancellationToken)>,
    tasks: JoinSet<()>,
    recorder: tokio::task::JoinHandle<()>,
    /// The runtime `start` ran on: probe tasks started later by `reconfigure` (called from
    /// the app's runtime) go there too, so the prober keeps its own threads (see `app`).
    runtime: tokio::runtime::Handle,
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
            shared,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            recorder,
            runtime: tokio::runtime::Handle::current(),
        };
        prober.apply(&config);
        tracing::info!(probes = prober.running.len(), "prober started");
        Ok(prober)
    }

    /// Switches to a new (already validated) configuration: probes that disappeared or
    /// changed are stopped, new and changed ones started, unchanged ones left running.
    pub async fn reconfigure(&mut self, config: Arc<Config>) {
        // The recorder learns first, so observations of new probes find their channel.
        if self
            .shared
            .recorder
            .send(RecorderMsg::Reconfigure(config.clone()))
            .await
            .is_err()
        {
            tracing::error!("recorder gone; configuration not applied");
            return;
        }
        self.shared.location = config.service.location.clone();
        let (stopped, started) = self.apply(&config);
        tracing::info!(
            stopped,
            started,
            running = self.running.len(),
            "configuration reloaded"
        );
    }

    /// Starts and stops tasks so the running set matches `config`; returns (stopped, started).
    fn apply(&mut self, config: &Config) -> (usize, usize) {
        let wanted: HashMap<ProbeKey, &ProbeSpec> = config
            .channels
            .iter()
            .flat_map(|c| {
                c.probes.iter().map(move |p| {
                    (
                        ProbeKey {
                            channel: c.id.clone(),
                            probe: p.name.clone(),
                        },
                        p,
                    )
                })
            })
            .collect();
        let mut stopped = 0;
        self.running.retain(|key, (spec, cancel)| {
            let keep = wanted.get(key).is_some_and(|w| *w == spec);
            if !keep {
                cancel.cancel();
                stopped += 1;
            }
            keep
        });
        let mut started = 0;
        for (key, spec) in wanted {
            if self.running.contains_key(&key) {
                continue;
            }
            let cancel = CancellationToken::new();
            self.tasks.spawn_on(
                scheduler::run_probe(
                    key.clone(),
                    spec.clone(),
                    self.shared.clone(),
                    cancel.clone(),
                ),
                &self.runtime,
            );
            self.running.insert(key, (spec.clone(), cancel));
            started += 1;
        }
        (stopped, started)
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
    pub async fn stop(mut self) {
        for (_, cancel) in self.running.values() {
            cancel.cancel();
        }
        let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                unfinished = self.tasks.len(),
                "probes still running after the shutdown grace period; their runs are not recorded"
            );
            self.tasks.shutdown().await;
        }
        drop(self.shared);
        if let Err(e) = self.recorder.await {
            tracing::error!(error = %e, "recorder task failed");
        }
    }
}
