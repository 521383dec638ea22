//! When probes run: one task per probe on its schedule (fixed rate or cron), started at a
//! stable per-probe offset, never overlapping itself; lateness is measured on every run.
//! Starts are fixed-rate: a run's deadline is never later than the next scheduled start, so
//! a hanging upstream cannot push the following starts later and later.

use super::connectivity::Connectivity;
use super::dns::DnsChecker;
use super::push::PushBoard;
use super::recorder::RecorderMsg;
use super::seen::{judge, needs_body};
use super::{HttpChecker, Seen, TlsChecker};
use crate::config::parse_cron;
use crate::domain::{
    Clock, Observation, Outcome, ProbeKey, ProbeSpec, ProbeTarget, Schedule, Timestamp,
};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What every probe task shares.
#[derive(Clone)]
pub(super) struct Shared {
    pub http: HttpChecker,
    pub tls: TlsChecker,
    pub push: PushBoard,
    pub connectivity: Option<Connectivity>,
    pub clock: Arc<dyn Clock>,
    pub location: String,
    pub recorder: mpsc::Sender<RecorderMsg>,
}

/// Runs one probe until `cancel`. A run in progress when cancelled is finished and recorded
/// (the caller bounds how long it waits).
pub(super) async fn run_probe(
    key: ProbeKey,
    spec: ProbeSpec,
    shared: Shared,
    cancel: CancellationToken,
) {
    let dns = match &spec.target {
        ProbeTarget::Dns { nameserver, .. } => match DnsChecker::new(*nameserver, spec.timeout) {
            Ok(checker) => Some(checker),
            Err(e) => {
                // Beacon's own resolver configuration: every run is recorded unknown.
                tracing::error!(probe = %key, error = %e, "cannot set up the DNS resolver; the probe's runs are recorded unknown");
                None
            }
        },
        _ => None,
    };
    let clock = shared.clock.clone();
    let keep_body = needs_body(&spec);
    let mut timing = Timing::new(&key, &spec, clock.now());
    // A push counts when it arrives: it is evaluated at once, off the schedule.
    let pushes =
        matches!(spec.target, ProbeTarget::Push { .. }).then(|| shared.push.arrivals(&key));
    loop {
        let wait = timing
            .next
            .millis()
            .saturating_sub(clock.now().millis())
            .max(0);
        let pushed = async {
            match &pushes {
                Some(arrivals) => arrivals.notified().await,
                None => std::future::pending().await,
            }
        };
        let by_push = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => false,
            _ = pushed => true,
        };
        let started = clock.now();
        let (scheduled, interval_ms, budget) = if by_push {
            // Off the schedule: no lateness, the probe's interval as its coverage.
            let every = crate::config::shortest_interval(&spec.schedule);
            let interval_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
            (started, interval_ms, spec.timeout)
        } else {
            let scheduled = timing.next;
            let interval_ms = timing.advance(started);
            (
                scheduled,
                interval_ms,
                run_budget(started, spec.timeout, timing.next),
            )
        };
        let seen = check(
            &spec,
            &key,
            &shared,
            dns.as_ref(),
            keep_body,
            started,
            budget,
        )
        .await;
        let (mut outcome, mut reason) = judge(&spec, &seen);
        if outcome == Outcome::Down {
            if let Some(connectivity) = &shared.connectivity {
                if let Err(why) = connectivity.check().await {
                    outcome = Outcome::Unknown;
                    reason = Some(format!(
                        "prober offline ({why}); not counted: {}",
                        reason.unwrap_or_default()
                    ));
                }
            }
        }
        let observation = Observation {
            probe: key.clone(),
            at: started,
            outcome,
            status_code: seen.status,
            response_ms: seen.response_ms,
            reason,
            location: shared.location.clone(),
            interval_ms,
            lateness_ms: u32::try_from(started.millis().saturating_sub(scheduled.millis()).max(0))
                .unwrap_or(u32::MAX),
            thresholds: spec.thresholds,
        };
        if shared
            .recorder
            .send(RecorderMsg::Observe(observation))
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn check(
    spec: &ProbeSpec,
    key: &ProbeKey,
    shared: &Shared,
    dns: Option<&DnsChecker>,
    keep_body: bool,
    now: Timestamp,
    timeout: Duration,
) -> Seen {
    match &spec.target {
        ProbeTarget::Http(target) => shared.http.check(target, timeout, keep_body, now).await,
        ProbeTarget::Tcp {
            host,
            port,
            send,
            expect,
        } => super::tcp::check(host, *port, send.as_deref(), expect.as_deref(), timeout).await,
        ProbeTarget::Tls { host, port } => shared.tls.check(host, *port, timeout, now).await,
        ProbeTarget::Dns { name, record, .. } => match dns {
            Some(dns) => dns.check(name, *record, timeout).await,
            None => Seen::failed(format!(
                "{}resolver configuration (dns: the resolver could not be set up)",
                super::reason::OWN_FAILURE
            )),
        },
        ProbeTarget::Push { grace } => {
            let every = crate::config::shortest_interval(&spec.schedule);
            shared.push.evaluate(key, now, every, *grace)
        }
    }
}

/// How long the run that began at `started` may take: the probe's timeout, cut short so it
/// ends by the `next` scheduled start. Without the cut, a check that always runs its whole
/// timeout (a hanging upstream with the timeout equal to the interval) would end a little
/// after the next start, so each start would be later than the one before.
fn run_budget(started: Timestamp, timeout: Duration, next: Timestamp) -> Duration {
    let until_next = u64::try_from(next.millis().saturating_sub(started.millis())).unwrap_or(0);
    timeout.min(Duration::from_millis(until_next.max(1)))
}

/// A probe's schedule in wall-clock milliseconds.
struct Timing {
    schedule: Schedule,
    cron: Option<cron::Schedule>,
    /// Stable per-probe offset spreading probes apart.
    offset_ms: i64,
    /// Next scheduled start.
    next: Timestamp,
}

impl Timing {
    fn new(key: &ProbeKey, spec: &ProbeSpec, now: Timestamp) -> Timing {
        let cron = match &spec.schedule {
            Schedule::Cron(expr) => parse_cron(expr).ok(),
            Schedule::Every(_) => None,
        };
        let interval = crate::config::shortest_interval(&spec.schedule);
        // Fixed-rate probes spread over up to 5 s; cron probes keep close to their minute.
        let spread = match spec.schedule {
            Schedule::Every(_) => interval.min(Duration::from_secs(5)),
            Schedule::Cron(_) => (interval / 10).min(Duration::from_secs(1)),
        };
        let offset_ms = start_offset(key, spread).as_millis() as i64;
        let mut timing = Timing {
            schedule: spec.schedule.clone(),
            cron,
            offset_ms,
            next: now,
        };
        // Push probes first look after a full window: nobody could have pushed before start.
        let first_delay = match &spec.target {
            ProbeTarget::Push { grace } => {
                i64::try_from((interval + *grace).as_millis()).unwrap_or(i64::MAX)
            }
            _ => 0,
        };
        timing.next = match &timing.schedule {
            Schedule::Every(_) => now.plus_ms(offset_ms + first_delay),
            Schedule::Cron(_) => timing.fire_after(now.plus_ms(first_delay)),
        };
        timing
    }

    /// Moves to the next start after the run that began at `started`, skipping starts that
    /// already passed (a stalled runtime shows up as unknown time, never as extra runs), and
    /// returns the interval this run covers: next scheduled start minus this one.
    fn advance(&mut self, started: Timestamp) -> u64 {
        let this = self.next;
        let next = match &self.schedule {
            Schedule::Every(every) => {
                let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
                let mut next = this.plus_ms(every_ms);
                if next <= started {
                    let behind = started.millis() - next.millis();
                    next = next.plus_ms((behind / every_ms + 1) * every_ms);
                }
                next
            }
            Schedule::Cron(_) => self.fire_after(started.max(this)),
        };
        self.next = next;
        u64::try_from(next.millis() - this.millis())
            .unwrap_or(1)
            .max(1)
    }

    /// The first cron fire strictly after `t`, plus this probe's offset.
    fn fire_after(&self, t: Timestamp) -> Timestamp {
        let fallback = t.plus_ms(60_000);
        let Some(cron) = &self.cron else {
            return fallback;
        };
        let Some(after) =
            chrono::DateTime::<chrono::Utc>::from_timestamp_millis(t.millis() - self.offset_ms)
        else {
            return fallback;
        };
        cron.after(&after).next().map_or(fallback, |fire| {
            Timestamp(fire.timestamp_millis() + self.offset_ms)
        })
    }
}

/// A stable offset in `[0, spread)` from the probe's key, so many probes do not fire in the
/// same millisecond and each keeps its phase across restarts.
fn start_offset(key: &ProbeKey, spread: Duration) -> Duration {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let span = spread.as_millis().max(1) as u64;
    Duration::from_millis(hasher.finish() % span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HttpTarget, Thresholds};

    fn key(p: &str) -> ProbeKey {
        ProbeKey {
            channel: "c".into(),
            probe: p.into(),
        }
    }

    fn spec(schedule: Schedule) -> ProbeSpec {
        ProbeSpec {
            name: "p".into(),
            target: ProbeTarget::Http(HttpTarget {
                url: "http://x.test/".into(),
                method: "GET".into(),
                headers: vec![],
                body: None,
                follow_redirects: true,
                insecure: false,
                max_body_bytes: 1024,
            }),
            schedule,
            timeout: Duration::from_secs(1),
            thresholds: Thresholds {
                failure: 3,
                success: 2,
            },
            conditions: vec![],
            degraded_if: vec![],
            locations: vec!["local".into()],
            quorum: 1,
        }
    }

    #[test]
    fn start_offsets_are_stable_and_within_the_spread() {
        let spread = Duration::from_millis(200);
        assert_eq!(
            start_offset(&key("a"), spread),
            start_offset(&key("a"), spread)
        );
        let offsets: std::collections::HashSet<_> = (0..50)
            .map(|i| start_offset(&key(&i.to_string()), spread))
            .collect();
        assert!(offsets.iter().all(|o| *o < spread));
        assert!(offsets.len() > 10, "offsets spread out: {}", offsets.len());
    }

    #[test]
    fn fixed_rate_keeps_its_phase_and_skips_missed_runs() {
        let mut t = Timing::new(
            &key("a"),
            &spec(Schedule::Every(Duration::from_millis(100))),
            Timestamp(1_000),
        );
        let first = t.next;
        assert!(first.millis() >= 1_000 && first.millis() < 1_100);
        assert_eq!(t.advance(first), 100);
        assert_eq!(t.next, first.plus_ms(100));
        // The runtime stalled for 350 ms: the missed starts are skipped, the phase kept.
        let late = t.next.plus_ms(350);
        t.advance(late);
        assert_eq!(t.next, first.plus_ms(500));
    }

    /// A hanging upstream with the timeout equal to the interval: every run uses its whole
    /// budget, and finishing it (recording, the next turn of the loop) costs 3 ms more.
    #[test]
    fn runs_that_use_their_whole_timeout_keep_the_starts_on_schedule() {
        let every = Duration::from_secs(1);
        let mut t = Timing::new(&key("a"), &spec(Schedule::Every(every)), Timestamp(0));
        let first = t.next;
        let mut ready = first;
        for n in 0..20 {
            let scheduled = t.next;
            assert_eq!(
                scheduled,
                first.plus_ms(n * 1_000),
                "run {n} is scheduled on its slot"
            );
            // The loop sleeps until the scheduled start, or starts at once when it is past.
            let started = ready.max(scheduled);
            let late = started.millis() - scheduled.millis();
            assert!(late <= 3, "run {n} started {late} ms late");
            t.advance(started);
            let budget = run_budget(started, every, t.next);
            ready = started.plus_ms(budget.as_millis() as i64 + 3);
        }
    }

    #[test]
    fn the_budget_is_the_timeout_cut_to_end_by_the_next_start() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        for (started, timeout, next, budget) in [
            (0, s(10), 60_000, s(10)),
            (0, s(10), 10_000, s(10)),
            (3, s(10), 10_000, ms(9_997)),
            (59_000, s(10), 60_000, s(1)),
            (60_000, s(10), 60_000, ms(1)),
        ] {
            assert_eq!(
                run_budget(Timestamp(started), timeout, Timestamp(next)),
                budget,
                "started {started}, timeout {timeout:?}, next {next}"
            );
        }
    }

    #[test]
    fn cron_runs_on_its_fire_times_and_covers_until_the_next() {
        // Every 5 minutes at second 0; offsets for cron stay under a second.
        let mut t = Timing::new(
            &key("a"),
            &spec(Schedule::Cron("0 */5 * * * *".into())),
            Timestamp(1_795_665_601_000),
        );
        let first = t.next;
        let minute_phase = (first.millis() - t.offset_ms) % 300_000;
        assert_eq!(minute_phase, 0, "fires on the 5-minute mark");
        assert_eq!(t.advance(first), 300_000);
        assert_eq!(t.next, first.plus_ms(300_000));
    }
}
