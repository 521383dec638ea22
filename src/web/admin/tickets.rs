//! `/admin/tickets`: the queue in the contract's order, each ticket's clock, events and
//! waiver explanation; `/admin/reports/YYYY-MM[.csv|.json]`: the monthly report with its
//! ticket section, which the public report never shows.

use super::{render, when, AdminError, Page, Session};
use crate::domain::{Severity, TicketEventKind, Timestamp};
use crate::report;
use crate::ticket::{self, Evaluated};
use crate::web::reports::{report_error, report_file, report_response};
use crate::web::tickets::{evaluate_one, every_ticket};
use crate::web::{AppState, Error};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{html, Markup};

/// Recently received tickets listed under the queue.
const RECENT: usize = 50;

/// How many open tickets are within 15 minutes of their deadline (or past it).
pub(super) async fn due_soon(app: &AppState) -> Result<usize, Error> {
    Ok(ticket::due_soon(&every_ticket(app).await?, app.clock.now()).len())
}

pub(super) async fn queue(State(app): State<AppState>, session: Session) -> Page {
    let now = app.clock.now();
    let evaluated = every_ticket(&app).await?;
    let mut recent = evaluated.clone();
    recent.reverse();
    recent.truncate(RECENT);
    let open = ticket::queue(evaluated.into_iter().filter(ticket::is_open).collect());
    let body = html! {
        section aria-labelledby="queue" {
            h2 id="queue" { "Queue (" (open.len()) " open)" }
            p class="hint" { "Critical and High first by deadline (waived Critical tickets by receipt: they still need an answer), then first come, first served." }
            (table(&open, now, "Open tickets in queue order"))
        }
        section aria-labelledby="recent" {
            h2 id="recent" { "Recently received" }
            (table(&recent, now, "Recently received tickets"))
        }
        p { "Monthly report with the ticket section: " a href=(format!("/admin/reports/{}", now.to_rfc3339().get(..7).unwrap_or_default())) { "this month" } "." }
    };
    Ok(render(&session, "Tickets", body))
}

fn table(tickets: &[Evaluated], now: Timestamp, label: &str) -> Markup {
    html! {
        div class="scroll" tabindex="0" role="region" aria-label=(label) {
            table {
                thead { tr {
                    th scope="col" { "Request" } th scope="col" { "Severity" } th scope="col" { "Subject" }
                    th scope="col" { "Received" } th scope="col" { "Deadline" } th scope="col" { "State" }
                } }
                tbody {
                    @for e in tickets {
                        @let due = ticket::is_due_soon(e, now);
                        tr class=[due.then_some("due-soon")] {
                            th scope="row" { a href=(format!("/admin/tickets/{}", e.record.ticket.id)) { (e.record.ticket.id) } }
                            td { (e.evaluation.severity.as_str()) }
                            td { (e.record.subject) }
                            td { (when(e.record.ticket.received_at)) }
                            td { @match e.evaluation.deadline { Some(d) => (when(d)), None => "none (waived)" } }
                            td {
                                (e.evaluation.state.as_str())
                                @if due { " · " strong { "due within 15 minutes" } }
                                @if let Some(i) = e.evaluation.waived_by { " · waived by " a href=(format!("/admin/incidents/{i}")) { "incident " (i) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) async fn show(
    State(app): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Page {
    let record = app.store.ticket(id.clone()).await.map_err(|e| match e {
        crate::store::Error::NotFound => {
            AdminError::new(StatusCode::NOT_FOUND, format!("No ticket {id:?}."))
        }
        other => other.into(),
    })?;
    let e = evaluate_one(&app, record).await?;
    let ev = &e.evaluation;
    let t = &e.record.ticket;
    let body = html! {
        p class="explanation" { (ev.explanation) }
        dl class="facts" {
            dt { "Helpdesk id" } dd { (e.record.external_id) " (" (e.record.source) ")" }
            dt { "Subject" } dd { (e.record.subject) }
            dt { "Severity" } dd { (ev.severity.as_str()) @if ev.severity != t.severity { " (received as " (t.severity.as_str()) ")" } }
            dt { "Channels at receipt" } dd { @if t.channels.is_empty() { "none given" } @else { (t.channels.join(", ")) } }
            dt { "Received" } dd { (when(t.received_at)) }
            dt { "Clock from" } dd { (when(ev.clock_from)) }
            dt { "Deadline" } dd { @match ev.deadline { Some(d) => (when(d)), None => "none: no contractual clock (waived)" } }
            dt { "First response" } dd { @match ev.first_response_at { Some(f) => (when(f)), None => "not yet" } }
            dt { "State" } dd { (ev.state.as_str()) }
            @if let Some(i) = ev.waived_by {
                dt { "Waived by" }
                dd {
                    a href=(format!("/admin/incidents/{i}")) { "incident " (i) }
                    @if let Some(p) = ev.ack_published_at { ", published " (when(p)) }
                    @if let Some(o) = &ev.ack_origin { " (" (o) ")" }
                }
            }
            dt { "Rules" } dd { (ev.rule_version) }
        }
        h2 { "Events" }
        @if t.events.is_empty() { p { "No events yet." } }
        ol class="timeline" {
            @for event in &t.events {
                li { (when(event.at)) " · " (event_label(&event.kind)) }
            }
        }
    };
    Ok(render(&session, &format!("Ticket {}", t.id), body))
}

fn event_label(kind: &TicketEventKind) -> String {
    match kind {
        TicketEventKind::PublicReply => "public reply (stops the clock)".into(),
        TicketEventKind::AutoAck => "automatic acknowledgement (does not stop the clock)".into(),
        TicketEventKind::BotReply => "bot reply (does not stop the clock)".into(),
        TicketEventKind::InternalNote => "internal note".into(),
        TicketEventKind::SeverityChange(s) => format!("severity changed to {}", severity(*s)),
        TicketEventKind::ChannelsChange(c) => format!("channels changed to {}", c.join(", ")),
        TicketEventKind::Reopen => "reopened by the customer".into(),
    }
}

fn severity(s: Severity) -> &'static str {
    s.as_str()
}

/// The monthly report with its ticket section, for operators only.
pub(super) async fn report(
    State(app): State<AppState>,
    _session: Session,
    Path(file): Path<String>,
) -> Page {
    let (month, format) = report_file(&file)?;
    let config = app.config();
    let built = report::build_with_tickets(&app.store, &config, month, app.clock.now())
        .await
        .map_err(|e| report_error(e, "month"))?;
    Ok(report_response(&built, format, "no-store"))
}
