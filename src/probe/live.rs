//! The live view: what the status page and `/api/v1/status` show, kept in memory and
//! updated by the recorder after every observation.

use crate::domain::{Channel, Config, Observation, Outcome, State, Timestamp, Transition};
use crate::sla::{current_worst, ChannelTracker};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// A channel as the public sees it at an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelStatus {
    pub id: String,
    pub name: String,
    pub group: String,
    pub group_id: String,
    pub in_commitment: bool,
    /// Number of probes; zero for a declared-only component.
    pub probes: usize,
    pub state: State,
    /// When the current state began, if known.
    pub since: Option<Timestamp>,
    pub last_checked_at: Option<Timestamp>,
    pub response_time_ms: Option<u32>,
    /// Why the latest failing check failed, while the channel is not up.
    pub reason: Option<String>,
    /// The channel as each of its probes' locations sees it (rule 4 over that location's
    /// timelines), in configuration order of the locations.
    pub locations: Vec<LocationStatus>,
}

/// A channel as one location sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationStatus {
    /// The location's id (`Config::locations`).
    pub id: String,
    pub state: State,
    pub since: Option<Timestamp>,
    /// Why that location's latest failing check failed, while it does not see the channel up.
    pub reason: Option<String>,
    pub last_checked_at: Option<Timestamp>,
}

/// One probe's recent timeline at one location, and where its coverage ends.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct LocationLog {
    pub transitions: Vec<Transition>,
    pub coverage_end: Option<Timestamp>,
}

/// Shared, cheap-to-clone handle to the live state of every configured channel.
#[derive(Clone)]
pub struct LiveView {
    inner: Arc<RwLock<Inner>>,
}

struct Inner {
    channels: Vec<ChannelLive>,
    index: HashMap<String, usize>,
}

struct ChannelLive {
    channel: Channel,
    tracker: ChannelTracker,
    /// Latest observation of each probe at each location: (probe, location).
    last: BTreeMap<(String, String), Observation>,
    /// Each probe's timeline at each location: (probe, location).
    located: BTreeMap<(String, String), LocationLog>,
    /// The order of locations to list (the configuration's).
    location_order: Vec<String>,
}

impl LiveView {
    pub fn new(config: &Config) -> LiveView {
        let channels: Vec<ChannelLive> = config
            .channels
            .iter()
            .map(|c| ChannelLive::new(c, config))
            .collect();
        let index = channels
            .iter()
            .enumerate()
            .map(|(i, c)| (c.channel.id.clone(), i))
            .collect();
        LiveView {
            inner: Arc::new(RwLock::new(Inner { channels, index })),
        }
    }

    /// Follows a new configuration: keeps the live state of channels that remain, adds new
    /// ones as unknown, drops the rest, takes names, groups and order from `config`.
    pub(super) fn reconfigure(&self, config: &Config) {
        let mut inner = match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut old: HashMap<String, ChannelLive> = inner
            .channels
            .drain(..)
            .map(|c| (c.channel.id.clone(), c))
            .collect();
        inner.channels = config
            .channels
            .iter()
            .map(|c| {
                let mut live = old
                    .remove(&c.id)
                    .unwrap_or_else(|| ChannelLive::new(c, config));
                live.channel = c.clone();
                live.location_order = config.locations.iter().map(|l| l.id.clone()).collect();
                let runs_at = |(probe, location): &(String, String)| {
                    c.probes
                        .iter()
                        .any(|p| &p.name == probe && p.locations.contains(location))
                };
                live.last.retain(|key, _| runs_at(key));
                live.located.retain(|key, _| runs_at(key));
                live
            })
            .collect();
        inner.index = inner
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| (c.channel.id.clone(), i))
            .collect();
    }

    pub(super) fn update(&self, channel: &str, tracker: &ChannelTracker, obs: Option<Observation>) {
        let mut inner = match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Some(&i) = inner.index.get(channel) else {
            return;
        };
        let live = &mut inner.channels[i];
        live.tracker = tracker.clone();
        if let Some(obs) = obs {
            live.last
                .insert((obs.probe.probe.clone(), obs.location.clone()), obs);
        }
    }

    /// One probe's timeline at one location changed (or its coverage moved).
    pub(super) fn update_location(
        &self,
        channel: &str,
        probe: &str,
        location: &str,
        log: LocationLog,
    ) {
        let mut inner = match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Some(&i) = inner.index.get(channel) else {
            return;
        };
        inner.channels[i]
            .located
            .insert((probe.to_owned(), location.to_owned()), log);
    }

    /// Forgets everything: every channel of `config` unknown, as at a first start (before a
    /// recorder restores this view from the store).
    pub(super) fn reset(&self, config: &Config) {
        let fresh = LiveView::new(config);
        self.take_from(&fresh);
    }

    /// Takes `other`'s whole state (a view rebuilt elsewhere), in one step for readers.
    pub(super) fn take_from(&self, other: &LiveView) {
        let mut theirs = match other.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut ours = match self.inner.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::swap(&mut *ours, &mut *theirs);
    }

    /// Every channel's status at `now`, in configuration order.
    pub fn statuses(&self, now: Timestamp) -> Vec<ChannelStatus> {
        let inner = match self.inner.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        inner.channels.iter().map(|c| c.status(now)).collect()
    }
}

impl ChannelLive {
    fn new(channel: &Channel, config: &Config) -> ChannelLive {
        ChannelLive {
            channel: channel.clone(),
            tracker: ChannelTracker::default(),
            last: BTreeMap::new(),
            located: BTreeMap::new(),
            location_order: config.locations.iter().map(|l| l.id.clone()).collect(),
        }
    }

    /// Rule 4 per location, over the probes that run there.
    fn location_statuses(&self, now: Timestamp) -> Vec<LocationStatus> {
        let mut ids: Vec<&String> = self
            .channel
            .probes
            .iter()
            .flat_map(|p| p.locations.iter())
            .collect();
        ids.sort_by_key(|id| self.location_order.iter().position(|l| l == *id));
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let logs: Vec<(&[Transition], Option<Timestamp>)> = self
                    .located
                    .iter()
                    .filter(|((_, location), _)| location == id)
                    .map(|(_, log)| (log.transitions.as_slice(), log.coverage_end))
                    .collect();
                let current = current_worst(&logs, now);
                let state = current.map_or(State::Unknown, |t| t.state);
                let seen = || {
                    self.last
                        .iter()
                        .filter(|((_, l), _)| l == id)
                        .map(|(_, o)| o)
                };
                let failure = seen()
                    .filter(|o| o.outcome != Outcome::Up)
                    .max_by_key(|o| o.at);
                LocationStatus {
                    id: id.clone(),
                    state,
                    since: current.map(|t| t.at),
                    reason: if state == State::Up {
                        None
                    } else {
                        failure.and_then(|o| o.reason.clone())
                    },
                    last_checked_at: seen().map(|o| o.at).max(),
                }
            })
            .collect()
    }

    fn status(&self, now: Timestamp) -> ChannelStatus {
        let current = self.tracker.current(now);
        let state = current.map_or(State::Unknown, |t| t.state);
        let latest = self.last.values().max_by_key(|o| o.at);
        let latest_failure = self
            .last
            .values()
            .filter(|o| o.outcome != Outcome::Up)
            .max_by_key(|o| o.at);
        ChannelStatus {
            id: self.channel.id.clone(),
            name: self.channel.name.clone(),
            group: self.channel.group.clone(),
            group_id: self.channel.group_id(),
            in_commitment: self.channel.in_commitment,
            probes: self.channel.probes.len(),
            state,
            since: current.map(|t| t.at),
            last_checked_at: latest.map(|o| o.at),
            response_time_ms: latest.and_then(|o| o.response_ms),
            reason: if state == State::Up {
                None
            } else {
                latest_failure.and_then(|o| o.reason.clone())
            },
            locations: self.location_statuses(now),
        }
    }
}
