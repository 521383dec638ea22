//! Heartbeats: the latest push of each push probe, written by the web handler and read by the
//! probe's scheduled evaluation.

use super::Seen;
use crate::domain::{Outcome, ProbeKey, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// A new random push token (shown once) and the hash stored in its place.
pub fn new_token() -> Result<(String, String), ring::error::Unspecified> {
    let mut bytes = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// SHA-256 of a token, hex: what the store keeps, so a database leak reveals no token.
pub fn hash_token(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

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
    /// Woken by each push, so the probe evaluates it at once instead of at its next slot.
    arrivals: Arc<Mutex<HashMap<ProbeKey, Arc<Notify>>>>,
}

impl PushBoard {
    /// Records a push (called by `GET` or `POST /api/v1/push/{token}`) and wakes its probe.
    pub fn record(&self, probe: ProbeKey, push: Push) {
        let arrived = self.arrivals(&probe);
        let mut latest = match self.latest.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        latest.insert(probe, push);
        drop(latest);
        arrived.notify_one();
    }

    /// What a push probe's task waits on for pushes between its scheduled evaluations.
    pub(super) fn arrivals(&self, probe: &ProbeKey) -> Arc<Notify> {
        let mut arrivals = match self.arrivals.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        arrivals.entry(probe.clone()).or_default().clone()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ProbeKey {
        ProbeKey {
            channel: "c".into(),
            probe: "job".into(),
        }
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 48);
        assert_eq!(hash_token(&a), hash_a);
        assert_ne!(hash_a, a);
    }

    #[test]
    fn a_push_counts_within_the_interval_plus_grace() {
        let board = PushBoard::default();
        let every = Duration::from_secs(60);
        let grace = Duration::from_secs(10);
        let silent = board.evaluate(&key(), Timestamp(100_000), every, grace);
        assert_eq!(
            silent.error.as_deref(),
            Some("push: none within 1m + 10s grace")
        );
        board.record(
            key(),
            Push {
                at: Timestamp(30_000),
                outcome: Outcome::Up,
                message: Some("ok".into()),
            },
        );
        let fresh = board.evaluate(&key(), Timestamp(100_000), every, grace);
        assert_eq!((fresh.error, fresh.body.as_deref()), (None, Some("ok")));
        let stale = board.evaluate(&key(), Timestamp(100_001), every, grace);
        assert!(stale
            .error
            .is_some_and(|e| e.ends_with("(last at 1970-01-01T00:00:30.000Z)")));
        board.record(
            key(),
            Push {
                at: Timestamp(100_000),
                outcome: Outcome::Down,
                message: Some("disk full".into()),
            },
        );
        let down = board.evaluate(&key(), Timestamp(100_500), every, grace);
        assert_eq!(down.error.as_deref(), Some("push: down: disk full"));
    }
}
