//! The recorder: applies observations to the state machines, then hands them to the store
//! and the live view.

use super::live::LiveView;
use super::metrics::ProbeMetrics;
use crate::domain::{Clock, Config, Observation, ProbeKey, State, Timestamp};
use crate::sla::{ChannelTracker, ProbeMachine};
use crate::store::{LiveRestore, ObservationRecord, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use crate::domain::remote::BatchAccepted;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Something other modules may react to, published by the prober.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeEvent {
    /// A channel's confirmed state changed; `since` is when the new state began.
    ChannelState {
        channel: String,
        state: State,
        since: Timestamp,
    },
}

/// What the recorder is asked to do, in order.
pub(super) enum RecorderMsg {
    Observe(Observation),
    /// Observations from a prober node, oldest first; answered once all are handled (not
    /// yet committed: see [`Ingest::submit`]).
    Batch {
        observations: Vec<Observation>,
        ack: oneshot::Sender<BatchAccepted>,
    },
    /// A new configuration: channels may have appeared, changed or gone.
    Reconfigure(Arc<Config>),
}

/// Last time the recorder proved it is alive (a tick each second, and every observation).
#[derive(Clone, Debug)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Heartbeat {
    pub(super) fn new(now: Timestamp) -> Heartbeat {
        Heartbeat(Arc::new(AtomicI64::new(now.millis())))
    }

    fn beat(&self, now: Timestamp) {
        self.0.store(now.millis(), Ordering::Relaxed);
    }

    pub fn last(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::Relaxed))
    }
}

pub(super) struct Recorder {
    machines: HashMap<ProbeKey, ProbeMachine>,
    trackers: HashMap<String, ChannelTracker>,
    store: Store,
    live: LiveView,
    heartbeat: Heartbeat,
    events: broadcast::Sender<ProbeEvent>,
    clock: Arc<dyn Clock>,
    metrics: ProbeMetrics,
}

impl Recorder {
    /// Continues from the store's checkpoints so a restart does not forget confirmed states
    /// or runs in progress (a gap while stopped is then found by the machines themselves).
    pub(super) fn restore(
        config: &Config,
        mut restored: LiveRestore,
        store: Store,
        live: LiveView,
        heartbeat: Heartbeat,
        events: broadcast::Sender<ProbeEvent>,
        clock: Arc<dyn Clock>,
    ) -> Recorder {
        let mut machines = HashMap::new();
        let mut trackers = HashMap::new();
        for channel in &config.channels {
            let mut probe_logs = BTreeMap::new();
            let mut lasts = Vec::new();
            let mut coverage = Vec::new();
            for spec in &channel.probes {
                let key = ProbeKey {
                    channel: channel.id.clone(),
                    probe: spec.name.clone(),
                };
                let saved = restored.probes.remove(&key).unwrap_or_default();
                let machine = saved
                    .checkpoint
                    .and_then(|json| match serde_json::from_str::<ProbeMachine>(&json) {
                        Ok(m) => Some(m),
                        Err(e) => {
                            tracing::warn!(probe = %key, error = %e, "unreadable checkpoint; starting unknown");
                            None
                        }
                    })
                    .unwrap_or_default();
                coverage.push((spec.name.clone(), machine.coverage_end()));
                probe_logs.insert(spec.name.clone(), saved.transitions);
                lasts.extend(saved.last_observation);
                machines.insert(key, machine);
            }
            let channel_log = restored.channels.remove(&channel.id).unwrap_or_default();
            let mut tracker = ChannelTracker::restore(probe_logs, channel_log);
            for (probe, end) in coverage {
                tracker.set_coverage(&probe, end);
            }
            for obs in lasts {
                live.update(&channel.id, &tracker, Some(obs));
            }
            live.update(&channel.id, &tracker, None);
            trackers.insert(channel.id.clone(), tracker);
        }
        Recorder {
            machines,
            trackers,
            store,
            live,
            heartbeat,
            events,
            clock,
            metrics: ProbeMetrics::default(),
        }
    }

    /// Counts every observation into `metrics` (shared with `/metrics`).
    pub(super) fn with_metrics(self, metrics: ProbeMetrics) -> Recorder {
        Recorder { metrics, ..self }
    }

    /// Runs until every probe task has dropped its sender, then returns.
    pub(super) async fn run(mut self, mut inbox: mpsc::Receiver<RecorderMsg>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                received = inbox.recv() => match received {
                    Some(RecorderMsg::Observe(obs)) => {
                        self.handle(obs).await;
                    }
                    Some(RecorderMsg::Batch { observations, ack }) => {
                        let mut answer = BatchAccepted { accepted: 0, duplicates: 0 };
                        for obs in observations {
                            if self.handle(obs).await {
                                answer.accepted += 1;
                            } else {
                                answer.duplicates += 1;
                            }
                        }
                        // The node may have given up waiting; it sends the batch again.
                        let _ = ack.send(answer);
                    }
                    Some(RecorderMsg::Reconfigure(config)) => self.reconfigure(&config).await,
                    None => break,
                },
                _ = tick.tick() => self.heartbeat.beat(self.clock.now()),
            }
        }
        tracing::info!("recorder stopped");
    }

    /// Drops the state of probes that are gone (their history stays in the store) and
    /// re-derives the affected channels' state from the probes that remain.
    async fn reconfigure(&mut self, config: &Config) {
        let now = self.clock.now();
        self.live.reconfigure(config);
        for channel in &config.channels {
            let names: Vec<&str> = channel.probes.iter().map(|p| p.name.as_str()).collect();
            self.machines
                .retain(|key, _| key.channel != channel.id || names.contains(&key.probe.as_str()));
            let tracker = self.trackers.entry(channel.id.clone()).or_default();
            let update = tracker.retain_probes(&names, now);
            let tracker = tracker.clone();
            if let Some(update) = update {
                self.publish(&channel.id, &update.transitions, None);
                if let Err(e) = self
                    .store
                    .replace_channel_transitions(
                        channel.id.clone(),
                        update.from,
                        update.transitions,
                    )
                    .await
                {
                    tracing::error!(error = %e, "channel state not stored");
                }
            }
            self.live.update(&channel.id, &tracker, None);
        }
        let ids: Vec<&str> = config.channels.iter().map(|c| c.id.as_str()).collect();
        self.trackers.retain(|id, _| ids.contains(&id.as_str()));
        self.machines
            .retain(|key, _| ids.contains(&key.channel.as_str()));
    }

    fn publish(
        &self,
        channel: &str,
        transitions: &[crate::domain::Transition],
        reason: Option<&str>,
    ) {
        for t in transitions {
            tracing::info!(channel = %channel, state = %t.state, since = %t.at, reason = ?reason, "channel state changed");
            // Nobody listening is fine: events are for whoever the app wires.
            let _ = self.events.send(ProbeEvent::ChannelState {
                channel: channel.to_owned(),
                state: t.state,
                since: t.at,
            });
        }
    }

    /// Applies one observation; false if it was already seen (a replay from a prober node).
    async fn handle(&mut self, obs: Observation) -> bool {
        self.heartbeat.beat(self.clock.now());
        let machine = self.machines.entry(obs.probe.clone()).or_default();
        if machine.last_at().is_some_and(|last| obs.at <= last) {
            return false;
        }
        self.metrics.observe(&obs);
        let probe_transitions = machine.observe((&obs).into());
        let checkpoint = match serde_json::to_string(machine) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(probe = %obs.probe, error = %e, "cannot checkpoint state machine");
                String::new()
            }
        };
        let tracker = self.trackers.entry(obs.probe.channel.clone()).or_default();
        let channel_update = tracker.apply(&obs.probe.probe, &probe_transitions);
        tracker.set_coverage(&obs.probe.probe, machine.coverage_end());
        if let Some(update) = &channel_update {
            for t in &update.transitions {
                tracing::info!(channel = %obs.probe.channel, state = %t.state, since = %t.at, reason = ?obs.reason, "channel state changed");
                // Nobody listening is fine: events are for whoever the app wires.
                let _ = self.events.send(ProbeEvent::ChannelState {
                    channel: obs.probe.channel.clone(),
                    state: t.state,
                    since: t.at,
                });
            }
        }
        self.live
            .update(&obs.probe.channel, tracker, Some(obs.clone()));
        let record = ObservationRecord {
            observation: obs,
            checkpoint,
            probe_transitions,
            channel_update: channel_update.map(|u| (u.from, u.transitions)),
        };
        if let Err(e) = self.store.record(record).await {
            tracing::error!(error = %e, "observation not stored");
        }
        true
    }
}

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
}

impl Ingest {
    /// Applies the batch in order and returns once it is committed to the store, so a node
    /// may forget what the answer covers. Observations already seen (same probe, location and
    /// start, or older than the latest) are counted as duplicates and change nothing.
    pub async fn submit(&self, observations: Vec<Observation>) -> Result<BatchAccepted, IngestError> {
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
        Ok(accepted)
    }
}
