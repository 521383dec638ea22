//! The jobs a lease holder runs besides the prober (see `jobs.rs`), and the mapping of other
//! modules' events to notifications.

use crate::domain::{Clock, Config, Timestamp};
use crate::notify::NotifyEvent;
use crate::probe::{ProbeEvent, Prober};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How often raw observations past the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Forwards the prober's confirmed channel states to the auto-draft task (the incident module
/// does not know the prober; the app wires them).
pub(super) fn spawn_auto_drafts(
    prober: &Prober,
    config: watch::Receiver<Arc<Config>>,
    store: Store,
    clock: Arc<dyn Clock>,
    public: crate::incident::PublicChanged,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut events = prober.subscribe();
    let (tx, rx) = mpsc::channel(256);
    // The configuration in force, not a copy: `auto_publish` follows reloads.
    tokio::spawn(crate::incident::auto::run(
        rx,
        store,
        clock,
        config.clone(),
        public,
    ));
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => return,
                event = events.recv() => event,
            };
            match event {
                Ok(crate::probe::ProbeEvent::ChannelState {
                    channel,
                    state,
                    since,
                }) => {
                    let name = config
                        .borrow()
                        .channels
                        .iter()
                        .find(|c| c.id == channel)
                        .map_or_else(|| channel.clone(), |c| c.name.clone());
                    let change = crate::incident::auto::ChannelChange {
                        channel,
                        name,
                        state,
                        since,
                    };
                    if tx.send(change).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "auto-draft fell behind the prober's events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// How often open tickets are checked for a near deadline.
const DUE_SOON_EVERY: Duration = Duration::from_secs(5);

/// Tells the webhooks, once per ticket, that an unanswered ticket is within 15 minutes of its
/// deadline. Tickets received in the last 30 days are looked at (the longest target is a
/// few business days).
pub(super) async fn warn_due_tickets(
    config: watch::Receiver<Arc<Config>>,
    store: Store,
    notifier: crate::notify::Notifier,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(DUE_SOON_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = clock.now();
        let config = config.borrow().clone();
        let result = async {
            let tickets = store
                .tickets(now.plus_ms(-30 * 24 * 3600 * 1000), now.plus_ms(1))
                .await?;
            let incidents = store.incidents().await?;
            let evaluated = crate::ticket::evaluate_all(
                tickets,
                &incidents,
                &config.channels,
                &config.tickets,
                now,
            );
            for e in crate::ticket::due_soon(&evaluated, now) {
                let (Some(deadline), id) = (e.evaluation.deadline, e.record.ticket.id.clone())
                else {
                    continue;
                };
                if store.claim_ticket_warning(id.clone(), now).await? {
                    let event = NotifyEvent::TicketDueSoon {
                        ticket_id: id,
                        external_id: e.record.external_id.clone(),
                        severity: e.evaluation.severity.as_str().to_owned(),
                        subject: e.record.subject.clone(),
                        deadline,
                    };
                    if let Err(err) = notifier.enqueue(event).await {
                        tracing::error!(error = %err, "ticket warning not queued");
                    }
                }
            }
            Ok::<(), crate::store::Error>(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "checking ticket deadlines failed");
        }
    }
}

/// The latest public update of a just published or updated incident, as a notification.
pub(super) fn incident_notice(incident: crate::domain::Incident) -> Option<NotifyEvent> {
    let update = incident
        .updates
        .iter()
        .filter(|u| u.published_at.is_some())
        .max_by_key(|u| (u.published_at, u.id))?;
    Some(NotifyEvent::IncidentUpdate {
        incident_id: incident.id.to_string(),
        title: incident.title.clone(),
        status: update.status.as_str().to_owned(),
        impact: serde_json::to_value(incident.impact)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        message: update.message.clone(),
        published_at: update.published_at?,
        url: None,
    })
}

/// Maps the prober's state changes to notifications, naming the channel as configured now.
pub(super) fn channel_state_notice(
    config: watch::Receiver<Arc<Config>>,
) -> impl FnMut(ProbeEvent) -> Option<NotifyEvent> + Send + 'static {
    move |event| match event {
        ProbeEvent::ChannelState {
            channel,
            state,
            since,
        } => {
            let channel_name = config
                .borrow()
                .channels
                .iter()
                .find(|c| c.id == channel)
                .map_or_else(|| channel.clone(), |c| c.name.clone());
            Some(NotifyEvent::ChannelState {
                channel,
                channel_name,
                state,
                since,
            })
        }
    }
}

/// Prunes at once and then every [`PRUNE_EVERY`], until `stop`.
pub(super) async fn prune(
    config: watch::Receiver<Arc<Config>>,
    store: Store,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let retention = config.borrow().service.retention;
        prune_past_retention(&store, clock.now(), retention).await;
    }
}

/// The hourly clean-up: raw observations and finished notifications past the retention,
/// and expired sessions. State intervals and the audit log are kept for ever.
async fn prune_past_retention(store: &Store, now: Timestamp, retention: Duration) {
    let before = now.plus_ms(-i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
    match store.prune_observations(before).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(deleted = n, before = %before, "pruned raw observations past retention")
        }
        Err(e) => tracing::error!(error = %e, "pruning observations failed"),
    }
    // Sent and failed notifications follow the same retention; pending ones stay.
    match store.prune_notifications(before).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(deleted = n, before = %before, "pruned delivered and failed notifications past retention")
        }
        Err(e) => tracing::error!(error = %e, "pruning notifications failed"),
    }
    if let Err(e) = store.prune_sessions(now).await {
        tracing::error!(error = %e, "pruning expired sessions failed");
    }
}
