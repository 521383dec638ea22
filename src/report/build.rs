//! Building the month's report from the store: timelines from stored state intervals (raw
//! observations are not needed, so reports outlive the retention), figures from `sla`.

use super::model::{ChannelFigures, DayFigures, MonthReport, OverallFigures, ReportSettings};
use crate::domain::{Config, State, Timestamp, Transition};
use crate::sla::{self, Availability, ProbeMachine, Settings};
use crate::store::{ChannelRecord, ProbeHistory, Store};
use std::collections::HashMap;

/// Why no report could be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("invalid month {0:?}: expected YYYY-MM, e.g. 2026-09")]
    BadMonth(String),
    #[error("month {0} has not started yet")]
    FutureMonth(String),
    #[error("no channel {0:?}")]
    UnknownChannel(String),
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
    let settings = Settings::from(service);

    let mut channels = Vec::new();
    let mut counted: Vec<(Vec<Transition>, Option<bool>)> = Vec::new();
    for (record, timeline) in timelines(store, config, from, to).await? {
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
        tickets: None,
    })
}

/// The month's report with its ticket section (never public: for operators and managers).
pub async fn build_with_tickets(
    store: &Store,
    config: &Config,
    month: &str,
    now: Timestamp,
) -> Result<MonthReport, ReportError> {
    let mut report = build(store, config, month, now).await?;
    let (year, number, from, _) = period(month, now)?;
    let end = sla::month_bounds(year, number).map_or(from, |(_, end)| end);
    // A ticket belongs to the month it was received in (sla-rules 1.7 case 16).
    let records = store.tickets(from, end).await?;
    let incidents = store.incidents().await?;
    let evaluated =
        crate::ticket::evaluate_all(records, &incidents, &config.channels, &config.tickets, now);
    report.tickets = Some(super::tickets::section(&evaluated, &config.tickets));
    Ok(report)
}

/// A channel's month and its error-budget burn rates now (`/api/v1/channels/{id}/sla`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ChannelSla {
    pub month: String,
    pub commitment: f64,
    #[serde(flatten)]
    pub figures: ChannelFigures,
    pub burn_rate: BurnView,
}

/// Burn rates over the windows ending now, with the multiwindow alert thresholds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct BurnView {
    pub h1: Option<f64>,
    pub h6: Option<f64>,
    pub h24: Option<f64>,
    pub d3: Option<f64>,
    pub thresholds: BurnThresholds,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct BurnThresholds {
    pub h1: f64,
    pub h6: f64,
    pub d3: f64,
}

/// One channel's figures for `month` and its burn rates as of `now`.
pub async fn channel_sla(
    store: &Store,
    config: &Config,
    channel: &str,
    month: &str,
    now: Timestamp,
) -> Result<ChannelSla, ReportError> {
    let (year, number, from, to) = period(month, now)?;
    let settings = Settings::from(&config.service);
    let (record, timeline) = timelines(store, config, from, to)
        .await?
        .into_iter()
        .find(|(r, _)| r.id == channel)
        .ok_or_else(|| ReportError::UnknownChannel(channel.to_owned()))?;
    let recent_from = now.plus_ms(-3 * 24 * 3600 * 1000);
    let recent = timelines(store, config, recent_from, now)
        .await?
        .into_iter()
        .find(|(r, _)| r.id == channel)
        .map(|(_, t)| t)
        .unwrap_or_default();
    let burn = sla::burn_rates(&recent, now, settings);
    Ok(ChannelSla {
        month: format!("{year:04}-{number:02}"),
        commitment: config.service.commitment_percent / 100.0,
        figures: figures(
            &record.id,
            &record.name,
            record.in_commitment,
            &timeline,
            from,
            to,
            settings,
        ),
        burn_rate: BurnView {
            h1: burn.h1,
            h6: burn.h6,
            h24: burn.h24,
            d3: burn.d3,
            thresholds: BurnThresholds {
                h1: sla::BURN_ALERT_1H,
                h6: sla::BURN_ALERT_6H,
                d3: sla::BURN_ALERT_3D,
            },
        },
    })
}

/// Every channel with history in `[from, to)` (all configured ones, and removed ones that
/// still have some), with its timeline there.
pub(super) async fn timelines(
    store: &Store,
    config: &Config,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(ChannelRecord, Vec<Transition>)>, ReportError> {
    let overlays = super::overlays::overlays(&store.incidents().await?, &config.channels);
    let mut by_channel: HashMap<String, Vec<ProbeHistory>> = HashMap::new();
    for history in store.probe_histories(from, to).await? {
        by_channel
            .entry(history.probe.channel.clone())
            .or_default()
            .push(history);
    }
    let mut out = Vec::new();
    for record in store.channel_records().await? {
        let histories = by_channel.remove(&record.id).unwrap_or_default();
        if !record.active && histories.iter().all(|h| h.transitions.is_empty()) {
            continue;
        }
        let extra = overlays.get(&record.id).cloned().unwrap_or_default();
        let timeline = sla::channel_timeline(
            &measured_timeline(&histories, to),
            &extra.declarations,
            &extra.maintenance,
        );
        out.push((record, timeline));
    }
    Ok(out)
}

/// A channel's measured timeline: the worst of its probes (rule 4), each probe unknown from
/// the end of its latest observation's coverage if that came before `to` (rule 1).
fn measured_timeline(histories: &[ProbeHistory], to: Timestamp) -> Vec<Transition> {
    let probes: Vec<Vec<Transition>> = histories
        .iter()
        .map(|h| {
            let mut timeline = h.transitions.clone();
            let coverage_end = h.coverage_end.or_else(|| {
                h.checkpoint
                    .as_deref()
                    .and_then(|json| serde_json::from_str::<ProbeMachine>(json).ok())
                    .and_then(|m| m.coverage_end())
            });
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
    sla::combine_worst(&slices)
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

/// A channel's availability over `[from, to)` from the same timelines as the monthly report
/// (stored transitions, unknown after coverage, declarations and maintenance applied), so
/// an uptime badge never disagrees with the report. `met` is the exact integer decision
/// against the commitment; `availability` is `None` when nothing was measured.
pub async fn channel_availability(
    store: &Store,
    config: &Config,
    channel: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<Availability, ReportError> {
    let settings = Settings::from(&config.service);
    let timeline = timelines(store, config, from, to)
        .await?
        .into_iter()
        .find(|(r, _)| r.id == channel)
        .map(|(_, t)| t)
        .ok_or_else(|| ReportError::UnknownChannel(channel.to_owned()))?;
    Ok(sla::availability(&timeline, from, to, settings))
}
