//! Login rate limiting: a sliding window of failures per remote address and per account
//! name. Both keys count, so neither one address guessing many names nor many addresses
//! guessing one name gets far.

use crate::domain::Timestamp;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Remembers failed logins; shared by every request (cheap: a mutex around small maps).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, VecDeque<Timestamp>>>,
}

/// At most this many keys are remembered; beyond that the oldest windows are forgotten
/// first, so a flood of random names cannot grow memory without bound.
const MAX_KEYS: usize = 10_000;

impl LoginThrottle {
    /// How long until `address` or `name` may try again, if either is over `limit`
    /// failures within `window` before `now`.
    pub fn wait(
        &self,
        address: &str,
        name: &str,
        now: Timestamp,
        limit: u32,
        window: Duration,
    ) -> Option<Duration> {
        let mut failures = self.lock();
        [address_key(address), name_key(name)]
            .iter()
            .filter_map(|key| {
                let times = failures.get_mut(key)?;
                forget_before(times, now, window);
                if times.len() < limit as usize {
                    return None;
                }
                let oldest = *times.front()?;
                let until = oldest.millis() + window_ms(window);
                Some(Duration::from_millis(
                    u64::try_from(until - now.millis()).unwrap_or(0).max(1),
                ))
            })
            .max()
    }

    /// Counts a failed login against both keys.
    pub fn failed(&self, address: &str, name: &str, now: Timestamp, window: Duration) {
        let mut failures = self.lock();
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| {
                forget_before(times, now, window);
                !times.is_empty()
            });
        }
        for key in [address_key(address), name_key(name)] {
            if failures.len() < MAX_KEYS || failures.contains_key(&key) {
                failures.entry(key).or_default().push_back(now);
            }
        }
    }

    /// A successful login clears the account name's failures (not the address's).
    pub fn succeeded(&self, name: &str) {
        self.lock().remove(&name_key(name));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Timestamp>>> {
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still usable.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

fn name_key(name: &str) -> String {
    format!("name:{}", name.to_lowercase())
}

fn window_ms(window: Duration) -> i64 {
    i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
}

fn forget_before(times: &mut VecDeque<Timestamp>, now: Timestamp, window: Duration) {
    let horizon = now.millis().saturating_sub(window_ms(window));
    while times.front().is_some_and(|t| t.millis() <= horizon) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    #[test]
    fn the_limit_holds_per_address_and_per_name_until_the_window_passes() {
        let t = LoginThrottle::default();
        let at = |s: i64| Timestamp(s * 1000);
        for s in 0..3 {
            assert_eq!(t.wait("10.0.0.1", "alice", at(s), 3, WINDOW), None);
            t.failed("10.0.0.1", "alice", at(s), WINDOW);
        }
        // Third failure at 2 s: blocked until the first one (0 s) leaves the window at 60 s.
        assert_eq!(
            t.wait("10.0.0.1", "bob", at(10), 3, WINDOW),
            Some(Duration::from_secs(50))
        );
        assert_eq!(
            t.wait("10.0.0.9", "ALICE", at(10), 3, WINDOW),
            Some(Duration::from_secs(50)),
            "the name counts whatever the address and case"
        );
        assert_eq!(t.wait("10.0.0.9", "bob", at(10), 3, WINDOW), None);
        assert_eq!(t.wait("10.0.0.1", "alice", at(61), 3, WINDOW), None);
    }

    #[test]
    fn success_clears_the_name_but_not_the_address() {
        let t = LoginThrottle::default();
        for s in 0..2 {
            t.failed("10.0.0.1", "alice", Timestamp(s), WINDOW);
        }
        t.succeeded("alice");
        assert_eq!(t.wait("10.0.0.2", "alice", Timestamp(5), 2, WINDOW), None);
        assert!(t
            .wait("10.0.0.1", "carol", Timestamp(5), 2, WINDOW)
            .is_some());
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_names() {
        let t = LoginThrottle::default();
        for i in 0..(MAX_KEYS + 500) {
            t.failed("10.0.0.1", &format!("user{i}"), Timestamp(0), WINDOW);
        }
        assert!(t.lock().len() <= MAX_KEYS);
    }
}
