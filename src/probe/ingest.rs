//! Where observations made elsewhere enter: batches from prober nodes, handed to the same
//! recorder, state machines and store as the server's own probes.

use super::metrics::Histogram;
use super::recorder::RecorderMsg;
use crate::domain::remote::BatchAccepted;
use crate::domain::{Clock, Observation};
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

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
}

/// Where the web layer hands observations made elsewhere (`POST /api/v1/observations`): to
/// the same recorder, state machines and store as the server's own probes.
#[derive(Clone)]
pub struct Ingest {
    /// Weak, so the web layer holding it never keeps the recorder from stopping.
    pub(super) recorder: mpsc::WeakSender<RecorderMsg>,
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    /// Per location: observation start to committed, for `/metrics`.
    pub(super) latency: Arc<Mutex<BTreeMap<String, Histogram>>>,
}

impl Ingest {
    /// Applies the batch in order and returns once it is committed to the store, so a node
    /// may forget what the answer covers. Observations already seen (same probe, location and
    /// start, or older than the latest) are counted as duplicates and change nothing.
    pub async fn submit(
        &self,
        observations: Vec<Observation>,
    ) -> Result<BatchAccepted, IngestError> {
        let started: Vec<(String, crate::domain::Timestamp)> = observations
            .iter()
            .map(|o| (o.location.clone(), o.at))
            .collect();
        let (ack, answer) = oneshot::channel();
        self.recorder
            .upgrade()
            .ok_or(IngestError::Stopping)?
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
