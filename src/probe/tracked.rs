//! What the recorder keeps of each probe, restored from the store and kept in step with the
//! configuration: one state machine, or one per location and the quorum over them.

use super::live::LocationLog;
use crate::domain::{ProbeKey, ProbeSpec, State, Timestamp, Transition};
use crate::sla::{LocatedProbe, LocationTrack, ProbeMachine};
use crate::store::ProbeRestore;
use std::collections::{BTreeMap, HashMap};

/// What the recorder keeps of one probe: one state machine, or one per location and the
/// quorum over them (sla-rules section 3 rule 10).
pub(super) enum Tracked {
    Single {
        location: String,
        machine: ProbeMachine,
    },
    Located(LocatedProbe),
}

/// A probe's state as restored: from its own checkpoint, or per location.
pub(super) fn restore_probe(key: &ProbeKey, spec: &ProbeSpec, saved: &mut ProbeRestore) -> Tracked {
    let parse = |json: Option<&String>| {
        json.filter(|j| !j.is_empty())
            .and_then(|json| match serde_json::from_str::<ProbeMachine>(json) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(probe = %key, error = %e, "unreadable checkpoint; starting unknown");
                    None
                }
            })
    };
    if !spec.is_multi_location() {
        let location = spec.locations[0].clone();
        // A probe that ran from several places before keeps its location's machine.
        let machine = parse(saved.checkpoint.as_ref())
            .or_else(|| {
                parse(
                    saved
                        .locations
                        .get(&location)
                        .and_then(|l| l.checkpoint.as_ref()),
                )
            })
            .unwrap_or_default();
        return Tracked::Single { location, machine };
    }
    let mut tracks = BTreeMap::new();
    for location in &spec.locations {
        let stored = saved.locations.remove(location).unwrap_or_default();
        let machine = parse(stored.checkpoint.as_ref()).unwrap_or_default();
        // A silence is stored as unknown at the machine's coverage end.
        let silent_since = stored
            .transitions
            .last()
            .filter(|t| t.state == State::Unknown && Some(t.at) == machine.coverage_end())
            .map(|t| t.at);
        if machine.coverage_end().is_some() || !stored.transitions.is_empty() {
            tracks.insert(
                location.clone(),
                LocationTrack {
                    machine,
                    log: stored.transitions,
                    silent_since,
                },
            );
        }
    }
    Tracked::Located(LocatedProbe::restore(
        spec.quorum,
        tracks,
        std::mem::take(&mut saved.transitions),
    ))
}

impl Tracked {
    pub(super) fn coverage_end(&self) -> Option<Timestamp> {
        match self {
            Tracked::Single { machine, .. } => machine.coverage_end(),
            Tracked::Located(probe) => probe.coverage_end(),
        }
    }

    /// Each location's timeline, for the live view.
    pub(super) fn location_logs(&self, recent: &[Transition]) -> Vec<(String, LocationLog)> {
        match self {
            Tracked::Single { location, machine } => vec![(
                location.clone(),
                LocationLog {
                    transitions: recent.to_vec(),
                    coverage_end: machine.coverage_end(),
                },
            )],
            Tracked::Located(probe) => probe
                .tracks()
                .map(|(id, track)| {
                    (
                        id.clone(),
                        LocationLog {
                            transitions: track.log.clone(),
                            coverage_end: track.machine.coverage_end(),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// Makes a probe's tracked state match its (new) locations and quorum; returns the
/// change to its timeline from now on, if the rule's change changes its state.
pub(super) fn follow_spec(
    probes: &mut HashMap<ProbeKey, Tracked>,
    key: &ProbeKey,
    spec: &ProbeSpec,
    now: Timestamp,
) -> Option<(Timestamp, Vec<Transition>)> {
    let tracked = probes.remove(key);
    let (next, change) = match (tracked, spec.is_multi_location()) {
        (None, false) => (
            Tracked::Single {
                location: spec.locations[0].clone(),
                machine: ProbeMachine::default(),
            },
            None,
        ),
        (None, true) => (
            Tracked::Located(LocatedProbe::restore(
                spec.quorum,
                BTreeMap::new(),
                Vec::new(),
            )),
            None,
        ),
        (Some(Tracked::Single { location, machine }), false) => {
            // Moved to another single location: that place starts from unknown.
            let machine = if location == spec.locations[0] {
                machine
            } else {
                ProbeMachine::default()
            };
            (
                Tracked::Single {
                    location: spec.locations[0].clone(),
                    machine,
                },
                None,
            )
        }
        (Some(Tracked::Single { location, machine }), true) => {
            // Its one location carries on as one of the quorum.
            let mut tracks = BTreeMap::new();
            if spec.locations.contains(&location) {
                tracks.insert(
                    location,
                    LocationTrack {
                        machine,
                        log: Vec::new(),
                        silent_since: None,
                    },
                );
            }
            let mut probe = LocatedProbe::restore(spec.quorum, tracks, Vec::new());
            let change = probe.set_quorum(spec.quorum, now);
            (Tracked::Located(probe), change)
        }
        (Some(Tracked::Located(probe)), false) => {
            let location = spec.locations[0].clone();
            let machine = probe
                .track(&location)
                .map(|t| t.machine.clone())
                .unwrap_or_default();
            (Tracked::Single { location, machine }, None)
        }
        (Some(Tracked::Located(mut probe)), true) => {
            let a = probe.retain_locations(&spec.locations, now);
            let b = probe.set_quorum(spec.quorum, now);
            (Tracked::Located(probe), b.or(a))
        }
    };
    probes.insert(key.clone(), next);
    change.map(|c| (c.from, c.transitions))
}
