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

mod jobs;
mod roles;
mod tasks;

pub use roles::Roles;

use crate::domain::{Clock, Config};
use crate::notify::Notifier;
use crate::probe::ProbeHandles;
use crate::store::{LeaseEvent, Store};
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
    run_as(
        Roles::ALL,
        config,
        config_file,
        store,
        listener,
        clock,
        shutdown,
    )
    .await
}

/// [`run`] with the node's `roles`: the web server on `listener` (only `/healthz` and
/// `/metrics` without the web role), and with the jobs role a term of the jobs ([`jobs`])
/// whenever this node holds the lease. Without the lease the live view follows the store.
pub async fn run_as(
    roles: Roles,
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
    let handles = ProbeHandles::new(&config, store.clone(), clock.clone());
    let (config_tx, config_rx) = watch::channel(config);
    let notifier = Notifier::new(config_tx.subscribe(), store.clone(), clock.clone())?;
    // Incidents published through this node's admin or API are enqueued here, whichever
    // node delivers them.
    let (published_tx, published_rx) = tokio::sync::broadcast::channel(256);
    let incident_notices = notifier.forward(published_rx, tasks::incident_notice);
    let (error_tx, error_rx) = watch::channel(None);
    let public = crate::incident::PublicChanged::default();
    // Another node's committed change (PostgreSQL's notice) renders this node's pages too,
    // and (below) refreshes the live view of a node that does not run the recorder.
    if let Some(mut changes) = store.changes() {
        let public = public.clone();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                public.poke();
            }
        });
    }
    let mut followed = store.changes();
    let (jobs_tx, jobs_rx) = watch::channel(if roles.jobs {
        "waiting for the jobs lease".to_owned()
    } else {
        format!("not this node's role (--role {roles}): on the node holding the lease")
    });
    let state = AppState {
        published: published_tx,
        config: config_rx,
        reload_error: error_rx,
        store: store.clone(),
        live: handles.live.clone(),
        heartbeat: handles.heartbeat.clone(),
        jobs: jobs_rx,
        metrics: handles.metrics.clone(),
        clock: clock.clone(),
        pages: Arc::new(web::PageCache::default()),
        public: public.clone(),
        server: Arc::default(),
        ingest: handles.ingest.clone(),
        probers: web::ProberRegistry::default(),
    };
    let context = jobs::Context {
        config: config_tx.subscribe(),
        store: store.clone(),
        clock: clock.clone(),
        public: public.clone(),
        notifier: notifier.clone(),
        handles: handles.clone(),
        own_probes: roles.own_probes,
    };
    let stopping = CancellationToken::new();
    let signal = stopping.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal.cancel();
    });
    let mut lease = roles
        .jobs
        .then(|| store.contend_for_jobs(holder(listening, roles)));
    // The lease's first answer (at once on SQLite, after one try on PostgreSQL) before the
    // first render: a node that holds it starts its term first, as a single node always
    // did; a standby's view starts from the store.
    let mut term = None;
    if let Some(lease) = &mut lease {
        let first = tokio::time::timeout(FIRST_ANSWER, lease.next()).await;
        if let Ok(event) = first {
            term = on_lease(event, None, &context, &stopping, &jobs_tx).await?;
        }
    }
    if term.is_none() {
        follow(&config_tx, &store, &clock, &handles).await;
    }
    // The first render before listening, so the cached pages never answer "not rendered yet"
    // in normal operation.
    if let Err(e) = web::render_pages(&state).await {
        tracing::error!(error = %e, "first render of the cached pages failed; retrying in the background");
    }

    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, %roles, "serving the status page on http://{addr}/");
    }
    if store.users().await.is_ok_and(|u| u.is_empty()) {
        tracing::warn!(
            "no operator account yet: create the first one with `beacon user add NAME --role admin`, then log in at /admin/login"
        );
    }
    let page_cache = web::spawn_page_cache(state.clone(), stopping.clone());
    let fd_limit = web::raise_fd_limit();
    let server_settings = config_tx.borrow().server.clone();
    let server_stats = state.server.clone();
    let router = if roles.web {
        web::router(state)
    } else {
        web::health_router(state)
    };
    let server = tokio::spawn(web::serve(
        listener,
        router,
        server_settings,
        fd_limit,
        server_stats,
        stopping.clone(),
        HTTP_DRAIN,
    ));

    let mut reloads = reload_triggers(config_file.clone(), stopping.clone());
    let mut follow_ticks = tokio::time::interval(FOLLOW_EVERY);
    // Ticks missed while a term ran are not made up in a burst when it ends.
    follow_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopping.cancelled() => break,
            event = next_lease_event(&mut lease) => {
                term = on_lease(event, term, &context, &stopping, &jobs_tx).await?;
                if term.is_none() {
                    follow(&config_tx, &store, &clock, &handles).await;
                }
            }
            _ = follow_ticks.tick(), if term.is_none() => {
                follow(&config_tx, &store, &clock, &handles).await;
            }
            () = next_change(&mut followed), if term.is_none() => {
                follow(&config_tx, &store, &clock, &handles).await;
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
                        store.sync_config(&new, clock.now()).await?;
                        if let Some(term) = &mut term {
                            term.prober.reconfigure(new.clone()).await;
                        }
                        config_tx.send_replace(new);
                    }
                }
            }
        }
    }

    tracing::info!("shutting down");
    if let Some(term) = term {
        term.stop().await;
    }
    // Released before returning, so another node (or this one restarted) takes over at
    // its first try.
    if let Some(lease) = lease {
        lease.release().await;
    }
    incident_notices.abort();
    if let Err(e) = page_cache.await {
        tracing::warn!(error = %e, job = "page cache", "background job failed");
    }
    if let Err(e) = server.await {
        tracing::warn!(error = %e, "http server task failed");
    }
    store.close().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// How long the start waits for the lease's first answer (one connection and one try).
const FIRST_ANSWER: Duration = Duration::from_secs(10);

/// How often a node without the recorder rebuilds its live view from the store (besides
/// every change notice): the last checked times and response times move with every probe.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// The lease's next event; pends for ever on a node without the jobs role.
async fn next_lease_event(lease: &mut Option<crate::store::JobsLease>) -> LeaseEvent {
    match lease {
        Some(lease) => lease.next().await,
        None => std::future::pending().await,
    }
}

/// The next change notice from another node; pends for ever on SQLite, or once the
/// listener is gone.
async fn next_change(changes: &mut Option<watch::Receiver<u64>>) {
    let Some(receiver) = changes else {
        return std::future::pending().await;
    };
    if receiver.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Starts or stops the term of the jobs as the lease comes and goes; returns the term now
/// running. A term still running when the lease is taken again (a lost connection that came
/// back) is stopped first: another node may have held the lease meanwhile.
async fn on_lease(
    event: LeaseEvent,
    running: Option<jobs::Term>,
    context: &jobs::Context,
    stopping: &CancellationToken,
    status: &watch::Sender<String>,
) -> Result<Option<jobs::Term>, RunError> {
    if let Some(term) = running {
        term.stop().await;
    }
    match event {
        LeaseEvent::Acquired { epoch } => {
            let term = jobs::Term::start(context, stopping).await?;
            status.send_replace(format!("here (epoch {epoch})"));
            Ok(Some(term))
        }
        LeaseEvent::Standby => {
            status.send_replace("waiting: another node holds the jobs lease".to_owned());
            Ok(None)
        }
        LeaseEvent::Lost { reason } => {
            // Stopped, so nothing of this node's term writes any more: its writes need no
            // fence (those of the web, sessions and incidents, are anyone's to make).
            context.store.unfence();
            status.send_replace(format!("waiting for the jobs lease (lost: {reason})"));
            Ok(None)
        }
    }
}

/// Rebuilds the live view from the store (a node without the recorder).
async fn follow(
    config: &watch::Sender<Arc<Config>>,
    store: &Store,
    clock: &Arc<dyn Clock>,
    handles: &ProbeHandles,
) {
    let config = config.borrow().clone();
    if let Err(e) = crate::probe::follow(&config, store, clock.clone(), handles).await {
        tracing::warn!(error = %e, "cannot refresh the live view from the store");
    }
}

/// How this node names itself in the lease: host, process and address.
fn holder(listening: Option<std::net::SocketAddr>, roles: Roles) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown host".to_owned());
    let address = listening.map_or_else(|| "no address".to_owned(), |a| a.to_string());
    format!(
        "{host} pid {} on {address} (--role {roles})",
        std::process::id()
    )
}

/// The configuration with its `self:/path` probes pointed at the address Beacon listens on
/// (at start and on every reload).
fn with_self_resolved(mut config: Config, listening: Option<std::net::SocketAddr>) -> Config {
    if let Some(address) = listening {
        config.resolve_self(address);
    }
    config
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
