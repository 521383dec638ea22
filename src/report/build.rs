//! Building the month's report from the store: timelines from stored state intervals (raw
//! observations are not needed, so reports outlive the retention), figures from `sla`.

use super::model::{ChannelFigures, DayFigures, MonthReport, OverallFigures, ReportSettings};
use crate::domain::{Config, State, Timestamp, Transition};
use crate::sla::{self, Availability, ProbeMachine, Settings};
use crate::store::{ProbeHistory, Store};
use std::collections::HashMap;

/// Why no report could be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("invalid month {0:?}: expected YYYY-MM, e.g. 2026-09")]
    BadMonth(String),
    #[error("month {0} has not started yet")]
    FutureMonth(String),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// The period a report of `month` (`YYYY-MM`) covers as of `now`: the calendar month in UTC,
/// cut at `now` for the current month. Checked before anything is opened.
pub fn period(month: &str, now: Timestamp) -> Result<(i32, u8, Timestamp, Timestamp), ReportError> {
    let (year, number) =
        sla::parse_month(month).ok_or_else(|| ReportError::BadMonth(month.to_owned()))?;
    let (from, end) =
        sla::month_bounds(year, number).ok_or_else(|| ReportError::BadMonth(month.to_owned()))?;
    if from > now {
        return Err(ReportError::FutureMonth(month.to_owned()));
    }
    Ok((year, number, from, end.min(now)))
}

/// The report of `month` (`YYYY-MM`) as of `now`; the current month runs to `now`.
pub async fn build(
    store: &Store,
    config: &Config,
    month: &str,
    now: Timestamp,
) -> Result<MonthReport, ReportError> {
    let (year, number, from, to) = period(month, now)?;
    let service = &config.service;
    let settings = Settings::from_percent(
        service.commitment_percent,
        service.partial_weight,
        service.maintenance_counts_as_downtime,
    );

    let mut by_channel: HashMap<String, Vec<ProbeHistory>> = HashMap::new();
    for history in store.probe_histories(from, to).await? {
        by_channel
            .entry(history.probe.channel.clone())
            .or_default()
            .push(history);
    }
    let mut channels = Vec::new();
    let mut counted: Vec<(Vec<Transition>, Option<bool>)> = Vec::new();
    for record in store.channel_records().await? {
        let histories = by_channel.remove(&record.id).unwrap_or_default();
        // A channel no longer configured appears only if it has history in the month.
        if !record.active && histories.iter().all(|h| h.transitions.is_empty()) {
            continue;
        }
        let timeline = channel_timeline(&histories, to);
        let figures = figures(
            &record.id,
            &record.name,
            record.in_commitment,
            &timeline,
            from,
            to,
            settings,
        );
        if record.in_commitment {
            counted.push((timeline, figures.met));
        }
        channels.push(figures);
    }
    let overall_timeline = {
        let slices: Vec<&[Transition]> = counted.iter().map(|(t, _)| t.as_slice()).collect();
        sla::overall_timeline(&slices)
    };
    let overall = OverallFigures {
        figures: figures(
            "overall",
            "Support services",
            true,
            &overall_timeline,
            from,
            to,
            settings,
        ),
        all_channels_met: counted.iter().all(|(_, met)| *met == Some(true)),
    };
    Ok(MonthReport {
        service: service.name.clone(),
        month: format!("{year:04}-{number:02}"),
        commitment: service.commitment_percent / 100.0,
        settings: ReportSettings {
            partial_weight: service.partial_weight,
            maintenance_counts_as_downtime: service.maintenance_counts_as_downtime,
            calendar: "calendar month".to_owned(),
            timezone: "UTC".to_owned(),
        },
        period_start: from.to_rfc3339(),
        period_end: to.to_rfc3339(),
        generated_at: now.to_rfc3339(),
        channels,
        overall,
    })
}

/// A channel's measured timeline: the worst of its probes (rule 4), each probe unknown from
/// the end of its latest observation's coverage if that came before `to` (rule 1).
/// Declarations and maintenance (rules 5, 6) join here when incidents exist.
fn channel_timeline(histories: &[ProbeHistory], to: Timestamp) -> Vec<Transition> {
    let probes: Vec<Vec<Transition>> = histories
        .iter()
        .map(|h| {
            let mut timeline = h.transitions.clone();
            let coverage_end = h
                .checkpoint
                .as_deref()
                .and_then(|json| serde_json::from_str::<ProbeMachine>(json).ok())
                .and_then(|m| m.coverage_end());
            if let (Some(end), Some(last)) = (coverage_end, timeline.last()) {
                if end < to && last.state != State::Unknown && last.at < end {
                    timeline.push(Transition {
                        at: end,
                        state: State::Unknown,
                    });
                }
            }
            timeline
        })
        .collect();
    let slices: Vec<&[Transition]> = probes.iter().map(Vec::as_slice).collect();
    sla::channel_timeline(&sla::combine_worst(&slices), &[], &[])
}

fn figures(
    id: &str,
    name: &str,
    in_commitment: bool,
    timeline: &[Transition],
    from: Timestamp,
    to: Timestamp,
    settings: Settings,
) -> ChannelFigures {
    let a: Availability = sla::availability(timeline, from, to, settings);
    let days = sla::days(from, to)
        .into_iter()
        .map(|(date, day_from, day_to)| {
            let d = sla::availability(timeline, day_from, day_to, settings);
            DayFigures {
                date,
                availability: d.availability,
                down_ms: d.durations.down_ms,
                partial_ms: d.durations.partial_ms,
                maintenance_ms: d.durations.maintenance_ms,
                unknown_ms: d.durations.unknown_ms,
            }
        })
        .collect();
    ChannelFigures {
        id: id.to_owned(),
        name: name.to_owned(),
        in_commitment,
        total_ms: a.total_ms,
        up_ms: a.durations.up_ms,
        degraded_ms: a.durations.degraded_ms,
        partial_ms: a.durations.partial_ms,
        down_ms: a.durations.down_ms,
        maintenance_ms: a.durations.maintenance_ms,
        unknown_ms: a.durations.unknown_ms,
        availability: a.availability,
        coverage: a.coverage,
        met: a.met,
        allowed_downtime_ms: a.allowed_downtime_ms,
        budget_remaining_ms: a.budget_remaining_ms,
        outages: u32::try_from(a.outages).unwrap_or(u32::MAX),
        longest_outage_ms: a.longest_outage_ms,
        mttr_ms: a.mttr_ms,
        days,
    }
}
