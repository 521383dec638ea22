//! Notifications: webhooks and chat messages from a durable outbox, with retries and
//! signatures.
//!
//! Owns: what a webhook receives and when. May use: `domain`, `store`.
//! [`Notifier::enqueue`] renders one body per webhook that wants the event and commits them to
//! the store's outbox before anything is sent (the transactional outbox pattern), so a crash
//! or restart loses nothing: the delivery task picks pending rows up again at start. Delivery
//! is at least once; each POST carries `X-Beacon-Delivery` (the row id) for deduplication.
//! Other modules never call this one: the app forwards their events here ([`Notifier::forward`]).

mod body;
mod delivery;

use crate::domain::{Clock, Config, NotifyEventKind, State, Timestamp};
use crate::store::{OutboxEntry, Store};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Something worth telling the webhooks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    /// A channel's confirmed state changed; `since` is when the new state began.
    ChannelState {
        channel: String,
        /// The channel's display name when the change happened.
        channel_name: String,
        state: State,
        since: Timestamp,
    },
    /// An incident was published or got an update. Plain strings so the incident module can
    /// fill it from its own types: `status` as on the status page (`investigating`,
    /// `identified`, `monitoring`, `resolved`...), `impact` (`none`, `minor`, `major`,
    /// `critical`), `url` the incident's public page when there is one.
    IncidentUpdate {
        incident_id: String,
        title: String,
        status: String,
        impact: String,
        /// The text of this update.
        message: String,
        published_at: Timestamp,
        url: Option<String>,
    },
    /// An unanswered ticket is close to (or past) its first-response deadline.
    TicketDueSoon {
        /// Beacon's request id, e.g. `BCN-2026-000123`.
        ticket_id: String,
        external_id: String,
        severity: String,
        subject: String,
        deadline: Timestamp,
    },
}

impl NotifyEvent {
    pub fn kind(&self) -> NotifyEventKind {
        match self {
            NotifyEvent::ChannelState { .. } => NotifyEventKind::ChannelState,
            NotifyEvent::IncidentUpdate { .. } => NotifyEventKind::IncidentUpdate,
            NotifyEvent::TicketDueSoon { .. } => NotifyEventKind::TicketDueSoon,
        }
    }
}

/// Why the notifier could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("notification http client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Why a notification was not enqueued.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("notification body: {0}")]
    Body(#[from] serde_json::Error),
}

/// Cloneable handle that puts notifications into the outbox.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    config: watch::Receiver<Arc<Config>>,
    clock: Arc<dyn Clock>,
    /// Tells the delivery task that rows are waiting.
    wake: Arc<Notify>,
    client: reqwest::Client,
}

/// The running delivery task; [`DeliveryTask::stop`] it in the shutdown sequence, before the
/// store closes.
pub struct DeliveryTask {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Notifier {
    /// The handle that enqueues; nothing is sent until [`Notifier::deliver`] starts the
    /// delivery task (on the node holding the jobs lease). `config` is the configuration in
    /// force (replaced on reload): webhooks, their secrets and the retry timings are read
    /// from it at each use.
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Notifier, StartError> {
        // A redirect is not followed: re-POSTing a signed body elsewhere is the receiver's
        // decision to make, so a 3xx counts as not delivered.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Beacon/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Notifier {
            store,
            config,
            clock,
            wake: Arc::new(Notify::new()),
            client,
        })
    }

    /// Starts the delivery task, which first sends what is pending (left by a previous run
    /// or another node). Must run inside a tokio runtime.
    pub fn deliver(&self) -> DeliveryTask {
        let stop = CancellationToken::new();
        let shared = Arc::new(delivery::Shared {
            store: self.store.clone(),
            config: self.config.clone(),
            clock: self.clock.clone(),
            client: self.client.clone(),
            stop: stop.clone(),
        });
        let task = tokio::spawn(delivery::run(shared, self.wake.clone()));
        DeliveryTask { stop, task }
    }

    /// [`Notifier::new`] and [`Notifier::deliver`] at once (a single node).
    pub fn start(
        config: watch::Receiver<Arc<Config>>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<(Notifier, DeliveryTask), StartError> {
        let notifier = Notifier::new(config, store, clock)?;
        let delivery = notifier.deliver();
        Ok((notifier, delivery))
    }

    /// Writes one outbox row per configured webhook that wants this kind of event, rendered
    /// in its format, and returns once they are committed (how many; 0 when no webhook
    /// wants it). Sending happens later, in the delivery task.
    pub async fn enqueue(&self, event: NotifyEvent) -> Result<usize, Error> {
        let config = self.config.borrow().clone();
        let kind = event.kind();
        let now = self.clock.now();
        let entries = config
            .notify
            .webhooks_for(kind)
            .map(|hook| {
                Ok(OutboxEntry {
                    webhook: hook.name.clone(),
                    event: kind.as_str().to_owned(),
                    body: body::render(&event, hook.format, &config.service.name, now)?,
                    created_at: now,
                })
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        if entries.is_empty() {
            return Ok(0);
        }
        let added = self.store.enqueue_notifications(entries).await?;
        self.wake.notify_one();
        Ok(added)
    }

    /// Enqueues a notification for each event of `events` that `to_notice` maps to one, in
    /// order, until every sender of `events` is gone (so events published before a shutdown
    /// are still enqueued). How the app connects other modules' events to this one.
    pub fn forward<E, F>(
        &self,
        mut events: broadcast::Receiver<E>,
        mut to_notice: F,
    ) -> JoinHandle<()>
    where
        E: Clone + Send + 'static,
        F: FnMut(E) -> Option<NotifyEvent> + Send + 'static,
    {
        let notifier = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        let Some(notice) = to_notice(event) else {
                            continue;
                        };
                        let kind = notice.kind();
                        if let Err(e) = notifier.enqueue(notice).await {
                            tracing::error!(event = %kind, error = %e, "notification not enqueued");
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "events came faster than the outbox took them; notifications lost"
                        );
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}

impl DeliveryTask {
    /// Stops sending: waits briefly for sends in flight (an unfinished one stays pending and
    /// is sent after the next start), then returns.
    pub async fn stop(self) {
        self.stop.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "notification delivery task failed");
        }
    }
}
