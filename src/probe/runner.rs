//! The running probe tasks of one location: started, stopped and kept to match a wanted set.
//! The server's prober and a prober-only node (`beacon probe`) both run their probes here;
//! they differ only in where the observations go (the recorder, or the node's spool).

use super::recorder::RecorderMsg;
use super::scheduler::{self, Shared};
use crate::domain::{Config, ProbeKey, ProbeSpec};
use std::collections::HashMap;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long running checks may take to finish after shutdown begins, so Beacon exits within
/// 5 s even when a probe's timeout is longer; unfinished runs are dropped, not recorded.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// One task per probe, on the runtime the runner was created on.
pub(super) struct Runner {
    pub(super) shared: Shared,
    running: HashMap<ProbeKey, (ProbeSpec, CancellationToken)>,
    tasks: JoinSet<()>,
    runtime: tokio::runtime::Handle,
}

/// The probes of `config` that run at `location`.
pub(super) fn wanted_at(config: &Config, location: &str) -> Vec<(ProbeKey, ProbeSpec)> {
    config
        .probes_at(location)
        .map(|(channel, spec)| {
            (
                ProbeKey {
                    channel: channel.id.clone(),
                    probe: spec.name.clone(),
                },
                spec.clone(),
            )
        })
        .collect()
}

impl Runner {
    /// A runner whose tasks go to the current runtime (the prober's own, see `app`).
    pub(super) fn new(shared: Shared) -> Runner {
        Runner {
            shared,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// How many probes are running.
    pub(super) fn len(&self) -> usize {
        self.running.len()
    }

    /// Starts and stops tasks so the running set matches `wanted`: probes that disappeared or
    /// changed are stopped, new and changed ones started, unchanged ones left running.
    /// Returns (stopped, started).
    pub(super) fn apply(&mut self, wanted: Vec<(ProbeKey, ProbeSpec)>) -> (usize, usize) {
        let wanted: HashMap<ProbeKey, ProbeSpec> = wanted.into_iter().collect();
        let mut stopped = 0;
        self.running.retain(|key, (spec, cancel)| {
            let keep = wanted.get(key).is_some_and(|w| w == spec);
            if !keep {
                cancel.cancel();
                stopped += 1;
            }
            keep
        });
        let mut started = 0;
        for (key, spec) in wanted {
            if self.running.contains_key(&key) {
                continue;
            }
            let cancel = CancellationToken::new();
            self.tasks.spawn_on(
                scheduler::run_probe(
                    key.clone(),
                    spec.clone(),
                    self.shared.clone(),
                    cancel.clone(),
                ),
                &self.runtime,
            );
            self.running.insert(key, (spec, cancel));
            started += 1;
        }
        (stopped, started)
    }

    /// Stops scheduling and lets running checks finish (up to the grace period); drops the
    /// sink once every task is done, so its consumer sees the end.
    pub(super) async fn stop(mut self) {
        for (_, cancel) in self.running.values() {
            cancel.cancel();
        }
        let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                unfinished = self.tasks.len(),
                "probes still running after the shutdown grace period; their runs are not recorded"
            );
            self.tasks.shutdown().await;
        }
        drop(self.shared);
    }

    /// Where observations go.
    pub(super) fn sink(&self) -> &tokio::sync::mpsc::Sender<RecorderMsg> {
        &self.shared.recorder
    }
}
