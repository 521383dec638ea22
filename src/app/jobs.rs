//! One term of the jobs lease: what a node runs while it holds the lease, started when it
//! takes the lease and stopped when it loses it or shuts down. On SQLite the only serve of
//! the file holds it from start to stop.
//!
//! A term runs the prober (the recorder of every observation, and with the `all` role the
//! probes of the server's own location) on its own runtime, the delivery of notifications,
//! the notifications of state changes, maintenance transitions and recurring windows,
//! auto-drafts, ticket warnings, scheduled reports, the ingest queue's drain and the hourly
//! pruning. Each starts from the store, as after a restart: a term needs nothing from the
//! previous holder but the database.

use super::tasks;
use super::RunError;
use crate::domain::{Clock, Config};
use crate::incident::PublicChanged;
use crate::notify::{DeliveryTask, Notifier};
use crate::probe::{ProbeHandles, Prober, ProberRuntime};
use crate::store::Store;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What a term needs, the same for every term of one node.
pub(super) struct Context {
    pub config: watch::Receiver<Arc<Config>>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub public: PublicChanged,
    pub notifier: Notifier,
    pub handles: ProbeHandles,
    pub own_probes: bool,
}

/// A running term.
pub(super) struct Term {
    pub prober: Prober,
    runtime: ProberRuntime,
    notices: JoinHandle<()>,
    delivery: DeliveryTask,
    stop: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Term {
    /// Starts everything a lease holder runs; `stopping` (the node's shutdown) stops it too.
    pub async fn start(context: &Context, stopping: &CancellationToken) -> Result<Term, RunError> {
        let config = context.config.borrow().clone();
        let runtime = ProberRuntime::new().map_err(RunError::Runtime)?;
        let prober = runtime
            .start(
                config,
                context.store.clone(),
                context.clock.clone(),
                context.handles.clone(),
                context.own_probes,
            )
            .await?;
        // Subscribed right after the prober starts, with no await between: its first state
        // change needs a finished check, so none is missed.
        let notices = context.notifier.forward(
            prober.subscribe(),
            tasks::channel_state_notice(context.config.clone()),
        );
        let states_for_pages = prober.subscribe();
        let delivery = context.notifier.deliver();
        let stop = stopping.child_token();
        let store = &context.store;
        let clock = &context.clock;
        let public = &context.public;
        let tasks = vec![
            (
                "page updates",
                tokio::spawn(crate::web::forward_state_changes(
                    states_for_pages,
                    public.clone(),
                    stop.clone(),
                )),
            ),
            (
                "report",
                tokio::spawn(crate::report::schedule::run(
                    context.config.clone(),
                    store.clone(),
                    clock.clone(),
                    stop.clone(),
                )),
            ),
            (
                "maintenance",
                tokio::spawn(crate::incident::run(
                    store.clone(),
                    clock.clone(),
                    public.clone(),
                    stop.clone(),
                )),
            ),
            (
                "recurring maintenance",
                tokio::spawn(crate::incident::recurring::run(
                    context.config.clone(),
                    store.clone(),
                    clock.clone(),
                    public.clone(),
                    stop.clone(),
                )),
            ),
            (
                "auto-draft",
                tasks::spawn_auto_drafts(
                    &prober,
                    context.config.clone(),
                    store.clone(),
                    clock.clone(),
                    public.clone(),
                    stop.clone(),
                ),
            ),
            (
                "ticket warnings",
                tokio::spawn(tasks::warn_due_tickets(
                    context.config.clone(),
                    store.clone(),
                    context.notifier.clone(),
                    clock.clone(),
                    stop.clone(),
                )),
            ),
            (
                "ingest queue",
                tokio::spawn(crate::probe::drain_queue(
                    context.handles.ingest.clone(),
                    stop.clone(),
                )),
            ),
            (
                "pruning",
                tokio::spawn(tasks::prune(
                    context.config.clone(),
                    store.clone(),
                    clock.clone(),
                    stop.clone(),
                )),
            ),
        ];
        Ok(Term {
            prober,
            runtime,
            notices,
            delivery,
            stop,
            tasks,
        })
    }

    /// Stops the term in order: no more probes, the notifications of the last state changes
    /// enqueued, no more deliveries, then every other job.
    pub async fn stop(self) {
        self.prober.stop().await;
        drop(self.runtime);
        // The prober is gone, so the forwarder has seen its last event; then deliveries stop.
        if let Err(e) = self.notices.await {
            tracing::warn!(error = %e, "notification forwarder failed");
        }
        self.delivery.stop().await;
        self.stop.cancel();
        for (name, job) in self.tasks {
            if let Err(e) = job.await {
                tracing::warn!(error = %e, job = name, "background job failed");
            }
        }
    }
}
