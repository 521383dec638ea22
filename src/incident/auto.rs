//! Auto-drafts: when a channel is confirmed down, Beacon opens one draft incident for it
//! (one per outage, not per probe) for an operator to publish in one step; with
//! `[service] auto_publish = true` it is published at once. On recovery the incident gets a
//! `monitoring` update saying so, which offers the operator the resolution.

use crate::domain::{
    Actor, Affected, Clock, DeclaredStatus, Impact, Incident, IncidentKind, NewIncident, NewUpdate,
    State, Timestamp, UpdateStatus,
};
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The author of automatic incidents, by which they are found again.
pub const AUTHOR: &str = "system:auto-draft";

/// A channel's confirmed state changed (the app forwards the prober's events here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelChange {
    pub channel: String,
    pub name: String,
    pub state: State,
    pub since: Timestamp,
}

/// The open automatic incident of `channel`, if any.
pub fn open_auto_incident<'a>(incidents: &'a [Incident], channel: &str) -> Option<&'a Incident> {
    incidents.iter().find(|i| {
        i.kind == IncidentKind::Incident
            && i.updates.first().is_some_and(|u| u.author == AUTHOR)
            && i.status().is_some_and(|s| !s.is_closed())
            && i.updates
                .iter()
                .rev()
                .find_map(|u| u.affected.as_ref())
                .is_some_and(|a| a.contains_key(channel))
    })
}

/// Runs until the sender is dropped; pokes `public` after each write (a published draft or an
/// update to a published incident changes the public pages).
pub async fn run(
    mut changes: mpsc::Receiver<ChannelChange>,
    store: Store,
    clock: Arc<dyn Clock>,
    auto_publish: bool,
    public: super::PublicChanged,
) {
    let actor = Actor {
        who: AUTHOR.into(),
        source: "beacon".into(),
    };
    while let Some(change) = changes.recv().await {
        let incidents = match store.incidents().await {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "auto-draft: cannot read incidents");
                continue;
            }
        };
        let open = open_auto_incident(&incidents, &change.channel);
        let result = match (change.state, open) {
            (State::Down, None) => {
                let mut affected = Affected::new();
                affected.insert(change.channel.clone(), DeclaredStatus::MajorOutage);
                let new = NewIncident {
                    kind: IncidentKind::Incident,
                    title: format!("{} is down", change.name),
                    impact: Impact::Major,
                    service_wide: false,
                    started_at: Some(change.since),
                    status: UpdateStatus::Investigating,
                    message: format!(
                        "Beacon confirmed {} down since {}. We are investigating.",
                        change.name,
                        change.since.to_display()
                    ),
                    affected: Some(affected),
                    publish: auto_publish,
                    scheduled_for: None,
                    scheduled_until: None,
                    auto_start: false,
                    auto_end: false,
                };
                store.create_incident(new, clock.now(), actor.clone()).await.map(|i| {
                    tracing::info!(incident = i.id, channel = %change.channel, published = auto_publish, "opened an automatic incident");
                })
            }
            (State::Up, Some(incident)) if incident.status() != Some(UpdateStatus::Monitoring) => {
                let update = NewUpdate {
                    status: UpdateStatus::Monitoring,
                    message: format!(
                        "{} has been answering normally since {}; monitoring before resolving.",
                        change.name,
                        change.since.to_display()
                    ),
                    affected: None,
                };
                store
                    .add_update(incident.id, update, clock.now(), actor.clone())
                    .await
                    .map(|_| ())
            }
            _ => Ok(()),
        };
        if result.is_ok() {
            public.poke();
        }
        if let Err(e) = result {
            tracing::error!(error = %e, channel = %change.channel, "auto-draft failed");
        }
    }
}
