//! The recorder: applies observations to the state machines, then hands them to the store
//! and the live view.

use super::live::LiveView;
use super::live::LocationLog;
use super::metrics::ProbeMetrics;
use super::tracked::{follow_spec, restore_probe, Tracked};
use crate::domain::remote::BatchAccepted;
use crate::domain::{Clock, Config, Observation, ProbeKey, State, Timestamp};
use crate::sla::{ChannelTracker, ChannelUpdate, LocatedChange, ObservationInput};
use crate::store::{LiveRestore, LocatedWrite, ObservationRecord, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
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

    pub(super) fn beat(&self, now: Timestamp) {
        self.0.store(now.millis(), Ordering::Relaxed);
    }

    pub fn last(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::Relaxed))
    }
}

pub(super) struct Recorder {
    probes: HashMap<ProbeKey, Tracked>,
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
        let mut probes = HashMap::new();
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
                let mut saved = restored.probes.remove(&key).unwrap_or_default();
                let tracked = restore_probe(&key, spec, &mut saved);
                let recent = match &tracked {
                    Tracked::Located(p) => p.recent().to_vec(),
                    Tracked::Single { .. } => saved.transitions.clone(),
                };
                coverage.push((spec.name.clone(), tracked.coverage_end()));
                for (location, log) in tracked.location_logs(&recent) {
                    live.update_location(&channel.id, &spec.name, &location, log);
                }
                probe_logs.insert(spec.name.clone(), recent);
                lasts.extend(saved.last_observations);
                probes.insert(key, tracked);
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
            probes,
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
                _ = tick.tick() => {
                    let now = self.clock.now();
                    self.heartbeat.beat(now);
                    self.expire_silent(now).await;
                }
            }
        }
        tracing::info!("recorder stopped");
    }

    /// Drops the state of probes that are gone (their history stays in the store), follows
    /// changed locations and quorums, and re-derives the affected channels' state.
    async fn reconfigure(&mut self, config: &Config) {
        let now = self.clock.now();
        self.live.reconfigure(config);
        for channel in &config.channels {
            for spec in &channel.probes {
                let key = ProbeKey {
                    channel: channel.id.clone(),
                    probe: spec.name.clone(),
                };
                if let Some((from, transitions)) = follow_spec(&mut self.probes, &key, spec, now) {
                    let tracker = self.trackers.entry(channel.id.clone()).or_default();
                    let update = tracker.replace(&spec.name, from, &transitions);
                    self.store_located(
                        &key,
                        now,
                        LocatedWrite {
                            probe: Some((from, transitions)),
                            ..LocatedWrite::default()
                        },
                        update,
                    )
                    .await;
                }
            }
            let names: Vec<&str> = channel.probes.iter().map(|p| p.name.as_str()).collect();
            self.probes
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
        self.probes
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

    /// Marks silent locations of multi-location probes unknown (rule 10: a location that
    /// stops reporting is never up) and stores what that changes.
    async fn expire_silent(&mut self, now: Timestamp) {
        let mut changes = Vec::new();
        for (key, tracked) in &mut self.probes {
            if let Tracked::Located(probe) = tracked {
                let change = probe.expire(now);
                if !change.is_empty() {
                    changes.push((key.clone(), change, probe.coverage_end()));
                }
            }
        }
        for (key, change, coverage_end) in changes {
            let write = self.located_write(&key, change, None, coverage_end);
            let update = write.probe.as_ref().and_then(|(from, transitions)| {
                self.trackers
                    .get_mut(&key.channel)
                    .and_then(|tracker| tracker.replace(&key.probe, *from, transitions))
            });
            if let Some(tracker) = self.trackers.get_mut(&key.channel) {
                tracker.set_coverage(&key.probe, coverage_end);
            }
            if let Some(update) = &update {
                self.publish(
                    &key.channel,
                    &update.transitions,
                    Some("a location stopped reporting"),
                );
            }
            self.store_located(&key, now, write, update).await;
        }
    }

    /// The store's form of a located change, and the live view's update of the locations.
    fn located_write(
        &self,
        key: &ProbeKey,
        change: LocatedChange,
        checkpoint: Option<(String, String)>,
        coverage_end: Option<Timestamp>,
    ) -> LocatedWrite {
        if let Some(Tracked::Located(probe)) = self.probes.get(key) {
            for (location, _) in &change.locations {
                if let Some(track) = probe.track(location) {
                    self.live.update_location(
                        &key.channel,
                        &key.probe,
                        location,
                        LocationLog {
                            transitions: track.log.clone(),
                            coverage_end: track.machine.coverage_end(),
                        },
                    );
                }
            }
        }
        LocatedWrite {
            checkpoint,
            locations: change
                .locations
                .into_iter()
                .map(|(location, u)| (location, u.from, u.transitions))
                .collect(),
            probe: change.probe.map(|u| (u.from, u.transitions)),
            coverage_end,
        }
    }

    async fn store_located(
        &mut self,
        key: &ProbeKey,
        at: Timestamp,
        write: LocatedWrite,
        channel_update: Option<ChannelUpdate>,
    ) {
        if let Some(tracker) = self.trackers.get(&key.channel) {
            self.live.update(&key.channel, tracker, None);
        }
        let result = self
            .store
            .record_located(
                key.clone(),
                at,
                write,
                channel_update.map(|u| (u.from, u.transitions)),
            )
            .await;
        if let Err(e) = result {
            tracing::error!(probe = %key, error = %e, "location state not stored");
        }
    }

    /// Applies one observation; false if it was already seen (a replay from a prober node)
    /// or its probe does not run at its location (the configuration changed under it).
    async fn handle(&mut self, obs: Observation) -> bool {
        self.heartbeat.beat(self.clock.now());
        let Some(tracked) = self.probes.get_mut(&obs.probe) else {
            tracing::warn!(probe = %obs.probe, location = %obs.location, "observation of a probe no longer configured; dropped");
            return false;
        };
        let input: ObservationInput = (&obs).into();
        let (probe_change, checkpoint, located) = match tracked {
            Tracked::Single { location, machine } => {
                if *location != obs.location {
                    tracing::warn!(probe = %obs.probe, location = %obs.location, "observation from a location the probe does not run at; dropped");
                    return false;
                }
                if machine.last_at().is_some_and(|last| obs.at <= last) {
                    return false;
                }
                let transitions = machine.observe(input);
                let checkpoint = serde_json::to_string(machine).unwrap_or_else(|e| {
                    tracing::error!(probe = %obs.probe, error = %e, "cannot checkpoint state machine");
                    String::new()
                });
                let change = transitions.first().map(|t| (t.at, transitions.clone()));
                (change, checkpoint, None)
            }
            Tracked::Located(probe) => {
                if probe.has_seen(&obs.location, obs.at) {
                    return false;
                }
                let change = probe.observe(&obs.location, input);
                let machine = probe
                    .track(&obs.location)
                    .and_then(|t| serde_json::to_string(&t.machine).ok())
                    .unwrap_or_default();
                let probe_change = change.probe.clone().map(|u| (u.from, u.transitions));
                (probe_change, machine, Some(change))
            }
        };
        let coverage_end = tracked.coverage_end();
        let single_log = matches!(tracked, Tracked::Single { .. });
        self.metrics.observe(&obs);
        let tracker = self.trackers.entry(obs.probe.channel.clone()).or_default();
        let channel_update = probe_change
            .as_ref()
            .and_then(|(from, transitions)| tracker.replace(&obs.probe.probe, *from, transitions));
        tracker.set_coverage(&obs.probe.probe, coverage_end);
        if let Some(update) = &channel_update {
            self.publish(
                &obs.probe.channel,
                &update.transitions,
                obs.reason.as_deref(),
            );
        }
        let tracker = self
            .trackers
            .get(&obs.probe.channel)
            .cloned()
            .unwrap_or_default();
        self.live
            .update(&obs.probe.channel, &tracker, Some(obs.clone()));
        if single_log {
            let recent = tracker.probe_log(&obs.probe.probe).to_vec();
            self.live.update_location(
                &obs.probe.channel,
                &obs.probe.probe,
                &obs.location,
                LocationLog {
                    transitions: recent,
                    coverage_end,
                },
            );
        }
        let located = located.map(|change| {
            self.located_write(
                &obs.probe,
                change,
                Some((obs.location.clone(), checkpoint.clone())),
                coverage_end,
            )
        });
        let record = ObservationRecord {
            probe_transitions: if located.is_none() {
                probe_change.map(|(_, t)| t).unwrap_or_default()
            } else {
                Vec::new()
            },
            checkpoint: if located.is_none() {
                checkpoint
            } else {
                String::new()
            },
            observation: obs,
            channel_update: channel_update.map(|u| (u.from, u.transitions)),
            coverage_end,
            located,
        };
        if let Err(e) = self.store.record(record).await {
            tracing::error!(error = %e, "observation not stored");
        }
        true
    }
}
