//! Counters and histograms of what the probes saw, for the web layer's `/metrics`.
//!
//! The recorder is the one place every observation passes through, so it updates these; the
//! web layer only reads a snapshot. Kept in memory only: they restart from zero with the
//! process, which is what Prometheus counters are expected to do.

use crate::domain::{Observation, Outcome, ProbeKey};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Upper bounds (seconds) of the response time buckets: from 1 ms (a local check; with a
/// first bucket any coarser, Prometheus would interpolate a 2 ms probe's p99 to tens of
/// milliseconds) to the longest timeouts people configure.
pub const RESPONSE_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds (seconds) of the lateness buckets: a healthy scheduler starts within a few
/// milliseconds; a second late means the runtime or the machine is overloaded.
pub const LATENESS_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// A fixed-bucket histogram; counts are per bucket, made cumulative when read.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, plus the last for values above every bound (`+Inf`).
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    pub(super) fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    pub(super) fn observe(&mut self, value: f64) {
        let slot = self.bounds.partition_point(|&bound| bound < value);
        self.counts[slot] += 1;
        self.sum += value;
    }

    /// `(upper bound, observations at or below it)` for each finite bound, in order; the
    /// `+Inf` bucket is [`Histogram::count`].
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.bounds
            .iter()
            .zip(self.counts.iter().scan(0u64, |total, &n| {
                *total += n;
                Some(*total)
            }))
            .map(|(&bound, count)| (bound, count))
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// What the metrics held at one instant, sorted by probe so the exposition is stable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeMetricsSnapshot {
    /// Response time of each probe (only runs that measured one).
    pub response: BTreeMap<ProbeKey, Histogram>,
    /// Actual start minus scheduled start of each probe's runs.
    pub lateness: BTreeMap<ProbeKey, Histogram>,
    /// Observations per probe, location and outcome (`up`, `degraded`, `down`, `unknown`):
    /// the location that made them, so a prober that stops sending shows as a flat series.
    pub observations: BTreeMap<(ProbeKey, String, &'static str), u64>,
}

impl ProbeMetricsSnapshot {
    /// Adds every probe of `keys` (with the locations it runs from) that has not run yet:
    /// each outcome at each location counted zero times and empty histograms, so a counter
    /// exists from zero before its first event (Prometheus's `rate` and `increase` miss the
    /// first event of a series that appears with it).
    pub fn with_probes(mut self, keys: impl IntoIterator<Item = (ProbeKey, Vec<String>)>) -> Self {
        for (key, locations) in keys {
            for location in locations {
                for outcome in Outcome::ALL {
                    self.observations
                        .entry((key.clone(), location.clone(), outcome.as_str()))
                        .or_default();
                }
            }
            self.lateness
                .entry(key.clone())
                .or_insert_with(|| Histogram::new(LATENESS_BUCKETS));
            self.response
                .entry(key)
                .or_insert_with(|| Histogram::new(RESPONSE_BUCKETS));
        }
        self
    }
}

/// Shared, cheap-to-clone handle: the recorder writes, `/metrics` reads.
///
/// One mutex is enough: the recorder takes it once per observation for a few map updates,
/// and a scrape holds it only while copying.
#[derive(Clone, Default)]
pub struct ProbeMetrics {
    inner: Arc<Mutex<ProbeMetricsSnapshot>>,
}

impl ProbeMetrics {
    /// Counts one observation.
    pub(super) fn observe(&self, obs: &Observation) {
        let mut inner = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *inner
            .observations
            .entry((
                obs.probe.clone(),
                obs.location.clone(),
                obs.outcome.as_str(),
            ))
            .or_default() += 1;
        inner
            .lateness
            .entry(obs.probe.clone())
            .or_insert_with(|| Histogram::new(LATENESS_BUCKETS))
            .observe(f64::from(obs.lateness_ms) / 1000.0);
        if let Some(ms) = obs.response_ms {
            inner
                .response
                .entry(obs.probe.clone())
                .or_insert_with(|| Histogram::new(RESPONSE_BUCKETS))
                .observe(f64::from(ms) / 1000.0);
        }
    }

    /// A copy of everything counted so far.
    pub fn snapshot(&self) -> ProbeMetricsSnapshot {
        match self.inner.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let mut h = Histogram::new(&[0.1, 1.0]);
        for v in [0.05, 0.1, 0.5, 1.0, 3.0] {
            h.observe(v);
        }
        assert_eq!(h.cumulative().collect::<Vec<_>>(), [(0.1, 2), (1.0, 4)]);
        assert_eq!(h.count(), 5);
        assert!((h.sum() - 4.65).abs() < 1e-9);
    }

    #[test]
    fn a_two_millisecond_response_lands_in_a_millisecond_bucket() {
        let mut h = Histogram::new(RESPONSE_BUCKETS);
        h.observe(0.002);
        let first_holding = h.cumulative().find(|&(_, n)| n == 1).map(|(b, _)| b);
        assert_eq!(first_holding, Some(0.0025));
        assert_eq!(RESPONSE_BUCKETS.first(), Some(&0.001));
        assert!(RESPONSE_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn observations_are_counted_per_location_and_outcome() {
        let key = ProbeKey {
            channel: "web-form".into(),
            probe: "health".into(),
        };
        let seen = |location: &str, outcome: Outcome| Observation {
            probe: key.clone(),
            at: crate::domain::Timestamp(0),
            outcome,
            status_code: None,
            response_ms: Some(3),
            reason: None,
            location: location.to_owned(),
            interval_ms: 1_000,
            lateness_ms: 0,
            thresholds: crate::domain::Thresholds {
                failure: 1,
                success: 1,
            },
        };
        let metrics = ProbeMetrics::default();
        let seen_by = [
            ("local", Outcome::Up),
            ("eu-west", Outcome::Down),
            ("eu-west", Outcome::Down),
            ("local", Outcome::Up),
            ("us-east", Outcome::Up),
        ];
        for (location, outcome) in seen_by {
            metrics.observe(&seen(location, outcome));
        }
        let snapshot = metrics.snapshot();
        let count = |location: &str, outcome: &'static str| {
            snapshot
                .observations
                .get(&(key.clone(), location.to_owned(), outcome))
                .copied()
        };
        for (location, outcome) in seen_by {
            let expected = seen_by
                .iter()
                .filter(|s| s == &&(location, outcome))
                .count();
            assert_eq!(count(location, outcome.as_str()), Some(expected as u64));
        }
        assert_eq!(
            count("eu-west", "up"),
            None,
            "only what was seen, until with_probes"
        );
        assert_eq!(snapshot.lateness[&key].count(), seen_by.len() as u64);
    }

    #[test]
    fn probes_that_never_ran_count_every_outcome_from_zero() {
        let ran = ProbeKey {
            channel: "a".into(),
            probe: "p".into(),
        };
        let idle = ProbeKey {
            channel: "b".into(),
            probe: "q".into(),
        };
        let here = || "local".to_owned();
        let there = || "eu-west".to_owned();
        let mut snapshot = ProbeMetricsSnapshot::default();
        snapshot.observations.insert((ran.clone(), here(), "up"), 3);
        let snapshot = snapshot.with_probes([
            (ran.clone(), vec![here()]),
            (idle.clone(), vec![here(), there()]),
        ]);
        assert_eq!(
            snapshot.observations[&(ran.clone(), here(), "up")],
            3,
            "kept"
        );
        for outcome in Outcome::ALL {
            for location in [here(), there()] {
                let key = (idle.clone(), location, outcome.as_str());
                assert_eq!(snapshot.observations[&key], 0, "{key:?}");
            }
        }
        assert_eq!(snapshot.observations.len(), 4 + 8, "one location, then two");
        assert_eq!(snapshot.response[&idle].count(), 0);
        assert_eq!(snapshot.lateness[&ran].count(), 0);
    }
}
