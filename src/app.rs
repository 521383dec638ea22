//! Wiring: starts the prober and the web server on one store, and stops them in order.
//!
//! Shutdown order (as gatus and mini-redis do it): stop scheduling probes and let running ones
//! finish, stop accepting requests and finish those in flight, then flush and close the store.

use crate::domain::{Clock, Config};
use crate::probe::Prober;
use crate::store::Store;
use crate::web::{self, AppState};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long open HTTP connections get to finish after shutdown begins.
const HTTP_DRAIN: Duration = Duration::from_secs(3);

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Prober(#[from] crate::probe::StartError),
    #[error("http server: {0}")]
    Serve(#[from] std::io::Error),
}

/// Runs Beacon until `shutdown` completes: probes every channel of `config`, records into
/// `store`, and serves the status page on `listener`.
pub async fn run(
    config: Arc<Config>,
    store: Store,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    store.sync_config(&config).await?;
    let prober = Prober::start(config.clone(), store.clone(), clock.clone()).await?;
    let state = AppState {
        config,
        store: store.clone(),
        live: prober.live(),
        heartbeat: prober.heartbeat(),
        push: prober.push_board(),
        clock,
    };
    let stopping = CancellationToken::new();
    let signal = stopping.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal.cancel();
    });

    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving the status page on http://{addr}/");
    }
    let drained = stopping.clone();
    let server = axum::serve(listener, web::router(state))
        .with_graceful_shutdown(async move { drained.cancelled().await });
    let server = tokio::spawn(async move { server.await });

    stopping.cancelled().await;
    tracing::info!("shutting down");
    prober.stop().await;
    match tokio::time::timeout(HTTP_DRAIN, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "http server stopped with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "http server task failed"),
        Err(_) => tracing::warn!("http connections still open after the drain period; closing"),
    }
    store.close().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}
