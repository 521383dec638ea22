//! The heart of Beacon's numbers: the one state machine that turns observations into states,
//! and timelines built from it.
//!
//! Owns: confirmation thresholds, coverage and gaps (sla-rules section 3 rules 1-4), combining
//! probes into a channel, declarations, maintenance and the overall timeline (rules 5, 6, 9),
//! availability, budgets and burn rates over UTC periods (rules 7, 8). May use: `domain` only
//! (and `time` for calendar months). Pure: no I/O, never reads the clock (`now` and `until` are
//! parameters), never fails. The prober calls these functions for the live state and
//! reports call them for history, so live and reported states can never disagree.

mod availability;
mod burn;
mod calendar;
mod channel;
mod explain;
mod located;
mod machine;
mod overlay;
mod period;
mod quorum;
mod ticket;
mod timeline;
mod waiver;

pub use availability::{availability, Availability, Settings, StateDurations, PPM};
pub use burn::{burn_rates, BurnRates, BURN_ALERT_1H, BURN_ALERT_3D, BURN_ALERT_6H};
pub use calendar::{business_ms, deadline, Calendar, HOUR_MS, TIER2_CLOSE_MS, TIER2_OPEN_MS};
pub use channel::{current_worst, ChannelTracker, ChannelUpdate};
pub use located::{located_history, LocatedChange, LocatedHistory, LocatedProbe, LocationTrack};
pub use machine::{ObservationInput, ProbeMachine};
pub use overlay::{
    announced_at, channel_timeline, late_announcement, maintenance_window, overall_state,
    overall_timeline, takes_effect_from, Declaration, LateAnnouncement, Window,
};
pub use period::{days, month_bounds, parse_month};
pub use quorum::{combine_quorum, default_quorum, quorum_state};
pub use ticket::{
    attributed_to, evaluate, Evaluation, Targets, TicketSettings, TicketState, RULE_VERSION,
};
pub use timeline::{combine_worst, probe_timeline, segments, state_at, Segment};
pub use waiver::{
    acknowledgement_after, acknowledgement_at, covers_at, covers_components, Acknowledgement,
};

#[cfg(test)]
mod availability_tests;
#[cfg(test)]
mod calendar_tests;
#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod period_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod ticket_fixtures;
#[cfg(test)]
mod ticket_tests;
