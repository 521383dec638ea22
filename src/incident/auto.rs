//! Auto-drafts: when a channel is confirmed down, Beacon opens one draft incident for it
//! (one per outage, not per probe) for an operator to publish in one step; with
//! `[service] auto_publish = true` it is published at once. On recovery the incident gets a
//! `monitoring` update saying so, which offers the operator the resolution.
//!
//! `auto_publish` is read from the configuration in force at each change, so a reload that
//! turns it on or off applies to the next outage without a restart.

use crate::domain::{
    Actor, Affected, Clock, Config, DeclaredStatus, Impact, Incident, IncidentKind, NewIncident,
    NewUpdate, State, Timestamp, UpdateStatus,
};
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

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

/// Runs until the sender is dropped; `config` is the configuration in force (the app's
/// watch channel, replaced on reload); pokes `public` after each write (a published draft or
/// an update to a published incident changes the public pages).
pub async fn run(
    mut changes: mpsc::Receiver<ChannelChange>,
    store: Store,
    clock: Arc<dyn Clock>,
    config: watch::Receiver<Arc<Config>>,
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
                let auto_publish = config.borrow().service.auto_publish;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SystemClock;
    use std::time::{Duration, Instant};

    fn config(auto_publish: bool) -> Arc<Config> {
        let text = format!(
            "[service]\nauto_publish = {auto_publish}\n\n[[channel]]\nid = \"chat\"\nname = \"Chat\"\n\n[[channel]]\nid = \"mail\"\nname = \"Mail\"\n"
        );
        Arc::new(crate::config::parse("test.toml", &text).expect("valid config"))
    }

    fn down(channel: &str) -> ChannelChange {
        ChannelChange {
            channel: channel.into(),
            name: channel.into(),
            state: State::Down,
            since: Timestamp(1_000),
        }
    }

    /// The automatic incident of `channel` once the task has written it.
    async fn incident_of(store: &Store, channel: &str) -> Incident {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let incidents = store.incidents().await.expect("read");
            if let Some(found) = open_auto_incident(&incidents, channel) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no automatic incident for {channel}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn auto_publish_follows_the_configuration_in_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("a.db")).expect("open");
        let (config_tx, config_rx) = watch::channel(config(false));
        store
            .sync_config(
                &config_tx.borrow(),
                crate::domain::Clock::now(&crate::domain::SystemClock),
            )
            .await
            .expect("sync");
        let (changes, rx) = mpsc::channel(4);
        let task = tokio::spawn(run(
            rx,
            store.clone(),
            Arc::new(SystemClock),
            config_rx,
            crate::incident::PublicChanged::default(),
        ));

        changes.send(down("chat")).await.expect("send");
        let draft = incident_of(&store, "chat").await;
        assert_eq!(draft.published_at, None, "auto_publish = false: a draft");

        // A reload turns auto_publish on: the next outage is published at once.
        config_tx.send_replace(config(true));
        changes.send(down("mail")).await.expect("send");
        let published = incident_of(&store, "mail").await;
        assert!(
            published.published_at.is_some(),
            "auto_publish = true after the reload"
        );

        drop(changes);
        task.await.expect("task ends with its sender");
        store.close().await.expect("close");
    }
}
