//! When probes run: one task per probe on a fixed-rate schedule with a deterministic start
//! offset, never overlapping itself.

use super::HttpChecker;
use crate::domain::{Clock, Config, Observation, ProbeKey, ProbeSpec, ProbeTarget};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Starts every probe, waits for `cancel`, then gives running checks `grace` to finish.
pub(super) async fn run_all(
    config: Arc<Config>,
    checker: HttpChecker,
    clock: Arc<dyn Clock>,
    observations: mpsc::Sender<Observation>,
    cancel: CancellationToken,
    grace: Duration,
) {
    let mut tasks = JoinSet::new();
    for channel in &config.channels {
        for spec in &channel.probes {
            let key = ProbeKey {
                channel: channel.id.clone(),
                probe: spec.name.clone(),
            };
            tasks.spawn(run_probe(
                key,
                spec.clone(),
                config.service.location.clone(),
                checker.clone(),
                clock.clone(),
                observations.clone(),
                cancel.clone(),
            ));
        }
    }
    drop(observations);
    tracing::info!(probes = tasks.len(), "prober started");
    cancel.cancelled().await;
    let finished =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(
            unfinished = tasks.len(),
            "probes still running after the shutdown grace period; their runs are not recorded"
        );
        tasks.shutdown().await;
    }
}

async fn run_probe(
    key: ProbeKey,
    spec: ProbeSpec,
    location: String,
    checker: HttpChecker,
    clock: Arc<dyn Clock>,
    observations: mpsc::Sender<Observation>,
    cancel: CancellationToken,
) {
    let start = Instant::now() + start_offset(&key, spec.every);
    let mut ticks = tokio::time::interval_at(start, spec.every);
    // A run is never late by more than one interval (timeout <= interval); if the runtime
    // stalled, missed runs are skipped, and the hole shows up as unknown time.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let at = clock.now();
        let result = match &spec.target {
            ProbeTarget::Http { url } => checker.check(url, spec.timeout).await,
        };
        let observation = Observation {
            probe: key.clone(),
            at,
            outcome: result.outcome,
            status_code: result.status_code,
            response_ms: result.response_ms,
            reason: result.reason,
            location: location.clone(),
            interval_ms: u64::try_from(spec.every.as_millis()).unwrap_or(u64::MAX),
            thresholds: spec.thresholds,
        };
        if observations.send(observation).await.is_err() {
            return;
        }
    }
}

/// A stable offset in `[0, min(every, 5s))` derived from the probe's key, so many probes do
/// not all fire in the same millisecond and each keeps its phase across restarts.
fn start_offset(key: &ProbeKey, every: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let span = every.min(Duration::from_secs(5)).as_millis().max(1) as u64;
    Duration::from_millis(hasher.finish() % span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_offsets_are_stable_and_within_the_interval() {
        let key = |p: &str| ProbeKey {
            channel: "c".into(),
            probe: p.into(),
        };
        let every = Duration::from_millis(200);
        assert_eq!(
            start_offset(&key("a"), every),
            start_offset(&key("a"), every)
        );
        let offsets: std::collections::HashSet<_> = (0..50)
            .map(|i| start_offset(&key(&i.to_string()), every))
            .collect();
        assert!(offsets.iter().all(|o| *o < every));
        assert!(offsets.len() > 10, "offsets spread out: {}", offsets.len());
    }
}
