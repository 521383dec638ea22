//! Locations and quorum (sla-rules section 3 rule 10): a probe run from several locations has
//! one timeline per location (rules 1-3 on that location's observations alone); at each
//! instant the probe's state is the worst state that at least `k` locations share or exceed.
//!
//! This is the one place the rule lives: the live state and every timeline for history are to
//! derive a multi-location probe's state through [`quorum_state`] / [`combine_quorum`].

use super::timeline::combine_with;
use crate::domain::{State, Transition};

/// The default quorum of `n` locations: a majority, `floor(n/2) + 1`.
pub fn default_quorum(locations: usize) -> usize {
    locations / 2 + 1
}

/// The probe's state from its locations' states at one instant, with quorum `k`: the worst
/// state `s` (up < degraded < down) such that at least `k` locations are in `s` or worse;
/// unknown if fewer than `k` locations are known. A `k` of 0 is taken as 1 (any location).
pub fn quorum_state(states: &[State], k: usize) -> State {
    let k = k.max(1);
    // Severity orders the states as rule 10 does (up < degraded < partial < down); a probe's
    // own timeline holds only up, degraded, down and unknown, and maintenance, which is never
    // a location's measurement, would count as down or worse.
    let known: Vec<u8> = states
        .iter()
        .filter(|s| **s != State::Unknown)
        .map(|s| s.severity())
        .collect();
    if known.len() < k {
        return State::Unknown;
    }
    for state in [State::Down, State::Partial, State::Degraded, State::Up] {
        let at_least = known.iter().filter(|r| **r >= state.severity()).count();
        if at_least >= k {
            return state;
        }
    }
    State::Up
}

/// The probe's timeline from its locations' timelines with quorum `k`: [`quorum_state`] at
/// every instant where any location changes. An outage starts at the instant the quorum is
/// first reached, which each location's own timeline already dates from its first failed
/// observation (rules 1-3).
pub fn combine_quorum(locations: &[&[Transition]], k: usize) -> Vec<Transition> {
    combine_with(locations, |states| quorum_state(states, k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use State::{Degraded as G, Down as D, Unknown as X, Up as U};

    #[test]
    fn the_quorum_rule_as_a_table() {
        // (locations' states, k, expected): sla-rules' examples first, then the edges.
        let rows: &[(&[State], usize, State)] = &[
            (&[D, D, U], 2, D),
            (&[D, U, U], 2, U),
            (&[D, G, U], 2, G),
            (&[D, U, X], 2, U),
            (&[D, X, X], 2, X),
            // n = 1: the location decides, unknown when it is.
            (&[D], 1, D),
            (&[G], 1, G),
            (&[X], 1, X),
            // n = 2 with the default quorum (2): both must agree on down.
            (&[D, U], default_quorum(2), U),
            (&[D, D], default_quorum(2), D),
            (&[D, X], default_quorum(2), X),
            (&[D, G], default_quorum(2), G),
            // k = 1: any location.
            (&[D, U, U], 1, D),
            (&[G, U, X], 1, G),
            (&[X, X, U], 1, U),
            // All unknown.
            (&[X, X, X], 1, X),
            (&[X, X, X], 2, X),
            // k = n: everyone must see it.
            (&[D, D, G], 3, G),
            (&[D, D, X], 3, X),
            // k = 0 is read as 1.
            (&[D, U], 0, D),
        ];
        for (states, k, expected) in rows {
            assert_eq!(
                quorum_state(states, *k),
                *expected,
                "{states:?} with k = {k}"
            );
        }
    }

    #[test]
    fn the_default_quorum_is_a_majority() {
        for (n, k) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)] {
            assert_eq!(default_quorum(n), k, "n = {n}");
        }
    }

    fn at(ms: i64, state: State) -> Transition {
        Transition {
            at: Timestamp(ms),
            state,
        }
    }

    #[test]
    fn an_outage_starts_when_the_quorum_is_reached_and_ends_when_it_is_lost() {
        // Three locations, quorum 2: eu sees down from 100, us from 250, local never.
        let eu = [at(0, U), at(100, D), at(400, U)];
        let us = [at(0, U), at(250, D), at(500, U)];
        let local = [at(0, U)];
        let probe = combine_quorum(&[&eu, &us, &local], 2);
        assert_eq!(probe, vec![at(0, U), at(250, D), at(400, U)]);
        // One location's outage alone never counts.
        assert_eq!(combine_quorum(&[&eu, &local, &local], 2), vec![at(0, U)]);
        // A location that stops reporting turns unknown; two left up keep the quorum.
        let silent = [at(0, U), at(300, X)];
        assert_eq!(
            combine_quorum(&[&silent, &local, &local], 2),
            vec![at(0, U)]
        );
        // Two silent: fewer than k known, so unknown.
        assert_eq!(
            combine_quorum(&[&silent, &silent, &local], 2),
            vec![at(0, U), at(300, X)]
        );
    }
}
