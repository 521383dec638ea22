//! Live channel state from its probes' transitions, for the prober.
//!
//! The channel timeline is always [`combine_worst`] of the probe timelines; this tracker only
//! keeps the recent part of each in memory and says which stored channel transitions change.

use super::timeline::{combine_worst, state_at};
use crate::domain::{State, Timestamp, Transition};
use std::collections::BTreeMap;

/// Rule 4 at `now` over recent timelines, each unknown from its coverage end once that has
/// passed (as [`probe_timeline`](super::probe_timeline) adds for history): the state and since
/// when. `None` while nothing is known yet. Used for a channel, and for a channel as one
/// location sees it.
pub fn current_worst(
    logs: &[(&[Transition], Option<Timestamp>)],
    now: Timestamp,
) -> Option<Transition> {
    let extended: Vec<Vec<Transition>> = logs
        .iter()
        .map(|(log, coverage_end)| {
            let mut log = log.to_vec();
            if let Some(end) = *coverage_end {
                let known = log.last().is_some_and(|t| t.state != State::Unknown);
                if end <= now && known && log.last().is_some_and(|t| t.at < end) {
                    log.push(Transition {
                        at: end,
                        state: State::Unknown,
                    });
                }
            }
            log
        })
        .collect();
    let logs: Vec<&[Transition]> = extended.iter().map(Vec::as_slice).collect();
    let merged = combine_worst(&logs);
    let upto = merged.partition_point(|t| t.at <= now);
    upto.checked_sub(1).map(|i| merged[i])
}

/// Recent transitions kept per probe and per channel. A confirmation reaches back at most one
/// run (threshold x interval), far fewer transitions than this.
const KEEP: usize = 64;

/// A change to a channel's stored timeline: drop its transitions at or after `from`, then
/// append `transitions` (all at or after `from`). A confirmation is retroactive, so a probe
/// confirming late can rewrite the channel's most recent transitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelUpdate {
    pub from: Timestamp,
    pub transitions: Vec<Transition>,
}

/// The live timeline of one channel and the recent timelines of its probes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelTracker {
    probes: BTreeMap<String, Vec<Transition>>,
    /// End of each probe's latest coverage; past it the probe is unknown.
    coverage: BTreeMap<String, Timestamp>,
    channel: Vec<Transition>,
}

impl ChannelTracker {
    /// A tracker continuing from stored recent transitions (each list in time order).
    pub fn restore(probes: BTreeMap<String, Vec<Transition>>, channel: Vec<Transition>) -> Self {
        ChannelTracker {
            probes,
            coverage: BTreeMap::new(),
            channel,
        }
    }

    /// Notes where a probe's latest observation stops covering (from its machine).
    pub fn set_coverage(&mut self, probe: &str, coverage_end: Option<Timestamp>) {
        match coverage_end {
            Some(end) => self.coverage.insert(probe.to_owned(), end),
            None => self.coverage.remove(probe),
        };
    }

    /// The channel's state at `now` and since when: the stored timeline, plus unknown for
    /// every probe whose coverage ended by `now` (as [`probe_timeline`](super::probe_timeline)
    /// adds for history). `None` while nothing is known yet.
    pub fn current(&self, now: Timestamp) -> Option<Transition> {
        let logs: Vec<(&[Transition], Option<Timestamp>)> = self
            .probes
            .iter()
            .map(|(name, log)| (log.as_slice(), self.coverage.get(name).copied()))
            .collect();
        current_worst(&logs, now)
    }

    /// The channel's latest transition, if it ever had one.
    pub fn latest(&self) -> Option<Transition> {
        self.channel.last().copied()
    }

    /// The recent timeline kept of one probe.
    pub fn probe_log(&self, probe: &str) -> &[Transition] {
        self.probes.get(probe).map_or(&[], Vec::as_slice)
    }

    /// The latest transition of one probe.
    pub fn probe_latest(&self, probe: &str) -> Option<Transition> {
        self.probes.get(probe).and_then(|tl| tl.last().copied())
    }

    /// Records a probe's new transitions (in time order, none before its previous ones) and
    /// returns the change to the channel's timeline, if any.
    pub fn apply(&mut self, probe: &str, transitions: &[Transition]) -> Option<ChannelUpdate> {
        let from = transitions.first()?.at;
        self.replace(probe, from, transitions)
    }

    /// Replaces a probe's transitions at or after `from` with `transitions` (a multi-location
    /// probe's quorum timeline rewritten by a late location) and returns the change to the
    /// channel's timeline, if any.
    pub fn replace(
        &mut self,
        probe: &str,
        from: Timestamp,
        transitions: &[Transition],
    ) -> Option<ChannelUpdate> {
        let log = self.probes.entry(probe.to_owned()).or_default();
        let keep = log.partition_point(|t| t.at < from);
        log.truncate(keep);
        log.extend_from_slice(transitions);
        trim(log);

        let logs: Vec<&[Transition]> = self.probes.values().map(Vec::as_slice).collect();
        let merged = combine_worst(&logs);
        let keep = self.channel.partition_point(|t| t.at < from);
        // The kept head may already end in the state the new tail starts with (after trimming);
        // that is no transition.
        let before = state_at(&self.channel[..keep], from);
        let new_tail: Vec<Transition> = merged
            .into_iter()
            .filter(|t| t.at >= from)
            .skip_while(|t| t.state == before)
            .collect();
        if self.channel[keep..] == new_tail[..] {
            return None;
        }
        self.channel.truncate(keep);
        self.channel.extend_from_slice(&new_tail);
        trim(&mut self.channel);
        Some(ChannelUpdate {
            from,
            transitions: new_tail,
        })
    }

    /// Forgets probes not in `keep` (removed from the configuration) and returns the change
    /// this makes to the channel's timeline from `now` on, if any.
    pub fn retain_probes(&mut self, keep: &[&str], now: Timestamp) -> Option<ChannelUpdate> {
        let before = self.probes.len();
        self.probes.retain(|name, _| keep.contains(&name.as_str()));
        self.coverage
            .retain(|name, _| keep.contains(&name.as_str()));
        if self.probes.len() == before {
            return None;
        }
        let logs: Vec<&[Transition]> = self.probes.values().map(Vec::as_slice).collect();
        let now_state = state_at(&combine_worst(&logs), now);
        if now_state == state_at(&self.channel, now) {
            return None;
        }
        let change = Transition {
            at: now,
            state: now_state,
        };
        let keep_upto = self.channel.partition_point(|t| t.at < now);
        self.channel.truncate(keep_upto);
        self.channel.push(change);
        Some(ChannelUpdate {
            from: now,
            transitions: vec![change],
        })
    }

    /// The channel's confirmed state as of its latest transition.
    pub fn state(&self) -> State {
        self.channel.last().map_or(State::Unknown, |t| t.state)
    }
}

fn trim(log: &mut Vec<Transition>) {
    if log.len() > KEEP {
        log.drain(..log.len() - KEEP);
    }
}
