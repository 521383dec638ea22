//! What goes on top of measurement: operator declarations and maintenance windows on one
//! channel (sla-rules section 3 rules 5 and 6), and the overall "support services" timeline
//! across channels (rule 9).
//!
//! Both are evaluated the same way: every input is piecewise constant, so the result can only
//! change at an instant where some input changes. We evaluate the rule at each such instant and
//! keep the changes, which gives a timeline without repeated consecutive states.

use super::timeline::state_at;
use crate::domain::{State, Timestamp, Transition};

/// An operator-declared impact on a channel (rule 5), taken from public incident updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declaration {
    /// `published_at` of the update that set the impact.
    pub from: Timestamp,
    /// `published_at` of the next update that changed the impact or resolved the incident;
    /// `None` while it still holds. The declaration holds over `[from, to)`.
    pub to: Option<Timestamp>,
    /// [`State::Degraded`], [`State::Partial`] or [`State::Down`] (degraded_performance,
    /// partial_outage, major_outage). Other states declare no impact and are ignored: an
    /// "operational" update ends a declaration rather than declaring one, and maintenance is
    /// a [`Window`], not a declaration.
    pub state: State,
}

/// A maintenance window affecting a channel, in progress over `[from, to)` (rule 6); `to` is
/// `None` while it has not ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

/// Whether a half-open interval `[from, to)`, open-ended when `to` is `None`, holds at `t`.
fn holds(from: Timestamp, to: Option<Timestamp>, t: Timestamp) -> bool {
    from <= t && to.is_none_or(|to| t < to)
}

/// The states an operator can declare (rule 5).
fn is_impact(state: State) -> bool {
    matches!(state, State::Degraded | State::Partial | State::Down)
}

/// The worse of two states by [`State::severity`].
fn worse(a: State, b: State) -> State {
    if b.severity() > a.severity() {
        b
    } else {
        a
    }
}

/// A channel's timeline from its measured timeline (probes combined by
/// [`combine_worst`](super::combine_worst)), its declarations and its maintenance windows.
///
/// Rule 5: while declarations hold, the state is the worst of them and the measured state.
/// A declaration is an observation too, so where nothing was measured (unknown) the declared
/// state applies and that time counts as covered; this is how a channel with no probe gets
/// its state. Rule 6: while a maintenance window holds, the state is maintenance whatever
/// was measured or declared.
pub fn channel_timeline(
    measured: &[Transition],
    declarations: &[Declaration],
    maintenance: &[Window],
) -> Vec<Transition> {
    let impacts: Vec<&Declaration> = declarations.iter().filter(|d| is_impact(d.state)).collect();
    let instants = measured
        .iter()
        .map(|tr| tr.at)
        .chain(
            impacts
                .iter()
                .flat_map(|d| std::iter::once(d.from).chain(d.to)),
        )
        .chain(
            maintenance
                .iter()
                .flat_map(|w| std::iter::once(w.from).chain(w.to)),
        );
    sweep(instants, |t| {
        if maintenance.iter().any(|w| holds(w.from, w.to, t)) {
            return State::Maintenance;
        }
        impacts
            .iter()
            .filter(|d| holds(d.from, d.to, t))
            .map(|d| d.state)
            .fold(state_at(measured, t), worse)
    })
}

/// The overall "support services" timeline (rule 9) from the timelines of the channels in
/// the commitment; the caller leaves out the others (`in_commitment = false`).
///
/// At each instant it is [`overall_state`] of the channels' states there.
pub fn overall_timeline(channels: &[&[Transition]]) -> Vec<Transition> {
    let instants = channels.iter().flat_map(|tl| tl.iter().map(|tr| tr.at));
    sweep(instants, |t| {
        overall_state(channels.iter().map(|tl| state_at(tl, t)))
    })
}

/// The overall state from the in-commitment channels' states at one instant (rule 9).
///
/// Unknown channels are left out: an unmeasured channel says nothing about the service.
/// Of the rest, maintenance if all are in maintenance; down if all are down or in
/// maintenance (at least one down); partial if any is down, partial or in maintenance (the
/// service is still reachable through another channel, but not fully); degraded if any is
/// degraded; up otherwise. Unknown if every channel is unknown, or there are none.
pub fn overall_state(states: impl IntoIterator<Item = State>) -> State {
    let known: Vec<State> = states
        .into_iter()
        .filter(|s| *s != State::Unknown)
        .collect();
    let all = |pred: fn(State) -> bool| known.iter().all(|s| pred(*s));
    let any = |pred: fn(State) -> bool| known.iter().any(|s| pred(*s));
    if known.is_empty() {
        State::Unknown
    } else if all(|s| s == State::Maintenance) {
        State::Maintenance
    } else if all(|s| matches!(s, State::Down | State::Maintenance)) {
        // Not all in maintenance, so at least one is down.
        State::Down
    } else if any(|s| matches!(s, State::Down | State::Partial | State::Maintenance)) {
        State::Partial
    } else if any(|s| s == State::Degraded) {
        State::Degraded
    } else {
        State::Up
    }
}

/// Evaluates `state_at` at each of `instants` in time order and keeps the changes.
///
/// Every input of `state_at` must be constant between consecutive instants, and unknown
/// before the first one (as every timeline is), so the result is exact.
fn sweep(
    instants: impl Iterator<Item = Timestamp>,
    state_at: impl Fn(Timestamp) -> State,
) -> Vec<Transition> {
    let mut instants: Vec<Timestamp> = instants.collect();
    instants.sort_unstable();
    instants.dedup();
    let mut out = Vec::new();
    let mut current = State::Unknown;
    for at in instants {
        let state = state_at(at);
        if state != current {
            out.push(Transition { at, state });
            current = state;
        }
    }
    out
}
