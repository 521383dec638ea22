//! Where observations made elsewhere enter: batches from prober nodes and pushes, handed to
//! the same recorder, state machines and store as the server's own probes, on the node that
//! runs the recorder (the jobs lease's holder). Any other node keeps them in the store's
//! queue, which the holder drains ([`drain_queue`]).

use super::metrics::Histogram;
use super::push::{Push, PushBoard};
use super::recorder::RecorderMsg;
use crate::domain::remote::BatchAccepted;
use crate::domain::{Clock, Observation, Outcome, ProbeKey, Timestamp};
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Upper bounds (seconds) of the ingest latency buckets: a node sends at least every second,
/// so a healthy link is under 2 s; minutes mean a spool being delivered after a cut.
pub const INGEST_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

/// Why a batch from a prober node was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the prober is stopping")]
    Stopping,
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("queued entry: {0}")]
    Queued(#[from] serde_json::Error),
}

/// Where the web layer hands observations made elsewhere (`POST /api/v1/observations`) and
/// pushes (`/api/v1/push/{token}`). One per node, made before the prober, which attaches its
/// recorder while it runs.
#[derive(Clone)]
pub struct Ingest {
    /// This node's recorder while it runs; weak, so the web layer holding it never keeps
    /// the recorder from stopping. `None`: another node runs it, so entries are queued.
    recorder: Arc<RwLock<Option<mpsc::WeakSender<RecorderMsg>>>>,
    push: PushBoard,
    store: Store,
    clock: Arc<dyn Clock>,
    /// Per location: observation start to committed, for `/metrics`.
    latency: Arc<Mutex<BTreeMap<String, Histogram>>>,
}

/// A push as the queue keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct QueuedPush {
    probe: ProbeKey,
    at: i64,
    outcome: Outcome,
    message: Option<String>,
}

/// How often the lease holder looks at the queue, and how much it takes at once.
const DRAIN_EVERY: Duration = Duration::from_millis(250);
const DRAIN_BATCH: usize = 100;

impl Ingest {
    pub fn new(store: Store, clock: Arc<dyn Clock>, push: PushBoard) -> Ingest {
        Ingest {
            recorder: Arc::default(),
            push,
            store,
            clock,
            latency: Arc::default(),
        }
    }

    /// The running prober's recorder takes what arrives from now on (`None`: it stopped).
    pub(super) fn attach(&self, recorder: Option<mpsc::WeakSender<RecorderMsg>>) {
        match self.recorder.write() {
            Ok(mut guard) => *guard = recorder,
            Err(poisoned) => *poisoned.into_inner() = recorder,
        }
    }

    fn recorder(&self) -> Option<mpsc::Sender<RecorderMsg>> {
        let guard = match self.recorder.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.as_ref().and_then(mpsc::WeakSender::upgrade)
    }

    /// Applies the batch in order and returns once it is committed to the store, so a node
    /// may forget what the answer covers. Observations already seen (same probe, location and
    /// start, or older than the latest) are counted as duplicates and change nothing. On a
    /// node without the recorder the batch is committed to the queue instead: all of it is
    /// answered as accepted, and duplicates are dropped when the leader applies it.
    pub async fn submit(
        &self,
        observations: Vec<Observation>,
    ) -> Result<BatchAccepted, IngestError> {
        let Some(recorder) = self.recorder() else {
            let accepted = observations.len();
            let payload = serde_json::to_string(&observations)?;
            self.store
                .queue_ingest("observations", payload, self.clock.now())
                .await?;
            return Ok(BatchAccepted {
                accepted,
                duplicates: 0,
            });
        };
        self.apply(recorder, observations).await
    }

    /// Records a push: on the board of this node's push probes, or in the queue.
    pub async fn push(&self, probe: ProbeKey, push: Push) -> Result<(), IngestError> {
        if self.recorder().is_some() {
            self.push.record(probe, push);
            return Ok(());
        }
        let payload = serde_json::to_string(&QueuedPush {
            probe,
            at: push.at.millis(),
            outcome: push.outcome,
            message: push.message,
        })?;
        self.store
            .queue_ingest("push", payload, self.clock.now())
            .await?;
        Ok(())
    }

    /// Hands one batch to this node's `recorder` and waits until it is committed.
    async fn apply(
        &self,
        recorder: mpsc::Sender<RecorderMsg>,
        observations: Vec<Observation>,
    ) -> Result<BatchAccepted, IngestError> {
        let started: Vec<(String, crate::domain::Timestamp)> = observations
            .iter()
            .map(|o| (o.location.clone(), o.at))
            .collect();
        let (ack, answer) = oneshot::channel();
        recorder
            .send(RecorderMsg::Batch { observations, ack })
            .await
            .map_err(|_| IngestError::Stopping)?;
        let accepted = answer.await.map_err(|_| IngestError::Stopping)?;
        // Queued behind the batch's writes: answered once they are committed.
        self.store.ping().await?;
        let now = self.clock.now();
        let mut latency = match self.latency.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (location, at) in started {
            let seconds = (now.millis() - at.millis()).max(0) as f64 / 1000.0;
            latency
                .entry(location)
                .or_insert_with(|| Histogram::new(INGEST_BUCKETS))
                .observe(seconds);
        }
        Ok(accepted)
    }

    /// Observation start to committed, per location, since the server started.
    pub fn latency(&self) -> BTreeMap<String, Histogram> {
        match self.latency.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// On the lease holder: applies what other nodes queued, oldest first, then deletes it
/// (a fenced write, so a deposed holder leaves it for the next one). An entry that cannot be
/// read is logged and deleted: it could never be applied.
pub async fn drain_queue(ingest: Ingest, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(DRAIN_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let queued = match ingest.store.queued_ingest(DRAIN_BATCH).await {
            Ok(queued) if queued.is_empty() => continue,
            Ok(queued) => queued,
            Err(e) => {
                tracing::error!(error = %e, "reading the ingest queue failed");
                continue;
            }
        };
        let mut done = Vec::new();
        for entry in queued {
            match apply_queued(&ingest, &entry.kind, &entry.payload).await {
                Ok(()) => {}
                Err(IngestError::Queued(e)) => {
                    tracing::error!(id = entry.id, kind = %entry.kind, error = %e, "unreadable ingest queue entry dropped");
                }
                // Stopping or the store: left queued for the next holder or the next turn.
                Err(e) => {
                    tracing::warn!(id = entry.id, error = %e, "queued entry not applied yet");
                    break;
                }
            }
            done.push(entry.id);
        }
        if let Err(e) = ingest.store.drop_queued_ingest(done).await {
            tracing::error!(error = %e, "deleting applied ingest queue entries failed");
        }
    }
}

async fn apply_queued(ingest: &Ingest, kind: &str, payload: &str) -> Result<(), IngestError> {
    match kind {
        "push" => {
            let push: QueuedPush = serde_json::from_str(payload)?;
            ingest.push.record(
                push.probe,
                Push {
                    at: Timestamp::from_millis(push.at),
                    outcome: push.outcome,
                    message: push.message,
                },
            );
            Ok(())
        }
        _ => {
            let observations: Vec<Observation> = serde_json::from_str(payload)?;
            let recorder = ingest.recorder().ok_or(IngestError::Stopping)?;
            ingest.apply(recorder, observations).await.map(drop)
        }
    }
}
