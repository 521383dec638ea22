//! The checks on a batch from a prober node (`POST /api/v1/observations`), all made before
//! anything of it is stored: the whole batch is refused on the first error, which names the
//! field with its index (`observations[3].at`).
//!
//! Why so strict: what a node posts goes through the same state machines as the server's
//! own probes and ends up in the monthly SLA figures, so an observation the server's own
//! prober could not have made (for a probe or a location the token does not serve, dated in
//! the future, with an interval of a year) must never get in.

use super::text;
use super::Error;
use crate::domain::remote::ObservationBatch;
use crate::domain::{Config, Observation, Timestamp, EARLIEST_ACCEPTED};
use std::collections::HashSet;

/// Most observations in one batch (a node sends more as several batches). Twice a node's
/// own batch (`probe::node::uploader::BATCH_MAX`), and small enough that a batch of short
/// observations fits the default 1 MiB body limit.
pub(super) const MAX_BATCH: usize = 2_000;
/// How far in the server's future an observation may lie: clocks differ a little.
pub(super) const MAX_FUTURE_MS: i64 = 5_000;
/// Longest failure reason, in characters.
pub(super) const MAX_REASON: usize = 500;
/// An interval from 1 ms to 24 h, as a probe's schedule can give.
const MAX_INTERVAL_MS: u64 = 86_400_000;
/// Thresholds from 1 to this.
const MAX_THRESHOLD: u32 = 1_000;

/// The node's own report: only its version is text.
pub(super) fn check_report(batch: &ObservationBatch) -> Result<(), Error> {
    text::check(&batch.prober.version, "prober.version", text::KEY)
}

/// Checks every observation of `batch`, posted by the node of `location` and received at
/// `now`, against the configuration in force.
pub(super) fn check_observations(
    batch: &ObservationBatch,
    location: &str,
    config: &Config,
    now: Timestamp,
) -> Result<(), Error> {
    let count = batch.observations.len();
    if count > MAX_BATCH {
        return Err(Error::TooLarge(format!(
            "observations: {count} in one batch, at most {MAX_BATCH}: send them as several batches"
        )));
    }
    let assigned: HashSet<(&str, &str)> = config
        .probes_at(location)
        .map(|(channel, spec)| (channel.id.as_str(), spec.name.as_str()))
        .collect();
    for (i, observation) in batch.observations.iter().enumerate() {
        check_one(
            observation,
            &format!("observations[{i}]"),
            location,
            config,
            &assigned,
            now,
        )?;
    }
    Ok(())
}

fn check_one(
    o: &Observation,
    field: &str,
    location: &str,
    config: &Config,
    assigned: &HashSet<(&str, &str)>,
    now: Timestamp,
) -> Result<(), Error> {
    let named = |name: &str| format!("{field}.{name}");
    text::check(&o.location, &named("location"), text::KEY)?;
    text::check(&o.probe.channel, &named("probe.channel"), text::KEY)?;
    text::check(&o.probe.probe, &named("probe.probe"), text::KEY)?;
    if o.location != location {
        return Err(Error::ForbiddenField {
            message: format!(
                "{}: {:?} is not this token's location {location:?}",
                named("location"),
                o.location
            ),
            field: named("location"),
        });
    }
    if !assigned.contains(&(o.probe.channel.as_str(), o.probe.probe.as_str())) {
        let known = config
            .channels
            .iter()
            .any(|c| c.id == o.probe.channel && c.probes.iter().any(|p| p.name == o.probe.probe));
        let why = if known {
            format!("is not assigned to location {location:?} in the configuration in force")
        } else {
            "is not a configured probe".to_owned()
        };
        return Err(Error::ForbiddenField {
            message: format!("{}: {} {why}", named("probe"), o.probe),
            field: named("probe"),
        });
    }
    let invalid = |name: &str, message: String| Error::Invalid {
        message: format!("{}: {message}", named(name)),
        field: named(name),
    };
    let skew = o.at.millis().saturating_sub(now.millis());
    if skew > MAX_FUTURE_MS {
        return Err(invalid(
            "at",
            format!(
                "{} is {skew} ms in the server's future (at most {MAX_FUTURE_MS} ms): the prober's clock is ahead",
                o.at
            ),
        ));
    }
    if o.at < EARLIEST_ACCEPTED {
        return Err(invalid(
            "at",
            format!("{} is before 2000-01-01", o.at.millis()),
        ));
    }
    if !(1..=MAX_INTERVAL_MS).contains(&o.interval_ms) {
        return Err(invalid(
            "interval_ms",
            format!(
                "{} is not from 1 ms to 24 h ({MAX_INTERVAL_MS})",
                o.interval_ms
            ),
        ));
    }
    for (name, value) in [
        ("thresholds.failure", o.thresholds.failure),
        ("thresholds.success", o.thresholds.success),
    ] {
        if !(1..=MAX_THRESHOLD).contains(&value) {
            return Err(invalid(
                name,
                format!("{value} is not from 1 to {MAX_THRESHOLD}"),
            ));
        }
    }
    if let Some(reason) = &o.reason {
        text::check(reason, &named("reason"), MAX_REASON)?;
    }
    if let Some(code) = o.status_code {
        if !(100..=599).contains(&code) {
            return Err(invalid(
                "status_code",
                format!("{code} is not from 100 to 599"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "observation_checks_tests.rs"]
mod tests;
