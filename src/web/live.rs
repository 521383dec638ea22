//! What the public sees now: measured states with operator declarations and maintenance
//! applied (sla-rules section 3 rules 5, 6), and the incidents to show.

use super::AppState;
use crate::domain::{Impact, Incident, IncidentKind, Indicator, State, Transition};
use crate::probe::ChannelStatus;
use crate::report::overlays::overlays;
use crate::sla;

/// Channels as shown, and the published, visible incidents and maintenance windows.
pub(super) struct PublicView {
    pub channels: Vec<ChannelStatus>,
    pub incidents: Vec<Incident>,
}

impl PublicView {
    /// The page indicator: the worse of the channels' states (the design's mapping) and the
    /// impact of open incidents.
    pub fn indicator(&self) -> Indicator {
        let states: Vec<(State, bool)> = self
            .channels
            .iter()
            .map(|c| (c.state, c.in_commitment))
            .collect();
        let from_incidents = self
            .incidents
            .iter()
            .filter(|i| i.kind == IncidentKind::Incident)
            .map(|i| match i.impact {
                Impact::Critical => Indicator::Critical,
                Impact::Major => Indicator::Major,
                Impact::Minor => Indicator::Minor,
                Impact::None | Impact::Maintenance => Indicator::None,
            })
            .max()
            .unwrap_or(Indicator::None);
        Indicator::from_states(&states).max(from_incidents)
    }
}

pub(super) async fn live(app: &AppState) -> Result<PublicView, crate::store::Error> {
    let now = app.clock.now();
    let config = app.config();
    let all = app.store.incidents().await?;
    let extra = overlays(&all, &config.channels);
    let mut channels = app.live.statuses(now);
    for channel in &mut channels {
        let Some(o) = extra.get(&channel.id) else {
            continue;
        };
        let measured: Vec<Transition> = channel
            .since
            .map(|since| Transition {
                at: since,
                state: channel.state,
            })
            .into_iter()
            .collect();
        let timeline = sla::channel_timeline(&measured, &o.declarations, &o.maintenance);
        let upto = timeline.partition_point(|t| t.at <= now);
        if let Some(current) = upto.checked_sub(1).map(|i| timeline[i]) {
            if current.state != channel.state {
                channel.state = current.state;
                channel.since = Some(current.at);
                if current.state == State::Maintenance {
                    channel.reason = Some("scheduled maintenance".into());
                }
            }
        }
    }
    let incidents = all
        .into_iter()
        .filter(|i| i.published_at.is_some() && !i.hidden)
        .filter(|i| match i.kind {
            IncidentKind::Incident => i.is_open_at(now),
            IncidentKind::Maintenance => {
                !i.public_state_at(now).is_some_and(|u| u.status.is_closed())
            }
        })
        .collect();
    Ok(PublicView {
        channels,
        incidents,
    })
}
