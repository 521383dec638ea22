//! The CSV report: a header row, one row per channel, then the overall row.

use super::{minutes, percent, ChannelFigures, MonthReport};

const HEADER: [&str; 16] = [
    "month",
    "id",
    "name",
    "in_commitment",
    "availability_percent",
    "commitment_percent",
    "met",
    "allowed_downtime_min",
    "counted_downtime_min",
    "budget_remaining_min",
    "coverage_percent",
    "outages",
    "longest_outage_min",
    "mttr_min",
    "maintenance_min",
    "unknown_min",
];

pub(super) fn render(report: &MonthReport) -> String {
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    rows.extend(report.channels.iter().map(|c| row(report, c)));
    rows.push(row(report, &report.overall.figures));
    if let Some(tickets) = &report.tickets {
        // A second table, after an empty line: first responses per severity.
        rows.push(vec![String::new()]);
        rows.push(
            [
                "month",
                "severity",
                "received",
                "responded",
                "met",
                "breached",
                "pending",
                "waived",
                "met_percent",
                "avg_first_response_min",
                "median_first_response_min",
                "p90_first_response_min",
                "calendar",
            ]
            .iter()
            .map(|h| h.to_string())
            .collect(),
        );
        for (severity, f) in tickets.by_severity.iter() {
            rows.push(vec![
                report.month.clone(),
                severity.to_owned(),
                f.received.to_string(),
                f.responded.to_string(),
                f.met.to_string(),
                f.breached.to_string(),
                f.pending.to_string(),
                f.waived.to_string(),
                percent(f.met_ratio).replace('—', ""),
                f.avg_first_response_ms.map_or(String::new(), minutes),
                f.median_first_response_ms.map_or(String::new(), minutes),
                f.p90_first_response_ms.map_or(String::new(), minutes),
                tickets.calendar.clone(),
            ]);
        }
        rows.push(vec![
            "rules".to_owned(),
            super::html::rules_sentence(&tickets.rules),
        ]);
        // A third table: the breached tickets and the waived Critical ones, each explained.
        rows.push(vec![String::new()]);
        rows.push(
            [
                "list",
                "id",
                "external_id",
                "severity",
                "received_at",
                "deadline",
                "first_response_at",
                "waived_by",
                "ack_published_at",
                "explanation",
            ]
            .iter()
            .map(|h| h.to_string())
            .collect(),
        );
        for (list, lines) in [("breached", &tickets.breached), ("waived", &tickets.waived)] {
            for l in lines {
                rows.push(vec![
                    list.to_owned(),
                    l.id.clone(),
                    l.external_id.clone(),
                    l.severity.clone(),
                    l.received_at.clone(),
                    l.deadline.clone().unwrap_or_default(),
                    l.first_response_at.clone().unwrap_or_default(),
                    l.waived_by.clone().unwrap_or_default(),
                    l.ack_published_at.clone().unwrap_or_default(),
                    l.explanation.clone(),
                ]);
            }
        }
    }
    let mut writer = ::csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in rows {
        // Writing to a Vec cannot fail.
        let _ = writer.write_record(&r);
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

fn row(report: &MonthReport, c: &ChannelFigures) -> Vec<String> {
    vec![
        report.month.clone(),
        c.id.clone(),
        c.name.clone(),
        c.in_commitment.to_string(),
        percent(c.availability).replace('—', ""),
        percent(Some(report.commitment)),
        c.met
            .map_or(String::new(), |m| if m { "yes" } else { "no" }.to_owned()),
        minutes(c.allowed_downtime_ms),
        minutes(c.counted_downtime_ms()),
        minutes(c.budget_remaining_ms),
        percent(Some(c.coverage)),
        c.outages.to_string(),
        minutes(c.longest_outage_ms),
        c.mttr_ms.map_or(String::new(), minutes),
        minutes(c.maintenance_ms),
        minutes(c.unknown_ms),
    ]
}
