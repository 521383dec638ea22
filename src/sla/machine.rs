//! One probe's state machine (sla-rules section 3 rules 1-3).

use crate::domain::{Observation, Outcome, State, Thresholds, Timestamp, Transition};
use serde::{Deserialize, Serialize};

/// What the state machine needs to know of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservationInput {
    /// Actual start time of the run.
    pub at: Timestamp,
    pub outcome: Outcome,
    /// Interval in force when it was made; the observation covers up to twice this.
    pub interval_ms: u64,
    pub thresholds: Thresholds,
}

impl From<&Observation> for ObservationInput {
    fn from(o: &Observation) -> Self {
        ObservationInput {
            at: o.at,
            outcome: o.outcome,
            interval_ms: o.interval_ms,
            thresholds: o.thresholds,
        }
    }
}

/// A probe's confirmed state plus what it needs to confirm the next one.
///
/// Serializable so the store can checkpoint it beside the observation that produced it, and a
/// restarted Beacon continues exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeMachine {
    state: State,
    /// Start and coverage end of the latest observation.
    last: Option<(Timestamp, Timestamp)>,
    /// Consecutive observations that disagree with `state`, not yet confirmed.
    run: Option<Run>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Run {
    outcome: Outcome,
    start: Timestamp,
    len: u32,
}

impl Default for ProbeMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl ProbeMachine {
    /// A probe that has never been observed: unknown, waiting for its first confirmation.
    pub fn new() -> ProbeMachine {
        ProbeMachine {
            state: State::Unknown,
            last: None,
            run: None,
        }
    }

    /// The confirmed state as of the latest observation (ignores coverage; see [`Self::state_at`]).
    pub fn state(&self) -> State {
        self.state
    }

    /// The state at `now`: unknown once the latest observation's coverage has ended.
    pub fn state_at(&self, now: Timestamp) -> State {
        match self.last {
            Some((_, end)) if now < end => self.state,
            _ => State::Unknown,
        }
    }

    /// Start of the latest observation, if any observation was seen.
    pub fn last_at(&self) -> Option<Timestamp> {
        self.last.map(|(at, _)| at)
    }

    /// End of the latest observation's coverage, if any observation was seen.
    pub fn coverage_end(&self) -> Option<Timestamp> {
        self.last.map(|(_, end)| end)
    }

    /// Feeds the next observation, in time order, and returns the transitions it causes
    /// (at most two: unknown after a gap, then a confirmation), in time order.
    ///
    /// A confirmation is dated at the first observation of the confirming run: the outage began
    /// when it was first seen. An observation not later than the previous one is ignored.
    pub fn observe(&mut self, obs: ObservationInput) -> Vec<Transition> {
        let mut out = Vec::new();
        // The prober could not tell (its own network was down): no information, no coverage.
        if obs.outcome == Outcome::Unknown {
            return out;
        }
        if let Some((last_at, coverage_end)) = self.last {
            if obs.at <= last_at {
                return out;
            }
            if obs.at > coverage_end {
                // A gap: what we knew before it no longer holds (rule 2, last sentence).
                if self.state != State::Unknown {
                    out.push(Transition {
                        at: coverage_end,
                        state: State::Unknown,
                    });
                }
                self.state = State::Unknown;
                self.run = None;
            }
        }
        let interval = i64::try_from(obs.interval_ms).unwrap_or(i64::MAX / 4);
        self.last = Some((obs.at, obs.at.plus_ms(interval.saturating_mul(2))));

        let target = obs.outcome.state();
        if target == self.state {
            self.run = None;
            return out;
        }
        let run = match self.run {
            Some(run) if run.outcome == obs.outcome => Run {
                len: run.len.saturating_add(1),
                ..run
            },
            _ => Run {
                outcome: obs.outcome,
                start: obs.at,
                len: 1,
            },
        };
        if run.len >= self.needed(target, obs.thresholds) {
            self.state = target;
            self.run = None;
            out.push(Transition {
                at: run.start,
                state: target,
            });
        } else {
            self.run = Some(run);
        }
        out
    }

    /// Consecutive observations needed to move from the current state to `target`: the first
    /// success after unknown confirms at once; worsening needs the failure threshold;
    /// improving needs the success threshold.
    fn needed(&self, target: State, thresholds: Thresholds) -> u32 {
        if self.state == State::Unknown && target == State::Up {
            1
        } else if target.severity() > self.state.severity() {
            thresholds.failure.max(1)
        } else {
            thresholds.success.max(1)
        }
    }
}
