//! Wiring: starts the prober, the notifier and the web server on one store, forwards the
//! prober's state changes to the notifier, reloads the configuration on SIGHUP or when its
//! file changes, and stops everything in order.
//!
//! The prober runs on a runtime of its own ([`ProberRuntime`]: page traffic never delays a
//! probe); the web server and every other task run on the caller's runtime.
//!
//! Shutdown order (as gatus and mini-redis do it): stop scheduling probes and let running ones
//! finish, enqueue the notifications of their last state changes and stop delivering, stop
//! accepting requests and finish those in flight, then flush and close the store.

use crate::domain::{Clock, Config};
use crate::notify::{Notifier, NotifyEvent};
use crate::probe::{ProbeEvent, Prober, ProberRuntime};
use crate::store::Store;
use crate::web::{self, AppState};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long open HTTP connections get to finish after shutdown begins.
const HTTP_DRAIN: Duration = Duration::from_secs(3);
/// How often raw observations past the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often the configuration file's modification time is compared.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Prober(#[from] crate::probe::StartError),
    #[error(transparent)]
    Notify(#[from] crate::notify::StartError),
    #[error("prober runtime: {0}")]
    Runtime(std::io::Error),
}

/// Where the configuration came from, so it can be reloaded; `None` for a fixed config.
pub type ConfigFile = Option<PathBuf>;

/// Runs Beacon until `shutdown` completes: probes every channel of `config`, records into
/// `store`, and serves the status page on `listener`. With `config_file`, a SIGHUP or a
/// change of that file reloads it: a valid new config replaces the running one without a
/// restart, an invalid one is logged and shown on `/healthz` while the old one keeps running.
pub async fn run(
    config: Arc<Config>,
    config_file: ConfigFile,
    store: Store,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let listening = listener.local_addr().ok();
    let config = Arc::new(with_self_resolved((*config).clone(), listening));
    store.sync_config(&config, clock.now()).await?;
    let prober_runtime = ProberRuntime::new().map_err(RunError::Runtime)?;
    let mut prober = prober_runtime
        .start(config.clone(), store.clone(), clock.clone())
        .await?;
    let (config_tx, config_rx) = watch::channel(config);
    // Subscribed right after the prober starts, with no await between: its first state
    // change needs a finished check, so none is missed.
    let (notifier, delivery) =
        Notifier::start(config_tx.subscribe(), store.clone(), clock.clone())?;
    let notices = notifier.forward(
        prober.subscribe(),
        channel_state_notice(config_tx.subscribe()),
    );
    let (published_tx, published_rx) = tokio::sync::broadcast::channel(256);
    let incident_notices = notifier.forward(published_rx, incident_notice);
    let (error_tx, error_rx) = watch::channel(None);
    let state_clock = clock.clone();
    let public = crate::incident::PublicChanged::default();
    // Another node's committed change (PostgreSQL's notice) renders this node's pages too.
    if let Some(mut changes) = store.changes() {
        let public = public.clone();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                public.poke();
            }
        });
    }
    let states_for_pages = prober.subscribe();
    let state = AppState {
        published: published_tx,
        config: config_rx,
        reload_error: error_rx,
        store: store.clone(),
        live: prober.live(),
        heartbeat: prober.heartbeat(),
        push: prober.push_board(),
        metrics: prober.metrics(),
        clock,
        pages: Arc::new(web::PageCache::default()),
        public: public.clone(),
        server: Arc::default(),
        ingest: prober.ingest(),
        probers: web::ProberRegistry::default(),
    };
    // The first render before listening, so the cached pages never answer "not rendered yet"
    // in normal operation.
    if let Err(e) = web::render_pages(&state).await {
        tracing::error!(error = %e, "first render of the cached pages failed; retrying in the background");
    }
    let stopping = CancellationToken::new();
    let signal = stopping.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal.cancel();
    });

    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving the status page on http://{addr}/");
    }
    if store.users().await.is_ok_and(|u| u.is_empty()) {
        tracing::warn!(
            "no operator account yet: create the first one with `beacon user add NAME --role admin`, then log in at /admin/login"
        );
    }
    let page_cache = web::spawn_page_cache(state.clone(), states_for_pages, stopping.clone());
    let fd_limit = web::raise_fd_limit();
    let server_settings = config_tx.borrow().server.clone();
    let server_stats = state.server.clone();
    let server = tokio::spawn(web::serve(
        listener,
        web::router(state),
        server_settings,
        fd_limit,
        server_stats,
        stopping.clone(),
        HTTP_DRAIN,
    ));

    let reports = tokio::spawn(crate::report::schedule::run(
        config_tx.subscribe(),
        store.clone(),
        state_clock.clone(),
        stopping.clone(),
    ));
    let maintenance = tokio::spawn(crate::incident::run(
        store.clone(),
        state_clock.clone(),
        public.clone(),
        stopping.clone(),
    ));
    let recurring = tokio::spawn(crate::incident::recurring::run(
        config_tx.subscribe(),
        store.clone(),
        state_clock.clone(),
        public.clone(),
        stopping.clone(),
    ));
    let auto_drafts = spawn_auto_drafts(
        &prober,
        &config_tx,
        store.clone(),
        state_clock.clone(),
        public,
        stopping.clone(),
    );
    let due_soon = tokio::spawn(warn_due_tickets(
        config_tx.subscribe(),
        store.clone(),
        notifier.clone(),
        state_clock.clone(),
        stopping.clone(),
    ));
    let mut reloads = reload_triggers(config_file.clone(), stopping.clone());
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = stopping.cancelled() => break,
            _ = prune.tick() => {
                let retention = config_tx.borrow().service.retention;
                prune_past_retention(&store, state_clock.now(), retention).await;
            }
            Some(()) = reloads.recv() => {
                let Some(path) = &config_file else { continue };
                match crate::config::load(path) {
                    Err(e) => {
                        tracing::error!(error = %e, "configuration reload refused; the previous one keeps running");
                        error_tx.send_replace(Some(e.to_string()));
                    }
                    Ok(new) => {
                        let new = with_self_resolved(new, listening);
                        error_tx.send_replace(None);
                        if **config_tx.borrow() == new {
                            continue;
                        }
                        let new = Arc::new(new);
                        store.sync_config(&new, state_clock.now()).await?;
                        prober.reconfigure(new.clone()).await;
                        config_tx.send_replace(new);
                    }
                }
            }
        }
    }

    tracing::info!("shutting down");
    prober.stop().await;
    drop(prober_runtime);
    // The prober is gone, so the forwarder has seen its last event; then deliveries stop.
    if let Err(e) = notices.await {
        tracing::warn!(error = %e, "notification forwarder failed");
    }
    incident_notices.abort();
    delivery.stop().await;
    for (name, job) in [
        ("report", reports),
        ("maintenance", maintenance),
        ("recurring maintenance", recurring),
        ("auto-draft", auto_drafts),
        ("ticket warnings", due_soon),
        ("page cache", page_cache),
    ] {
        if let Err(e) = job.await {
            tracing::warn!(error = %e, job = name, "background job failed");
        }
    }
    if let Err(e) = server.await {
        tracing::warn!(error = %e, "http server task failed");
    }
    store.close().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// The configuration with its `self:/path` probes pointed at the address Beacon listens on
/// (at start and on every reload).
fn with_self_resolved(mut config: Config, listening: Option<std::net::SocketAddr>) -> Config {
    if let Some(address) = listening {
        config.resolve_self(address);
    }
    config
}

/// Forwards the prober's confirmed channel states to the auto-draft task (the incident module
/// does not know the prober; the app wires them).
fn spawn_auto_drafts(
    prober: &Prober,
    config: &watch::Sender<Arc<Config>>,
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
        config.subscribe(),
        public,
    ));
    let config = config.subscribe();
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
async fn warn_due_tickets(
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
fn incident_notice(incident: crate::domain::Incident) -> Option<NotifyEvent> {
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
fn channel_state_notice(
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

/// Sends a unit on each SIGHUP and each change of the file's modification time or size.
fn reload_triggers(file: ConfigFile, stop: CancellationToken) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(4);
    let Some(path) = file else { return rx };
    #[cfg(unix)]
    {
        let tx = tx.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let mut hangups = match signal(SignalKind::hangup()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGHUP; reload on file change only");
                    return;
                }
            };
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    Some(()) = hangups.recv() => {
                        tracing::info!("SIGHUP: reloading the configuration");
                        let _ = tx.try_send(());
                    }
                }
            }
        });
    }
    tokio::spawn(async move {
        let stamp = |p: &PathBuf| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
        };
        let mut seen = stamp(&path);
        let mut ticks = tokio::time::interval(WATCH_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {
                    let now = stamp(&path);
                    if now != seen {
                        seen = now;
                        tracing::info!(path = %path.display(), "configuration file changed: reloading");
                        let _ = tx.try_send(());
                    }
                }
            }
        }
    });
    rx
}

/// The hourly clean-up: raw observations and finished notifications past the retention,
/// and expired sessions. State intervals and the audit log are kept for ever.
async fn prune_past_retention(store: &Store, now: crate::domain::Timestamp, retention: Duration) {
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
