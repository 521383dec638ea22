//! The CSV report: a header row, one row per channel, then the overall row.
//!
//! Text that operators or a helpdesk wrote (names, ids, explanations) is neutralised against
//! formula injection as OWASP recommends: a cell beginning with `=`, `+`, `-`, `@`, tab or CR
//! gets a leading `'` and is quoted, so a spreadsheet shows it instead of evaluating it.
//! Numbers stay numbers (a negative budget stays `-1.0`).

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
    let mut rows: Vec<Vec<Cell>> = vec![HEADER.iter().map(|h| ours(h)).collect()];
    rows.extend(report.channels.iter().map(|c| row(report, c)));
    rows.push(row(report, &report.overall.figures));
    if let Some(tickets) = &report.tickets {
        // A second table, after an empty line: first responses per severity.
        rows.push(vec![ours("")]);
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
            .map(|h| ours(h))
            .collect(),
        );
        for (severity, f) in tickets.by_severity.iter() {
            rows.push(vec![
                ours(&report.month),
                ours(severity),
                number(f.received.to_string()),
                number(f.responded.to_string()),
                number(f.met.to_string()),
                number(f.breached.to_string()),
                number(f.pending.to_string()),
                number(f.waived.to_string()),
                number(percent(f.met_ratio).replace('—', "")),
                number(f.avg_first_response_ms.map_or(String::new(), minutes)),
                number(f.median_first_response_ms.map_or(String::new(), minutes)),
                number(f.p90_first_response_ms.map_or(String::new(), minutes)),
                ours(&tickets.calendar),
            ]);
        }
        rows.push(vec![
            ours("rules"),
            ours(&super::html::rules_sentence(&tickets.rules)),
        ]);
        // A third table: the breached tickets and the waived Critical ones, each explained.
        rows.push(vec![ours("")]);
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
            .map(|h| ours(h))
            .collect(),
        );
        for (list, lines) in [("breached", &tickets.breached), ("waived", &tickets.waived)] {
            for l in lines {
                rows.push(vec![
                    ours(list),
                    text(&l.id),
                    text(&l.external_id),
                    text(&l.severity),
                    text(&l.received_at),
                    text(l.deadline.as_deref().unwrap_or_default()),
                    text(l.first_response_at.as_deref().unwrap_or_default()),
                    text(l.waived_by.as_deref().unwrap_or_default()),
                    text(l.ack_published_at.as_deref().unwrap_or_default()),
                    text(&l.explanation),
                ]);
            }
        }
    }
    encode(&rows)
}

fn row(report: &MonthReport, c: &ChannelFigures) -> Vec<Cell> {
    vec![
        ours(&report.month),
        text(&c.id),
        text(&c.name),
        ours(&c.in_commitment.to_string()),
        number(percent(c.availability).replace('—', "")),
        number(percent(Some(report.commitment))),
        ours(c.met.map_or("", |m| if m { "yes" } else { "no" })),
        number(minutes(c.allowed_downtime_ms)),
        number(minutes(c.counted_downtime_ms())),
        number(minutes(c.budget_remaining_ms)),
        number(percent(Some(c.coverage))),
        number(c.outages.to_string()),
        number(minutes(c.longest_outage_ms)),
        number(c.mttr_ms.map_or(String::new(), minutes)),
        number(minutes(c.maintenance_ms)),
        number(minutes(c.unknown_ms)),
    ]
}

/// One CSV cell; `quoted` forces the quotes a neutralised cell carries.
struct Cell {
    value: String,
    quoted: bool,
}

/// A figure Beacon computed: written as it is, a leading `-` included.
fn number(value: String) -> Cell {
    Cell {
        value,
        quoted: false,
    }
}

/// Beacon's own words (headers, fixed values): nothing to neutralise.
fn ours(value: &str) -> Cell {
    number(value.to_owned())
}

/// Text someone else wrote: a leading `=`, `+`, `-`, `@`, tab or CR, which spreadsheets
/// read as the start of a formula, gets a `'` before it, and the cell is quoted.
fn text(value: &str) -> Cell {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cell {
            value: format!("'{value}"),
            quoted: true,
        }
    } else {
        ours(value)
    }
}

/// RFC 4180 without the CRLF (as the csv crate writes it): a cell is quoted when it holds a
/// comma, a quote or a line break, or was neutralised; quotes inside are doubled. A row of one
/// empty cell is written `""`, so readers do not skip it as a blank line.
fn encode(rows: &[Vec<Cell>]) -> String {
    let mut out = String::new();
    for row in rows {
        if let [only] = row.as_slice() {
            if only.value.is_empty() {
                out.push_str("\"\"\n");
                continue;
            }
        }
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if cell.quoted || cell.value.contains([',', '"', '\n', '\r']) {
                out.push('"');
                out.push_str(&cell.value.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(&cell.value);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: Vec<Cell>) -> String {
        encode(&[cells])
    }

    #[test]
    fn text_that_starts_a_formula_is_neutralised_and_quoted() {
        for (value, written) in [
            (
                "=HYPERLINK(\"http://x.test\",\"x\")",
                "\"'=HYPERLINK(\"\"http://x.test\"\",\"\"x\"\")\"",
            ),
            ("+1", "\"'+1\""),
            ("-2+3", "\"'-2+3\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\tcmd", "\"'\tcmd\""),
            ("\rcmd", "\"'\rcmd\""),
            ("Live chat", "Live chat"),
            ("a=b", "a=b"),
            ("Chat, phone", "\"Chat, phone\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("", ""),
        ] {
            assert_eq!(
                line(vec![text(value), ours("x")]),
                format!("{written},x\n"),
                "{value:?}"
            );
        }
    }

    #[test]
    fn numbers_stay_numbers_and_a_lone_empty_cell_keeps_its_row() {
        assert_eq!(
            line(vec![
                number("-1.0".into()),
                number("99.500".into()),
                number(String::new())
            ]),
            "-1.0,99.500,\n"
        );
        assert_eq!(
            encode(&[vec![ours("a")], vec![ours("")], vec![ours("b")]]),
            "a\n\"\"\nb\n"
        );
    }
}
