//! A prober-only node (`beacon probe`, issue 11): runs the probes the server assigns to one
//! location, with the same scheduler and checks as the server's own prober, and sends what
//! it observes to the server through a local spool, so a link cut or a restart loses nothing.
//!
//! Three tasks around the [`Runner`]: the assignment poller (`assignment.rs`: what to
//! probe), the spooler (here: every observation into the spool file, `spool.rs`) and the
//! uploader (`uploader.rs`: the spool to the server, oldest first). The node needs no
//! configuration file and no database of the server's; it has no connectivity check (the
//! quorum of locations is what discounts a node's own network trouble).

pub mod assignment;
pub mod spool;
pub mod uploader;

use super::recorder::RecorderMsg;
use super::runner::Runner;
use super::scheduler::Shared;
use super::{HttpChecker, PushBoard, TlsChecker};
use crate::domain::remote::ProbeAssignment;
use crate::domain::{Clock, Observation};
use spool::{DropEpisode, DropLog, Spool, SpoolError};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;

/// What `beacon probe` was told (its `Debug` leaves the token out).
#[derive(Clone)]
pub struct NodeSettings {
    /// The server's base URL (`https://status.example.com`).
    pub server: url::Url,
    pub location: String,
    pub token: String,
    pub spool: PathBuf,
    /// The spool holds at most the observations the assigned probes make in this time.
    pub spool_max: Duration,
}

impl std::fmt::Debug for NodeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSettings")
            .field("server", &self.server.as_str())
            .field("location", &self.location)
            .field("token", &"[redacted]")
            .field("spool", &self.spool)
            .field("spool_max", &self.spool_max)
            .finish()
    }
}

/// Why the node could not run.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("tls client: {0}")]
    Tls(#[from] rustls::Error),
    #[error("server URL {url}: {why}")]
    Url { url: String, why: String },
}

/// The spool's endpoints under the server's base URL.
pub fn endpoints(server: &url::Url, location: &str) -> Result<(url::Url, url::Url), NodeError> {
    let bad = |why: String| NodeError::Url {
        url: server.to_string(),
        why,
    };
    if !matches!(server.scheme(), "http" | "https") {
        return Err(bad("must be http:// or https://".into()));
    }
    let mut base = server.clone();
    // `https://host/beacon` and `https://host/beacon/` both mean the same base.
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let probes = base
        .join(&format!("api/v1/locations/{location}/probes"))
        .map_err(|e| bad(e.to_string()))?;
    let observations = base
        .join("api/v1/observations")
        .map_err(|e| bad(e.to_string()))?;
    Ok((probes, observations))
}

/// Runs the node until `shutdown` completes: then stops the probes (with the server's
/// grace period), writes every observation made to the spool, and closes it.
pub async fn run(
    settings: NodeSettings,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    let (probes_url, observations_url) = endpoints(&settings.server, &settings.location)?;
    let path = settings.spool.clone();
    let spool = tokio::task::spawn_blocking(move || Spool::open(&path))
        .await
        .map_err(|e| SpoolError::Task(e.to_string()))??;
    // A spool last used for another location keeps its observations (the server will say
    // whose they are), not that location's probes.
    let saved = spool
        .saved_assignment()?
        .filter(|(_, a)| a.location == settings.location);
    let backlog = spool.backlog();
    tracing::info!(
        spool = %settings.spool.display(),
        backlog,
        location = %settings.location,
        server = %settings.server,
        "prober node starting"
    );
    let spool = Arc::new(Mutex::new(spool));
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("beacon-probe/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let (sink, inbox) = mpsc::channel(1024);
    let mut runner = Runner::new(Shared {
        http: HttpChecker::new()?,
        tls: TlsChecker::new()?,
        push: PushBoard::default(),
        connectivity: None,
        clock: clock.clone(),
        location: settings.location.clone(),
        recorder: sink,
    });
    let spooled = Arc::new(Notify::new());
    let spooler = tokio::spawn(spool_observations(inbox, spool.clone(), spooled.clone()));

    let (sender, mut assignments) = watch::channel(None);
    let mut etag = None;
    let mut running = 0;
    if let Some((saved_etag, assignment)) = saved {
        running = assignment::wanted(&assignment).len();
        tracing::info!(
            probes = running,
            "probing the assignment saved in the spool until the server answers"
        );
        etag = saved_etag;
        sender.send_replace(Some(Arc::new(assignment)));
    }
    let stop = CancellationToken::new();
    let poller = tokio::spawn(
        assignment::Poller {
            client: client.clone(),
            url: probes_url,
            token: settings.token.clone(),
            location: settings.location.clone(),
            spool: spool.clone(),
            etag,
            running,
            sender,
        }
        .run(stop.clone()),
    );
    let uploader = tokio::spawn(
        uploader::Uploader {
            client,
            url: observations_url,
            token: settings.token.clone(),
            spool: spool.clone(),
            spooled,
            clock,
        }
        .run(stop.clone()),
    );

    tokio::pin!(shutdown);
    // The saved assignment (if any) is marked changed: applied on the first turn.
    assignments.mark_changed();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            changed = assignments.changed() => {
                if changed.is_err() {
                    break;
                }
                let current = assignments.borrow_and_update().clone();
                if let Some(assignment) = current {
                    apply(&mut runner, &spool, &assignment, settings.spool_max);
                }
            }
        }
    }

    tracing::info!("stopping: letting running checks finish, then closing the spool");
    stop.cancel();
    runner.stop().await;
    for (name, task) in [
        ("spooler", spooler),
        ("poller", poller),
        ("uploader", uploader),
    ] {
        if let Err(e) = task.await {
            tracing::error!(error = %e, "{name} task failed");
        }
    }
    let spool = Arc::try_unwrap(spool)
        .map_err(|_| SpoolError::Task("still in use at shutdown".into()))?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let left = spool.backlog();
    tokio::task::spawn_blocking(move || spool.close())
        .await
        .map_err(|e| SpoolError::Task(e.to_string()))??;
    tracing::info!(
        backlog = left,
        "prober node stopped; unsent observations stay in the spool"
    );
    Ok(())
}

/// Runs the probes of `assignment` (unchanged ones keep running) and bounds the spool by
/// what they make in `spool_max`.
fn apply(
    runner: &mut Runner,
    spool: &Mutex<Spool>,
    assignment: &ProbeAssignment,
    spool_max: Duration,
) {
    let (stopped, started) = runner.apply(assignment::wanted(assignment));
    let capacity = spool::capacity(&assignment.probes, spool_max);
    spool
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .set_capacity(capacity);
    tracing::info!(
        stopped,
        started,
        running = runner.len(),
        spool_capacity = capacity,
        "probe assignment applied"
    );
}

/// Writes every observation from the probes into the spool (what is queued at once goes in
/// one transaction), until every probe task is gone; logs drop episodes.
async fn spool_observations(
    mut inbox: mpsc::Receiver<RecorderMsg>,
    spool: Arc<Mutex<Spool>>,
    spooled: Arc<Notify>,
) {
    let mut episode = DropEpisode::default();
    let mut failing = false;
    while let Some(first) = inbox.recv().await {
        let mut batch: Vec<Observation> = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            // The runner sends only observations; the other messages are the server's.
            if let RecorderMsg::Observe(observation) = message {
                batch.push(observation);
            }
            next = if batch.len() < uploader::BATCH_MAX {
                inbox.try_recv().ok()
            } else {
                None
            };
        }
        if batch.is_empty() {
            continue;
        }
        let count = batch.len();
        let spool = spool.clone();
        let pushed = tokio::task::spawn_blocking(move || {
            let mut spool = spool.lock().unwrap_or_else(|p| p.into_inner());
            spool
                .push(&batch)
                .map(|dropped| (dropped, spool.capacity(), spool.dropped().unwrap_or(0)))
        })
        .await;
        match pushed {
            Ok(Ok((dropped, capacity, total))) => {
                if failing {
                    tracing::info!("spool writable again");
                    failing = false;
                }
                match episode.record(dropped) {
                    Some(DropLog::Started { dropped }) => tracing::warn!(
                        capacity,
                        "spool full ({capacity} observations, --spool-max): dropping the oldest, {dropped} so far"
                    ),
                    Some(DropLog::Ended { dropped }) => tracing::warn!(
                        total_dropped = total,
                        "spool has room again: dropped {dropped} of the oldest observations while it was full"
                    ),
                    None => {}
                }
                spooled.notify_one();
            }
            Ok(Err(e)) => {
                // Logged per change, with what each failure costs.
                if !failing {
                    tracing::error!(error = %e, lost = count, "cannot write to the spool; observations are lost until it works again");
                    failing = true;
                }
            }
            Err(e) => tracing::error!(error = %e, lost = count, "spool task failed"),
        }
    }
    if let Some(DropLog::Ended { dropped }) = episode.finish() {
        tracing::warn!("spool was full at shutdown: dropped {dropped} of the oldest observations");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_sit_under_the_servers_base_url() {
        let rows = [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/api/v1/locations/eu/probes",
                "http://127.0.0.1:8080/api/v1/observations",
            ),
            (
                "https://status.example.com/",
                "https://status.example.com/api/v1/locations/eu/probes",
                "https://status.example.com/api/v1/observations",
            ),
            (
                "https://example.com/beacon",
                "https://example.com/beacon/api/v1/locations/eu/probes",
                "https://example.com/beacon/api/v1/observations",
            ),
        ];
        for (server, probes, observations) in rows {
            let server = url::Url::parse(server).expect("url");
            let (p, o) = endpoints(&server, "eu").expect("endpoints");
            assert_eq!((p.as_str(), o.as_str()), (probes, observations));
        }
        let ftp = url::Url::parse("ftp://example.com").expect("url");
        let error = endpoints(&ftp, "eu").expect_err("refused");
        assert!(error.to_string().contains("http:// or https://"), "{error}");
    }
}
