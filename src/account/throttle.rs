//! Login rate limiting, keyed on the client address and the account name together, with
//! exponential backoff instead of a lockout.
//!
//! Why this shape: a lockout per name lets anyone lock a colleague out by typing their name
//! five times, and one per address locks out everybody behind the same proxy or NAT. Keyed on
//! the pair, a guesser slows down only their own guesses at one account; the backoff doubles
//! with every failure, so guessing stays hopeless while the owner who mistyped waits seconds,
//! not a quarter of an hour. A coarse cap per address (many failures over many names) stops
//! one client from spraying names; it never touches other addresses.

use crate::domain::{AuthSettings, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Remembers failed logins; shared by every request (cheap: a mutex around small maps).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    inner: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    /// Per address and lower-cased account name: how many failures in a row, and the last.
    pairs: HashMap<(String, String), Streak>,
    /// Per address, over all names: the failures within the window, oldest first.
    addresses: HashMap<String, VecDeque<Timestamp>>,
}

#[derive(Debug, Clone, Copy)]
struct Streak {
    count: u32,
    last: Timestamp,
}

/// At most this many keys are remembered per map; beyond that the expired ones are
/// forgotten and new keys are not added, so a flood of random names cannot grow memory.
const MAX_KEYS: usize = 10_000;

/// One address may fail this many times `login_attempts` within the window, over any
/// names, before it waits too.
const ADDRESS_FACTOR: u32 = 10;

impl LoginThrottle {
    /// How long until `address` may try `name` again, if it must wait at all.
    pub fn wait(
        &self,
        address: &str,
        name: &str,
        now: Timestamp,
        auth: &AuthSettings,
    ) -> Option<Duration> {
        let mut failures = self.lock();
        let pair = failures
            .pairs
            .get(&pair_key(address, name))
            .copied()
            .and_then(|streak| pair_wait(streak, now, auth));
        let spray = failures.addresses.get_mut(address).and_then(|times| {
            forget_before(times, now, auth.login_window);
            let limit = auth.login_attempts.saturating_mul(ADDRESS_FACTOR) as usize;
            if times.len() < limit {
                return None;
            }
            let until = times
                .front()?
                .millis()
                .saturating_add(millis(auth.login_window));
            positive(until - now.millis())
        });
        pair.max(spray)
    }

    /// Counts a failed login of `address` for `name`.
    pub fn failed(&self, address: &str, name: &str, now: Timestamp, auth: &AuthSettings) {
        let mut failures = self.lock();
        let window = auth.login_window;
        if failures.pairs.len() >= MAX_KEYS {
            failures.pairs.retain(|_, s| !streak_over(*s, now, window));
        }
        if failures.addresses.len() >= MAX_KEYS {
            failures.addresses.retain(|_, times| {
                forget_before(times, now, window);
                !times.is_empty()
            });
        }
        let key = pair_key(address, name);
        if failures.pairs.len() < MAX_KEYS || failures.pairs.contains_key(&key) {
            let streak = failures.pairs.entry(key).or_insert(Streak {
                count: 0,
                last: now,
            });
            if streak_over(*streak, now, window) {
                streak.count = 0;
            }
            streak.count = streak.count.saturating_add(1);
            streak.last = now;
        }
        if failures.addresses.len() < MAX_KEYS || failures.addresses.contains_key(address) {
            let times = failures.addresses.entry(address.to_owned()).or_default();
            forget_before(times, now, window);
            times.push_back(now);
        }
    }

    /// A successful login ends the streak of this address for this name (the address's
    /// count over all names stays).
    pub fn succeeded(&self, address: &str, name: &str) {
        self.lock().pairs.remove(&pair_key(address, name));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Failures> {
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The wait after `streak`: none for the first `login_attempts` failures, then
/// `login_backoff` doubled for each failure beyond them, at most `login_window`.
fn pair_wait(streak: Streak, now: Timestamp, auth: &AuthSettings) -> Option<Duration> {
    let since = now.millis() - streak.last.millis();
    if streak.count < auth.login_attempts {
        return None;
    }
    let doublings = (streak.count - auth.login_attempts).min(32);
    let delay = millis(auth.login_backoff)
        .saturating_mul(1_i64 << doublings)
        .min(millis(auth.login_window));
    positive(delay - since)
}

/// A streak ends after two windows without a failure: longer than the longest wait (one
/// window), so a guesser who waits it out keeps the longest wait rather than starting over.
fn streak_over(streak: Streak, now: Timestamp, window: Duration) -> bool {
    now.millis() - streak.last.millis() >= millis(window).saturating_mul(2)
}

fn pair_key(address: &str, name: &str) -> (String, String) {
    (address.to_owned(), name.to_lowercase())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn positive(ms: i64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms.unsigned_abs()))
}

fn forget_before(times: &mut VecDeque<Timestamp>, now: Timestamp, window: Duration) {
    let horizon = now.millis().saturating_sub(millis(window));
    while times.front().is_some_and(|t| t.millis() <= horizon) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> AuthSettings {
        AuthSettings {
            login_attempts: 3,
            login_window: Duration::from_secs(60),
            login_backoff: Duration::from_secs(1),
            ..AuthSettings::default()
        }
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    #[test]
    fn after_the_free_attempts_each_failure_doubles_the_wait() {
        let (t, auth) = (LoginThrottle::default(), auth());
        for ms in 0..3 {
            assert_eq!(t.wait("10.0.0.1", "alice", at(ms), &auth), None);
            t.failed("10.0.0.1", "alice", at(ms), &auth);
        }
        // Third failure at 2 ms: the next try waits login_backoff from it.
        let s = Duration::from_millis;
        assert_eq!(t.wait("10.0.0.1", "alice", at(2), &auth), Some(s(1_000)));
        assert_eq!(t.wait("10.0.0.1", "ALICE", at(502), &auth), Some(s(500)));
        assert_eq!(t.wait("10.0.0.1", "alice", at(1_002), &auth), None);
        // Each further failure doubles it: 2 s, 4 s, ...
        let mut now = 1_002;
        for expected in [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000] {
            t.failed("10.0.0.1", "alice", at(now), &auth);
            assert_eq!(
                t.wait("10.0.0.1", "alice", at(now), &auth),
                Some(s(expected)),
                "capped at login_window"
            );
            now += expected as i64;
            assert_eq!(t.wait("10.0.0.1", "alice", at(now), &auth), None);
        }
    }

    #[test]
    fn a_streak_slows_only_its_own_address_and_name() {
        let (t, auth) = (LoginThrottle::default(), auth());
        for ms in 0..5 {
            t.failed("10.0.0.1", "alice", at(ms), &auth);
        }
        assert!(t.wait("10.0.0.1", "alice", at(10), &auth).is_some());
        assert_eq!(
            t.wait("10.0.0.1", "bob", at(10), &auth),
            None,
            "another account from the same address"
        );
        assert_eq!(
            t.wait("10.0.0.2", "alice", at(10), &auth),
            None,
            "the same account from another address: nobody locks a colleague out"
        );
    }

    #[test]
    fn success_ends_the_streak_and_the_window_forgets_it() {
        let (t, auth) = (LoginThrottle::default(), auth());
        for ms in 0..3 {
            t.failed("10.0.0.1", "alice", at(ms), &auth);
        }
        t.succeeded("10.0.0.1", "alice");
        assert_eq!(t.wait("10.0.0.1", "alice", at(5), &auth), None);
        t.failed("10.0.0.1", "alice", at(5), &auth);
        assert_eq!(
            t.wait("10.0.0.1", "alice", at(6), &auth),
            None,
            "a new streak starts free"
        );

        for ms in 0..9 {
            t.failed("10.0.0.3", "carol", at(ms), &auth);
        }
        assert!(t.wait("10.0.0.3", "carol", at(59_000), &auth).is_some());
        assert_eq!(t.wait("10.0.0.3", "carol", at(60_008), &auth), None);
        t.failed("10.0.0.3", "carol", at(60_008), &auth);
        assert_eq!(
            t.wait("10.0.0.3", "carol", at(60_009), &auth),
            Some(Duration::from_millis(59_999)),
            "waiting out the longest wait keeps it"
        );
        t.failed("10.0.0.3", "carol", at(180_008), &auth);
        assert_eq!(
            t.wait("10.0.0.3", "carol", at(180_009), &auth),
            None,
            "after two quiet windows the count starts again"
        );
    }

    #[test]
    fn an_address_spraying_names_waits_alone() {
        let (t, auth) = (LoginThrottle::default(), auth());
        let limit = auth.login_attempts * ADDRESS_FACTOR;
        for i in 0..limit {
            let name = format!("user{i}");
            assert_eq!(t.wait("10.0.0.1", &name, at(i64::from(i)), &auth), None);
            t.failed("10.0.0.1", &name, at(i64::from(i)), &auth);
        }
        assert_eq!(
            t.wait("10.0.0.1", "someone-new", at(1_000), &auth),
            Some(Duration::from_secs(59)),
            "until the first of its failures leaves the window"
        );
        assert_eq!(t.wait("10.0.0.2", "someone-new", at(1_000), &auth), None);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_names() {
        let (t, auth) = (LoginThrottle::default(), auth());
        for i in 0..(MAX_KEYS + 500) {
            t.failed(&format!("10.{i}"), &format!("user{i}"), at(0), &auth);
        }
        let failures = t.lock();
        assert!(failures.pairs.len() <= MAX_KEYS && failures.addresses.len() <= MAX_KEYS);
    }
}
