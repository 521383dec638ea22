//! Login rate limiting, keyed on the client address and the account name together, with
//! exponential backoff instead of a lockout. The rules live here; the failures they count are kept
//! in the database (`store`), so they hold whichever node a login lands on.
//!
//! Why this shape: a lockout per name lets anyone lock a colleague out by typing their name
//! five times, and one per address locks out everybody behind the same proxy or NAT. Keyed on
//! the pair, a guesser slows down only their own guesses at one account; the backoff doubles
//! with every failure, so guessing stays hopeless while the owner who mistyped waits seconds,
//! not a quarter of an hour. A coarse cap per address (many failures over many names) stops
//! one client from spraying names; it never touches other addresses.

use crate::domain::{AuthSettings, Timestamp};
use std::time::Duration;

/// What the store remembers of one client address and account name when a login comes in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginHistory {
    /// This address's failures in a row for this name.
    pub streak: Option<Streak>,
    /// This address's failures over all names after [`window_start`], oldest first.
    pub address_failures: Vec<Timestamp>,
}

/// Failures in a row, and when the last one was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streak {
    pub count: u32,
    pub last: Timestamp,
}

/// One address may fail this many times `login_attempts` within the window, over any
/// names, before it waits too.
pub const ADDRESS_FACTOR: u32 = 10;

/// How long until the address may try the name again, if it must wait at all: the streak's
/// backoff, or the address's cap over all names, whichever ends later.
pub fn wait(history: &LoginHistory, now: Timestamp, auth: &AuthSettings) -> Option<Duration> {
    let pair = history
        .streak
        .and_then(|streak| pair_wait(streak, now, auth));
    let horizon = window_start(now, auth.login_window);
    let recent: Vec<Timestamp> = history
        .address_failures
        .iter()
        .copied()
        .filter(|t| *t > horizon)
        .collect();
    let limit = auth.login_attempts.saturating_mul(ADDRESS_FACTOR) as usize;
    let spray = if recent.len() < limit {
        None
    } else {
        recent.first().and_then(|first| {
            positive(first.millis().saturating_add(millis(auth.login_window)) - now.millis())
        })
    };
    pair.max(spray)
}

/// Failures at or before this instant are outside the window and count no more.
pub fn window_start(now: Timestamp, window: Duration) -> Timestamp {
    Timestamp(now.millis().saturating_sub(millis(window)))
}

/// A streak whose last failure is at or before this instant is over: the next failure counts
/// from one. Two windows: longer than the longest wait (one window), so a guesser who waits
/// it out keeps the longest wait rather than starting over.
pub fn streak_reset_before(now: Timestamp, window: Duration) -> Timestamp {
    Timestamp(
        now.millis()
            .saturating_sub(millis(window).saturating_mul(2)),
    )
}

/// A streak after one more failure at `now` (what the store's upsert computes, in SQL).
pub fn next_streak(previous: Option<Streak>, now: Timestamp, window: Duration) -> Streak {
    let reset = streak_reset_before(now, window);
    let count = match previous {
        Some(s) if s.last > reset => s.count.saturating_add(1),
        _ => 1,
    };
    Streak { count, last: now }
}

/// Account names are throttled case-insensitively: `Alice` and `alice` share a streak.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
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

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn positive(ms: i64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms.unsigned_abs()))
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

    /// The store's part, in memory: failures in a row per (address, name) and per address.
    #[derive(Default)]
    struct Memory {
        streaks: std::collections::HashMap<(String, String), Streak>,
        failures: Vec<(String, Timestamp)>,
    }

    impl Memory {
        fn history(
            &self,
            address: &str,
            name: &str,
            now: Timestamp,
            auth: &AuthSettings,
        ) -> LoginHistory {
            let since = window_start(now, auth.login_window);
            LoginHistory {
                streak: self.streaks.get(&(address.into(), name_key(name))).copied(),
                address_failures: self
                    .failures
                    .iter()
                    .filter(|(a, t)| a == address && *t > since)
                    .map(|(_, t)| *t)
                    .collect(),
            }
        }
        fn wait(
            &self,
            address: &str,
            name: &str,
            now: Timestamp,
            auth: &AuthSettings,
        ) -> Option<Duration> {
            wait(&self.history(address, name, now, auth), now, auth)
        }
        fn failed(&mut self, address: &str, name: &str, now: Timestamp, auth: &AuthSettings) {
            let key = (address.to_owned(), name_key(name));
            let next = next_streak(self.streaks.get(&key).copied(), now, auth.login_window);
            self.streaks.insert(key, next);
            self.failures.push((address.to_owned(), now));
        }
        fn succeeded(&mut self, address: &str, name: &str) {
            self.streaks.remove(&(address.to_owned(), name_key(name)));
        }
    }

    #[test]
    fn a_streak_counts_from_one_after_two_quiet_windows() {
        let window = Duration::from_secs(60);
        let cases = [
            (None, 1_000, 1),
            (Some((1, 0)), 1_000, 2),
            (Some((7, 0)), 119_999, 8),
            (Some((7, 0)), 120_000, 1),
            (Some((u32::MAX, 5)), 6, u32::MAX),
        ];
        for (previous, now, expected) in cases {
            let previous = previous.map(|(count, last)| Streak {
                count,
                last: at(last),
            });
            let next = next_streak(previous, at(now), window);
            assert_eq!(
                next,
                Streak {
                    count: expected,
                    last: at(now)
                },
                "{previous:?} at {now}"
            );
        }
        assert_eq!(window_start(at(100_000), window), at(40_000));
        assert_eq!(streak_reset_before(at(100_000), window), at(-20_000));
        assert_eq!(name_key("ALICE"), "alice");
    }

    #[test]
    fn after_the_free_attempts_each_failure_doubles_the_wait() {
        let (mut t, auth) = (Memory::default(), auth());
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
        let (mut t, auth) = (Memory::default(), auth());
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
        let (mut t, auth) = (Memory::default(), auth());
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
        let (mut t, auth) = (Memory::default(), auth());
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
}
