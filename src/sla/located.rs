//! A probe run from several locations, live (sla-rules section 3 rule 10): one state machine
//! and recent timeline per location, and the probe's timeline derived from them by
//! [`combine_quorum`], the one place rule 10 lives.
//!
//! Locations report late (a prober's spool after a link cut), so a location's observation can
//! rewrite the probe's recent past: every change is "replace from this instant", the way a late
//! confirmation rewrites a channel's timeline in [`super::ChannelTracker`].

use super::channel::ChannelUpdate;
use super::machine::{ObservationInput, ProbeMachine};
use super::quorum::combine_quorum;
use super::timeline::state_at;
use crate::domain::{State, Timestamp, Transition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Recent transitions kept per location and for the probe (as [`super::ChannelTracker`]).
const KEEP: usize = 64;

/// One location's part of a probe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationTrack {
    pub machine: ProbeMachine,
    /// Recent transitions, oldest first.
    pub log: Vec<Transition>,
    /// Set when the location went silent: its log ends with unknown at this instant (its
    /// coverage end). Provisional: a late observation that continues the coverage (a spool
    /// arriving) takes it back.
    pub silent_since: Option<Timestamp>,
}

/// What one observation or a silence check changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocatedChange {
    /// Per location: replace its transitions at or after `from` with these.
    pub locations: Vec<(String, ChannelUpdate)>,
    /// The probe's (quorum) timeline: replace at or after `from` with these.
    pub probe: Option<ChannelUpdate>,
}

impl LocatedChange {
    pub fn is_empty(&self) -> bool {
        self.locations.is_empty() && self.probe.is_none()
    }
}

/// The live state of a multi-location probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocatedProbe {
    quorum: usize,
    locations: BTreeMap<String, LocationTrack>,
    probe: Vec<Transition>,
}

impl LocatedProbe {
    /// Continues from stored tracks and the probe's recent (quorum) transitions.
    pub fn restore(
        quorum: usize,
        locations: BTreeMap<String, LocationTrack>,
        probe: Vec<Transition>,
    ) -> LocatedProbe {
        LocatedProbe {
            quorum,
            locations,
            probe,
        }
    }

    /// A new quorum from a reloaded configuration applies from now on.
    pub fn set_quorum(&mut self, quorum: usize, now: Timestamp) -> Option<ChannelUpdate> {
        if quorum == self.quorum {
            return None;
        }
        self.quorum = quorum;
        self.rederive_at(now)
    }

    /// Forgets locations not in `keep` (removed from the probe) from now on.
    pub fn retain_locations(&mut self, keep: &[String], now: Timestamp) -> Option<ChannelUpdate> {
        let before = self.locations.len();
        self.locations.retain(|id, _| keep.contains(id));
        if self.locations.len() == before {
            return None;
        }
        self.rederive_at(now)
    }

    pub fn quorum(&self) -> usize {
        self.quorum
    }

    pub fn track(&self, location: &str) -> Option<&LocationTrack> {
        self.locations.get(location)
    }

    pub fn tracks(&self) -> impl Iterator<Item = (&String, &LocationTrack)> {
        self.locations.iter()
    }

    /// The probe's recent (quorum) timeline.
    pub fn recent(&self) -> &[Transition] {
        &self.probe
    }

    /// The probe's latest (quorum) transition.
    pub fn latest(&self) -> Option<Transition> {
        self.probe.last().copied()
    }

    /// Whether `location` has already seen a run starting at `at` or later (a replayed
    /// observation, which adds nothing).
    pub fn has_seen(&self, location: &str, at: Timestamp) -> bool {
        self.locations
            .get(location)
            .and_then(|t| t.machine.last_at())
            .is_some_and(|last| at <= last)
    }

    /// The instant from which fewer than `quorum` locations are covered by an observation:
    /// past it the probe is unknown until more arrive.
    pub fn coverage_end(&self) -> Option<Timestamp> {
        let mut ends: Vec<Timestamp> = self
            .locations
            .values()
            .filter_map(|t| t.machine.coverage_end())
            .collect();
        ends.sort_unstable_by(|a, b| b.cmp(a));
        ends.get(self.quorum.max(1) - 1).copied()
    }

    /// Feeds one location's next observation to its machine.
    pub fn observe(&mut self, location: &str, input: ObservationInput) -> LocatedChange {
        let track = self.locations.entry(location.to_owned()).or_default();
        let mut from: Option<Timestamp> = None;
        if let Some(silent) = track.silent_since {
            // The machine's coverage end is where the silence was dated; an observation at or
            // before it continues the coverage, so the silence was only a late arrival.
            let continues = track
                .machine
                .coverage_end()
                .is_some_and(|end| input.at <= end)
                && track.machine.last_at().is_some_and(|last| input.at > last);
            if continues {
                if track
                    .log
                    .last()
                    .is_some_and(|t| t.at == silent && t.state == State::Unknown)
                {
                    track.log.pop();
                }
                from = Some(silent);
                track.silent_since = None;
            } else if input.outcome != crate::domain::Outcome::Unknown
                && track.machine.last_at().is_none_or(|last| input.at > last)
            {
                // A new run after the gap: the machine dates the gap where the silence was.
                track.silent_since = None;
            }
        }
        for t in track.machine.observe(input) {
            if track.log.last().map(|l| l.state) == Some(t.state) {
                continue;
            }
            from = Some(from.map_or(t.at, |f| f.min(t.at)));
            track.log.push(t);
        }
        trim(&mut track.log);
        let Some(from) = from else {
            return LocatedChange::default();
        };
        self.change_from(vec![location.to_owned()], from)
    }

    /// Marks every location whose coverage ended by `now` unknown from its coverage end (a
    /// location that stops reporting is never up), and rederives the probe.
    pub fn expire(&mut self, now: Timestamp) -> LocatedChange {
        let mut changed = Vec::new();
        let mut from: Option<Timestamp> = None;
        for (id, track) in &mut self.locations {
            if track.silent_since.is_some() {
                continue;
            }
            let Some(end) = track.machine.coverage_end() else {
                continue;
            };
            let known = track.log.last().is_some_and(|t| t.state != State::Unknown);
            if end <= now && known {
                track.log.push(Transition {
                    at: end,
                    state: State::Unknown,
                });
                trim(&mut track.log);
                track.silent_since = Some(end);
                from = Some(from.map_or(end, |f| f.min(end)));
                changed.push(id.clone());
            }
        }
        match from {
            Some(from) => self.change_from(changed, from),
            None => LocatedChange::default(),
        }
    }

    fn change_from(&mut self, locations: Vec<String>, from: Timestamp) -> LocatedChange {
        let locations = locations
            .into_iter()
            .filter_map(|id| {
                let track = self.locations.get(&id)?;
                let start = track.log.partition_point(|t| t.at < from);
                Some((
                    id,
                    ChannelUpdate {
                        from,
                        transitions: track.log[start..].to_vec(),
                    },
                ))
            })
            .collect();
        LocatedChange {
            locations,
            probe: self.rederive_from(from),
        }
    }

    /// The probe's timeline from `from` on, by rule 10, and the change to the kept one.
    fn rederive_from(&mut self, from: Timestamp) -> Option<ChannelUpdate> {
        let logs: Vec<&[Transition]> = self.locations.values().map(|t| t.log.as_slice()).collect();
        let merged = combine_quorum(&logs, self.quorum);
        let keep = self.probe.partition_point(|t| t.at < from);
        let before = state_at(&self.probe[..keep], from);
        let new_tail: Vec<Transition> = merged
            .into_iter()
            .filter(|t| t.at >= from)
            .skip_while(|t| t.state == before)
            .collect();
        if self.probe[keep..] == new_tail[..] {
            return None;
        }
        self.probe.truncate(keep);
        self.probe.extend_from_slice(&new_tail);
        trim(&mut self.probe);
        Some(ChannelUpdate {
            from,
            transitions: new_tail,
        })
    }

    /// After a change of the rule itself (quorum, locations): the state from `now` on.
    fn rederive_at(&mut self, now: Timestamp) -> Option<ChannelUpdate> {
        let logs: Vec<&[Transition]> = self.locations.values().map(|t| t.log.as_slice()).collect();
        let state = state_at(&combine_quorum(&logs, self.quorum), now);
        if state == state_at(&self.probe, now) {
            return None;
        }
        let change = Transition { at: now, state };
        let keep = self.probe.partition_point(|t| t.at < now);
        self.probe.truncate(keep);
        self.probe.push(change);
        Some(ChannelUpdate {
            from: now,
            transitions: vec![change],
        })
    }
}

/// A multi-location probe's whole history from each location's observations (in time order):
/// what the recorder would have derived live, for an import. Each location's timeline is its
/// machine's, plus unknown from its coverage end where it stopped before the latest location
/// did (a location that stops reporting is never up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocatedHistory {
    pub locations: BTreeMap<String, LocationTrack>,
    pub probe: Vec<Transition>,
    pub coverage_end: Option<Timestamp>,
}

pub fn located_history(
    observations: &BTreeMap<String, Vec<ObservationInput>>,
    quorum: usize,
) -> LocatedHistory {
    let mut locations: BTreeMap<String, LocationTrack> = BTreeMap::new();
    for (location, inputs) in observations {
        let mut track = LocationTrack::default();
        for input in inputs {
            for t in track.machine.observe(*input) {
                if track.log.last().map(|l| l.state) != Some(t.state) {
                    track.log.push(t);
                }
            }
        }
        locations.insert(location.clone(), track);
    }
    let latest = locations
        .values()
        .filter_map(|t| t.machine.coverage_end())
        .max();
    for track in locations.values_mut() {
        if let (Some(end), Some(latest)) = (track.machine.coverage_end(), latest) {
            if end < latest && track.log.last().is_some_and(|t| t.state != State::Unknown) {
                track.log.push(Transition {
                    at: end,
                    state: State::Unknown,
                });
                track.silent_since = Some(end);
            }
        }
    }
    let logs: Vec<&[Transition]> = locations.values().map(|t| t.log.as_slice()).collect();
    let probe = combine_quorum(&logs, quorum);
    let whole = LocatedProbe {
        quorum,
        locations,
        probe,
    };
    LocatedHistory {
        coverage_end: whole.coverage_end(),
        locations: whole.locations,
        probe: whole.probe,
    }
}

fn trim(log: &mut Vec<Transition>) {
    if log.len() > KEEP {
        log.drain(..log.len() - KEEP);
    }
}

#[cfg(test)]
#[path = "located_tests.rs"]
mod tests;
