//! The printable HTML report (A4), with an inline SVG bar per channel per day.

use super::{minutes, percent, ChannelFigures, DayFigures, MonthReport};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Below this coverage the report warns that the figures rest on partial monitoring.
const COVERAGE_WARNING: f64 = 0.99;

const STYLE: &str = r#"
body { font: 11pt/1.4 system-ui, sans-serif; color: #1b1f24; margin: 0 auto; max-width: 60rem; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
th, td { border-bottom: 1px solid #d0d7de; padding: .3rem .4rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.met { color: #1a7f37; font-weight: 600; } .missed { color: #cf222e; font-weight: 600; }
.warning { border-left: 4px solid #9a6700; padding: .25rem .75rem; background: #fff8c5; }
.settings { color: #57606a; }
.bars { display: block; margin: .25rem 0 .75rem; }
@page { size: A4; margin: 15mm; }
@media print { body { max-width: none; padding: 0; } section { break-inside: avoid; } }
"#;

pub(super) fn render(report: &MonthReport) -> String {
    let overall = &report.overall.figures;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (report.service) " uptime report " (report.month) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (report.service) ": uptime report " (report.month) }
                p class="settings" {
                    "Commitment " (percent(Some(report.commitment))) "% per calendar month (UTC). "
                    "Partial outage weight " (report.settings.partial_weight) ". "
                    "Maintenance " (if report.settings.maintenance_counts_as_downtime { "counts as downtime" } else { "is excluded" }) ". "
                    "Period " (report.period_start) " to " (report.period_end) ". "
                    "Generated " (report.generated_at) "."
                }
                section aria-label="Support services" {
                    h2 { "Support services (overall)" }
                    p {
                        "Availability " strong { (percent(overall.availability)) "%" } " — "
                        (verdict(overall.met))
                        @if report.overall.all_channels_met { ". Every channel in the commitment met it." }
                        @else { ". Not every channel in the commitment met it." }
                    }
                    (coverage_warning(overall))
                }
                section {
                    h2 { "Channels" }
                    table {
                        thead { tr {
                            th scope="col" { "Channel" } th scope="col" { "Availability %" } th scope="col" { "Met" }
                            th scope="col" { "Allowed min" } th scope="col" { "Downtime min" } th scope="col" { "Budget left min" }
                            th scope="col" { "Coverage %" } th scope="col" { "Outages" } th scope="col" { "Longest min" }
                            th scope="col" { "MTTR min" } th scope="col" { "Maintenance min" } th scope="col" { "Unknown min" }
                        } }
                        tbody {
                            @for c in report.channels.iter().chain(std::iter::once(overall)) {
                                tr {
                                    td { (c.name) @if !c.in_commitment { " (outside commitment)" } }
                                    td { (percent(c.availability)) } td { (verdict(c.met)) }
                                    td { (minutes(c.allowed_downtime_ms)) } td { (minutes(c.counted_downtime_ms())) }
                                    td { (minutes(c.budget_remaining_ms)) } td { (percent(Some(c.coverage))) }
                                    td { (c.outages) } td { (minutes(c.longest_outage_ms)) }
                                    td { (c.mttr_ms.map_or("—".to_owned(), minutes)) }
                                    td { (minutes(c.maintenance_ms)) } td { (minutes(c.unknown_ms)) }
                                }
                            }
                        }
                    }
                }
                @if let Some(tickets) = &report.tickets {
                    (ticket_section(tickets))
                }
                @for c in &report.channels {
                    section {
                        h2 { (c.name) }
                        (coverage_warning(c))
                        (bars(&c.days, report.commitment))
                    }
                }
            }
        }
    };
    markup.into_string()
}

fn ticket_section(t: &super::TicketSection) -> Markup {
    html! {
        section {
            h2 { "Tickets: first response" }
            p class="settings" { "Medium and Low on " (if t.calendar == "tier2" { "Tier-2 business hours (06:00-16:00 UTC, business days)" } else { "calendar hours" }) "; Critical and High 24x7. Met % = met / (met + breached); waived Critical tickets have no contractual clock." }
            p class="settings" { (rules_sentence(&t.rules)) }
            table {
                thead { tr {
                    th scope="col" { "Severity" } th scope="col" { "Received" } th scope="col" { "Responded" }
                    th scope="col" { "Met" } th scope="col" { "Breached" } th scope="col" { "Pending" } th scope="col" { "Waived" }
                    th scope="col" { "Met %" } th scope="col" { "Avg min" } th scope="col" { "Median min" } th scope="col" { "p90 min" }
                } }
                tbody {
                    @for (severity, f) in t.by_severity.iter() {
                        tr {
                            td { (severity) } td { (f.received) } td { (f.responded) } td { (f.met) } td { (f.breached) }
                            td { (f.pending) } td { (f.waived) } td { (percent(f.met_ratio)) }
                            td { (f.avg_first_response_ms.map_or("—".to_owned(), minutes)) }
                            td { (f.median_first_response_ms.map_or("—".to_owned(), minutes)) }
                            td { (f.p90_first_response_ms.map_or("—".to_owned(), minutes)) }
                        }
                    }
                }
            }
            @for (title, list) in [("Breached tickets", &t.breached), ("Waived Critical tickets", &t.waived)] {
                h3 { (title) }
                @if list.is_empty() { p { "None." } } @else {
                    ul { @for line in list { li { strong { (line.id) } " (" (line.external_id) "): " (line.explanation) } } }
                }
            }
        }
    }
}

/// The ticket rules in force, in one sentence.
pub(super) fn rules_sentence(r: &super::model::TicketRules) -> String {
    let t = &r.target_min;
    let on_off = |b: bool| if b { "on" } else { "off" };
    format!(
        "Targets: Critical {} min, High {} min, Medium {} min, Low {} min; severity changes re-target from the {}; options W-impact {}, A2 {}, M0 {}.",
        t.critical,
        t.high,
        t.medium,
        t.low,
        if r.retarget_from == "change" { "change" } else { "receipt" },
        on_off(r.waiver_requires_impact),
        on_off(r.status_page_counts_as_response),
        on_off(r.maintenance_never_waives),
    )
}

fn verdict(met: Option<bool>) -> Markup {
    match met {
        Some(true) => html! { span class="met" { "met" } },
        Some(false) => html! { span class="missed" { "not met" } },
        None => html! { span { "not measured" } },
    }
}

fn coverage_warning(c: &ChannelFigures) -> Markup {
    if c.coverage >= COVERAGE_WARNING {
        return html! {};
    }
    html! {
        p class="warning" {
            "Coverage " (percent(Some(c.coverage))) "%: " (minutes(c.unknown_ms))
            " minutes were not monitored and are left out of the availability."
        }
    }
}

/// One bar per day, coloured by that day's availability, each with a text title.
fn bars(days: &[DayFigures], commitment: f64) -> Markup {
    let width = 9;
    let total = days.len() * width;
    html! {
        svg class="bars" width=(total) height="28" viewBox=(format!("0 0 {total} 28")) role="img"
            aria-label="Daily availability" xmlns="http://www.w3.org/2000/svg" {
            @for (i, d) in days.iter().enumerate() {
                rect x=(i * width) y="0" width=(width - 2) height="28" rx="1" fill=(colour(d.availability, commitment)) {
                    title {
                        (d.date) ": " (percent(d.availability)) "% available, "
                        (minutes(d.down_ms)) " min down, " (minutes(d.partial_ms)) " min partial, "
                        (minutes(d.unknown_ms)) " min unknown"
                    }
                }
            }
        }
    }
}

fn colour(availability: Option<f64>, commitment: f64) -> &'static str {
    match availability {
        None => "#8c959f",
        Some(a) if a >= 1.0 => "#1a7f37",
        Some(a) if a >= commitment => "#4ac26b",
        Some(a) if a >= 0.95 => "#bf8700",
        Some(_) => "#cf222e",
    }
}
