//! Timelines: sorted transitions, and the functions that build, combine and read them.
//!
//! Before its first transition every timeline is unknown.

use super::machine::{ObservationInput, ProbeMachine};
use crate::domain::{State, Timestamp, Transition};

/// A probe's timeline from its observations (in time order) up to `until`: the machine's
/// transitions, then unknown from the latest observation's coverage end if that is before
/// `until` (monitoring stopped, or the prober stalled).
pub fn probe_timeline(
    observations: impl IntoIterator<Item = ObservationInput>,
    until: Timestamp,
) -> Vec<Transition> {
    let mut machine = ProbeMachine::new();
    let mut out = Vec::new();
    for obs in observations {
        out.extend(machine.observe(obs));
    }
    if let Some(end) = machine.coverage_end() {
        if end < until && machine.state() != State::Unknown {
            out.push(Transition {
                at: end,
                state: State::Unknown,
            });
        }
    }
    out
}

/// The state of a timeline at `t`.
pub fn state_at(timeline: &[Transition], t: Timestamp) -> State {
    let after = timeline.partition_point(|tr| tr.at <= t);
    match after {
        0 => State::Unknown,
        n => timeline[n - 1].state,
    }
}

/// Combines probe timelines into a channel timeline: at each instant the worst known state
/// (down > partial > degraded > up), unknown only where every timeline is unknown (rule 4).
pub fn combine_worst(timelines: &[&[Transition]]) -> Vec<Transition> {
    combine_with(timelines, |states| {
        states
            .iter()
            .copied()
            .max_by_key(|s| s.severity())
            .unwrap_or(State::Unknown)
    })
}

/// One timeline from several: `rule` gives the state at every instant where any of them
/// changes, from their states at that instant (rule 4 across probes, rule 10 across locations).
pub(super) fn combine_with(
    timelines: &[&[Transition]],
    rule: impl Fn(&[State]) -> State,
) -> Vec<Transition> {
    let mut instants: Vec<Timestamp> = timelines
        .iter()
        .flat_map(|tl| tl.iter().map(|tr| tr.at))
        .collect();
    instants.sort_unstable();
    instants.dedup();

    let mut out: Vec<Transition> = Vec::new();
    let mut current = State::Unknown;
    let mut states = Vec::with_capacity(timelines.len());
    for at in instants {
        states.clear();
        states.extend(timelines.iter().map(|tl| state_at(tl, at)));
        let state = rule(&states);
        if state != current {
            out.push(Transition { at, state });
            current = state;
        }
    }
    out
}

/// A stretch of time `[start, end)` in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub start: Timestamp,
    pub end: Timestamp,
    pub state: State,
}

/// The timeline cut into segments covering exactly `[from, to)`; empty if `to <= from`.
pub fn segments(timeline: &[Transition], from: Timestamp, to: Timestamp) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    if to <= from {
        return out;
    }
    let mut start = from;
    let mut state = state_at(timeline, from);
    for tr in timeline.iter().filter(|tr| tr.at > from && tr.at < to) {
        if tr.state != state {
            out.push(Segment {
                start,
                end: tr.at,
                state,
            });
            start = tr.at;
            state = tr.state;
        }
    }
    out.push(Segment {
        start,
        end: to,
        state,
    });
    out
}
