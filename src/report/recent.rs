//! The status page's history bars: each channel's last N UTC days and its availability over
//! them, from the same timelines as the monthly report.

use super::build::{timelines, ReportError};
use super::model::DayFigures;
use crate::domain::{Config, Timestamp};
use crate::sla::{self, Settings};
use crate::store::Store;
use std::collections::HashMap;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// One channel's recent days, oldest first, and its availability over all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentHistory {
    pub days: Vec<DayFigures>,
    pub availability: Option<f64>,
}

/// The last `days` UTC days (today included, up to `now`) of every channel.
pub async fn recent_days(
    store: &Store,
    config: &Config,
    days: i64,
    now: Timestamp,
) -> Result<HashMap<String, RecentHistory>, ReportError> {
    let today = now.millis().div_euclid(DAY_MS) * DAY_MS;
    let from = Timestamp(today - (days - 1) * DAY_MS);
    let settings = Settings::from(&config.service);
    let mut out = HashMap::new();
    for (record, timeline) in timelines(store, config, from, now).await? {
        let day_figures = sla::days(from, now)
            .into_iter()
            .map(|(date, day_from, day_to)| {
                let a = sla::availability(&timeline, day_from, day_to, settings);
                DayFigures {
                    date,
                    availability: a.availability,
                    down_ms: a.durations.down_ms,
                    partial_ms: a.durations.partial_ms,
                    maintenance_ms: a.durations.maintenance_ms,
                    unknown_ms: a.durations.unknown_ms,
                }
            })
            .collect();
        let overall = sla::availability(&timeline, from, now, settings);
        out.insert(
            record.id,
            RecentHistory {
                days: day_figures,
                availability: overall.availability,
            },
        );
    }
    Ok(out)
}
