//! Recurring maintenance: every rule (from `probes.toml` or the API) publishes its windows
//! that start within the next [`HORIZON_MS`] as ordinary scheduled maintenance, which
//! [`super::run`] then starts and ends on time. Times are UTC, so there is no daylight saving.
//!
//! Publishing is idempotent: the store keys each window by rule and start, so a restart or a
//! reload publishes nothing twice. A rule that is removed publishes no new window; the ones it
//! already published stay as history (an operator can still complete or hide them).

use crate::config::parse_cron;
use crate::domain::{
    Actor, Clock, Config, DeclaredStatus, Impact, IncidentKind, NewIncident, RecurringMaintenance,
    Repeat, Timestamp, UpdateStatus,
};
use crate::store::{Occurrence, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How far ahead windows are published: two weeks, so the page shows the next two of a
/// weekly rule and a restart within that time misses nothing.
pub const HORIZON_MS: i64 = 14 * 24 * 3600 * 1000;
/// At most this many upcoming windows per rule (a frequent cron rule would otherwise fill
/// the page); the rest follow as time passes.
pub const MAX_AHEAD: usize = 20;
/// How often the rules are looked at (and at once after a configuration change).
const TICK: Duration = Duration::from_secs(10);

/// The starts of `repeat` at or after `from` and before `until`, at most `max`, in order.
pub fn starts(repeat: &Repeat, from: Timestamp, until: Timestamp, max: usize) -> Vec<Timestamp> {
    let mut out = Vec::new();
    match repeat {
        Repeat::Weekly(at) => {
            let mut t = at.next_after(from.millis() - 1);
            while t < until.millis() && out.len() < max {
                out.push(Timestamp(t));
                t = at.next_after(t);
            }
        }
        Repeat::Cron(expression) => {
            let (Ok(schedule), Some(after)) = (
                parse_cron(expression),
                chrono::DateTime::<chrono::Utc>::from_timestamp_millis(from.millis() - 1),
            ) else {
                return out;
            };
            out.extend(
                schedule
                    .after(&after)
                    .map(|t| Timestamp(t.timestamp_millis()))
                    .take_while(|t| *t < until)
                    .take(max),
            );
        }
    }
    out
}

/// The windows `rule` wants published at `now`: those starting within the horizon.
pub fn occurrences(rule: &RecurringMaintenance, now: Timestamp) -> Vec<Occurrence> {
    let affected: crate::domain::Affected = rule
        .channels
        .iter()
        .map(|c| (c.clone(), DeclaredStatus::UnderMaintenance))
        .collect();
    starts(&rule.repeat, now, now.plus_ms(HORIZON_MS), MAX_AHEAD)
        .into_iter()
        .map(|start| Occurrence {
            rule_key: rule.key.clone(),
            window: NewIncident {
                kind: IncidentKind::Maintenance,
                title: rule.title.clone(),
                impact: Impact::Maintenance,
                service_wide: false,
                started_at: None,
                status: UpdateStatus::Scheduled,
                message: rule.message.clone(),
                affected: Some(affected.clone()),
                publish: true,
                scheduled_for: Some(start),
                scheduled_until: Some(start.plus_ms(rule.duration_ms)),
                auto_start: rule.auto_start,
                auto_end: rule.auto_end,
            },
        })
        .collect()
}

/// Publishes the windows of `rules` due at `now` that were not published before; returns
/// the new windows' ids.
pub async fn materialise(
    store: &Store,
    rules: &[RecurringMaintenance],
    now: Timestamp,
) -> Result<Vec<i64>, crate::store::Error> {
    let wanted: Vec<Occurrence> = rules.iter().flat_map(|r| occurrences(r, now)).collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let actor = Actor {
        who: "system:recurring-maintenance".into(),
        source: "beacon".into(),
    };
    store.publish_occurrences(wanted, now, actor).await
}

/// Every [`TICK`] and after each configuration change until `stop`: publishes the windows of
/// the configured rules and of the API's rules, and pokes `public` when it published any.
pub async fn run(
    mut config: watch::Receiver<Arc<Config>>,
    store: Store,
    clock: Arc<dyn Clock>,
    public: super::PublicChanged,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
            changed = config.changed() => if changed.is_err() { return },
        }
        let mut rules = config.borrow_and_update().maintenance.clone();
        match store.recurring_rules().await {
            Ok(stored) => rules.extend(stored),
            Err(e) => tracing::error!(error = %e, "cannot read recurring maintenance rules"),
        }
        match materialise(&store, &rules, clock.now()).await {
            Ok(ids) if ids.is_empty() => {}
            Ok(ids) => {
                tracing::info!(windows = ?ids, "published recurring maintenance windows");
                public.poke();
            }
            Err(e) => tracing::error!(error = %e, "publishing recurring maintenance failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WeeklyAt;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).expect("time")
    }

    fn texts(starts: &[Timestamp]) -> Vec<String> {
        starts.iter().map(|t| t.to_rfc3339()).collect()
    }

    fn cron(expression: &str) -> Repeat {
        Repeat::Cron(expression.into())
    }

    #[test]
    fn weekly_rules_start_on_their_day_within_the_horizon() {
        let sunday = Repeat::Weekly(WeeklyAt::parse("sun 02:00").expect("rule"));
        let now = at("2026-11-26T08:00:00Z");
        assert_eq!(
            texts(&starts(&sunday, now, now.plus_ms(HORIZON_MS), MAX_AHEAD)),
            ["2026-11-29T02:00:00.000Z", "2026-12-06T02:00:00.000Z"]
        );
        // A start exactly at `from` counts; one exactly at `until` does not.
        let from = at("2026-11-29T02:00:00Z");
        assert_eq!(
            texts(&starts(&sunday, from, at("2026-12-06T02:00:00Z"), 10)),
            ["2026-11-29T02:00:00.000Z"]
        );
    }

    #[test]
    fn cron_rules_follow_utc_across_month_ends_and_daylight_saving_dates() {
        // Classic five fields: Sundays at 02:00 UTC.
        let from = at("2026-11-26T08:00:00Z");
        assert_eq!(
            texts(&starts(
                &cron("0 2 * * SUN"),
                from,
                from.plus_ms(HORIZON_MS),
                20
            )),
            ["2026-11-29T02:00:00.000Z", "2026-12-06T02:00:00.000Z"]
        );
        // The 31st exists in only some months: February to April has one, in March.
        assert_eq!(
            texts(&starts(
                &cron("0 0 31 * *"),
                at("2027-01-31T00:00:01Z"),
                at("2027-06-01T00:00:00Z"),
                20
            )),
            ["2027-03-31T00:00:00.000Z", "2027-05-31T00:00:00.000Z"]
        );
        // Every day at 01:30 UTC across the European and American DST changes: always 24 h apart.
        let days = starts(
            &cron("0 30 1 * * *"),
            at("2026-03-07T00:00:00Z"),
            at("2026-04-01T00:00:00Z"),
            100,
        );
        assert_eq!(days.len(), 25);
        assert!(days
            .windows(2)
            .all(|w| w[1].millis() - w[0].millis() == 86_400_000));
        // Leap day.
        assert_eq!(
            texts(&starts(
                &cron("0 0 29 2 *"),
                at("2026-01-01T00:00:00Z"),
                at("2029-01-01T00:00:00Z"),
                5
            )),
            ["2028-02-29T00:00:00.000Z"]
        );
    }

    #[test]
    fn frequent_rules_are_capped_and_windows_carry_the_rule() {
        let rule = RecurringMaintenance {
            key: "config:fast".into(),
            title: "Fast".into(),
            message: "m".into(),
            channels: vec!["chat".into(), "group:support".into()],
            repeat: cron("*/5 * * * * *"),
            duration_ms: 2_000,
            auto_start: true,
            auto_end: false,
        };
        let now = at("2026-11-26T08:00:01Z");
        let windows = occurrences(&rule, now);
        assert_eq!(windows.len(), MAX_AHEAD);
        let first = &windows[0];
        assert_eq!(first.rule_key, "config:fast");
        assert_eq!(first.window.scheduled_for, Some(at("2026-11-26T08:00:05Z")));
        assert_eq!(
            first.window.scheduled_until,
            Some(at("2026-11-26T08:00:07Z"))
        );
        assert_eq!(first.window.status, UpdateStatus::Scheduled);
        assert!(first.window.publish && first.window.auto_start && !first.window.auto_end);
        assert_eq!(
            first.window.affected.as_ref().map(|a| a.len()),
            Some(2),
            "every channel key under maintenance"
        );
    }
}
