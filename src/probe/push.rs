//! Heartbeats: the latest push of each push probe, written by the web handler and read by the
//! probe's scheduled evaluation.

use super::Seen;
use crate::domain::{Outcome, ProbeKey, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One received push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub at: Timestamp,
    /// `up` unless the caller said `?status=down`.
    pub outcome: Outcome,
    pub message: Option<String>,
}

/// The latest push per probe, shared between the web layer and the prober.
#[derive(Clone, Default)]
pub struct PushBoard {
    latest: Arc<Mutex<HashMap<ProbeKey, Push>>>,
}

impl PushBoard {
    /// Records a push (called by `POST /api/v1/push/{token}`).
    pub fn record(&self, probe: ProbeKey, push: Push) {
        let mut latest = match self.latest.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        latest.insert(probe, push);
    }

    fn latest(&self, probe: &ProbeKey) -> Option<Push> {
        let latest = match self.latest.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        latest.get(probe).cloned()
    }

    /// What the scheduled evaluation at `now` sees: the latest push if it arrived within
    /// `every + grace`, else a failure naming the silence.
    pub(super) fn evaluate(
        &self,
        probe: &ProbeKey,
        now: Timestamp,
        every: Duration,
        grace: Duration,
    ) -> Seen {
        let window = i64::try_from((every + grace).as_millis()).unwrap_or(i64::MAX);
        match self.latest(probe) {
            Some(push) if push.at.millis() >= now.millis().saturating_sub(window) => Seen {
                connected: true,
                body: push.message.clone(),
                error: (push.outcome != Outcome::Up).then(|| match &push.message {
                    Some(m) => format!("push: down: {m}"),
                    None => "push: down".to_owned(),
                }),
                ..Seen::default()
            },
            latest => Seen::failed(format!(
                "push: none within {} + {} grace{}",
                humantime::format_duration(every),
                humantime::format_duration(grace),
                latest.map_or(String::new(), |p| format!(" (last at {})", p.at))
            )),
        }
    }
}
