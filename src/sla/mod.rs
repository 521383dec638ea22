//! The heart of Beacon's numbers: the one state machine that turns observations into states,
//! and timelines built from it.
//!
//! Owns: confirmation thresholds, coverage and gaps (sla-rules section 3 rules 1-4), combining
//! probes into a channel. May use: `domain` only. Pure: no I/O, never reads the clock (`now` and
//! `until` are parameters), never fails. The prober calls these functions for the live state and
//! reports call them for history, so live and reported states can never disagree.

mod channel;
mod machine;
mod timeline;

pub use channel::{ChannelTracker, ChannelUpdate};
pub use machine::{ObservationInput, ProbeMachine};
pub use timeline::{combine_worst, probe_timeline, segments, state_at, Segment};

#[cfg(test)]
mod tests;
