//! What goes on top of measurement: operator declarations and maintenance windows on one
//! channel (sla-rules section 3 rules 5 and 6), and the overall "support services" timeline
//! across channels (rule 9).
//!
//! [`maintenance_window`] is the one place where a maintenance becomes a time interval: the
//! report, the live page, the badges and the Critical waiver (sla-rules 1.4) all take it from
//! here, so a window announced after the fact is cut at its announcement everywhere alike.
//!
//! Both are evaluated the same way: every input is piecewise constant, so the result can only
//! change at an instant where some input changes. We evaluate the rule at each such instant and
//! keep the changes, which gives a timeline without repeated consecutive states.

use super::timeline::state_at;
use super::waiver::public_updates;
use crate::domain::{Incident, IncidentKind, State, Timestamp, Transition, UpdateStatus};

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

/// A maintenance's in-progress window as it counts (sla-rules 3 rule 6, "the same window
/// definition serves the waiver"): from its first `in_progress` update (or `scheduled_for`
/// when it starts by itself) to its first `completed` update from then on (or
/// `scheduled_until` when it ends by itself), the earlier of the two when both apply; without
/// `auto_end` an overrun stays in progress until it is completed.
///
/// The window takes effect no earlier than its announcement ([`announced_at`]): the part
/// before it keeps what was measured or declared, so a window created after the fact never
/// rewrites a past month. `None` while it has not started, for a draft, and for a window that
/// ended before it was announced (it changes no time at all). Imported history keeps its
/// original publication times, so an imported window counts as it did where it came from.
pub fn maintenance_window(incident: &Incident) -> Option<Window> {
    let planned = planned_window(incident)?;
    let from = planned.from.max(announced_at(incident)?);
    match planned.to {
        Some(to) if to <= from => None,
        to => Some(Window { from, to }),
    }
}

/// When a maintenance (or incident) was announced: the `published_at` of its first public
/// update; `None` for a draft.
pub fn announced_at(incident: &Incident) -> Option<Timestamp> {
    public_updates(incident).first().map(|(p, _)| *p)
}

/// A maintenance announced after the start of its window: what the API and the page say
/// about it, since only the part from the announcement counts ([`maintenance_window`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LateAnnouncement {
    /// Where the window starts by its schedule or its `in_progress` update.
    pub planned_from: Timestamp,
    pub announced_at: Timestamp,
    /// The window as it counts; `None` when it had ended before its announcement.
    pub counted: Option<Window>,
}

/// `Some` when `incident` is a published maintenance whose window starts (by its schedule, or
/// by its `in_progress` update) before its announcement. A window that starts by hand and has
/// not started yet is never late: its start will be a public update, after the announcement.
pub fn late_announcement(incident: &Incident) -> Option<LateAnnouncement> {
    if incident.kind != IncidentKind::Maintenance {
        return None;
    }
    let announced_at = announced_at(incident)?;
    let planned_from = planned_window(incident)?.from;
    (planned_from < announced_at).then(|| LateAnnouncement {
        planned_from,
        announced_at,
        counted: maintenance_window(incident),
    })
}

/// The instant from which a published maintenance takes effect: the later of its start (its
/// schedule, its `in_progress` update, or before a hand-started window has begun, its
/// `scheduled_for`) and its announcement. A window that ended before this instant changes no
/// time ([`maintenance_window`] is `None`). `None` for a draft or an incident.
pub fn takes_effect_from(incident: &Incident) -> Option<Timestamp> {
    if incident.kind != IncidentKind::Maintenance {
        return None;
    }
    let announced = announced_at(incident)?;
    let planned = planned_window(incident)
        .map(|w| w.from)
        .or(incident.scheduled_for)?;
    Some(planned.max(announced))
}

/// The window by its updates and schedule alone, before rule 6 cuts it at the announcement.
fn planned_window(incident: &Incident) -> Option<Window> {
    let updates = public_updates(incident);
    let earliest = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let started = updates
        .iter()
        .find(|(_, u)| u.status == UpdateStatus::InProgress)
        .map(|(p, _)| *p);
    let from = earliest(
        started,
        incident.scheduled_for.filter(|_| incident.auto_start),
    )?;
    let completed = updates
        .iter()
        .find(|(p, u)| u.status == UpdateStatus::Completed && *p >= from)
        .map(|(p, _)| *p);
    let to = earliest(
        completed,
        incident.scheduled_until.filter(|_| incident.auto_end),
    );
    Some(Window { from, to })
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
