//! `/admin/tickets`: the queue in the contract's order, each ticket's clock, events and
//! waiver explanation; `/admin/reports/YYYY-MM[.csv|.json]`: the monthly report with its
//! ticket section, which the public report never shows.

use super::incidents::local_to_utc;
use super::{
    channel_checkboxes, csrf_field, field_error, form_errors, invalid, render, render_with_status,
    see_other, when, AdminError, AdminForm, Field, Page, Session,
};
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
    let body = ticket_page(&app, &session, &id, &EventForm::default(), &[]).await?;
    Ok(render(&session, &format!("Ticket {id}"), body))
}

/// What was typed into the event form, kept when it is refused.
#[derive(Default)]
struct EventForm {
    kind: String,
    at: String,
    severity: String,
    channels: Vec<String>,
}

/// The event types the form offers, with their labels.
const EVENT_TYPES: [(&str, &str); 7] = [
    ("public_reply", "Public reply (stops the clock)"),
    ("auto_ack", "Automatic acknowledgement"),
    ("bot_reply", "Bot reply"),
    ("internal_note", "Internal note"),
    ("severity_change", "Severity change"),
    ("channels_change", "Channels change"),
    ("reopen", "Reopened by the customer"),
];

/// `POST /admin/tickets/{id}/events`: records an event, checked by the API's own rules
/// (`web::ticket_events::TypedEvent::check`: its time between the receipt and 5 s from now).
pub(super) async fn add_event(
    State(app): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Page {
    let record = app
        .store
        .ticket(id.clone())
        .await
        .map_err(|e| not_found(e, &id))?;
    let typed = EventForm {
        kind: form.get("type").to_owned(),
        at: form.get("at").to_owned(),
        severity: form.get("severity").to_owned(),
        channels: form
            .with_prefix("ech:")
            .map(|(k, _)| k.to_owned())
            .collect(),
    };
    let at = (!typed.at.trim().is_empty()).then(|| local_to_utc(typed.at.trim()));
    let checked = crate::web::ticket_events::TypedEvent {
        kind: &typed.kind,
        at: at.as_deref(),
        severity: Severity::parse(&typed.severity),
        channels: (typed.kind == "channels_change").then(|| typed.channels.clone()),
    }
    .check(&app, record.ticket.received_at, app.clock.now());
    match checked {
        Ok(event) => {
            app.store
                .add_ticket_event(id.clone(), event, form.session.actor.clone())
                .await
                .map_err(|e| not_found(e, &id))?;
            Ok(see_other(&format!("/admin/tickets/{id}")))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            let body = ticket_page(&app, &form.session, &id, &typed, &errors).await?;
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.session,
                &format!("Ticket {id}"),
                body,
            ))
        }
    }
}

fn not_found(e: crate::store::Error, id: &str) -> AdminError {
    match e {
        crate::store::Error::NotFound => {
            AdminError::new(StatusCode::NOT_FOUND, format!("No ticket {id:?}."))
        }
        other => other.into(),
    }
}

/// The ticket's clock, its events and the form that records one.
async fn ticket_page(
    app: &AppState,
    session: &Session,
    id: &str,
    typed: &EventForm,
    errors: &[(String, String)],
) -> Result<Markup, AdminError> {
    let record = app
        .store
        .ticket(id.to_owned())
        .await
        .map_err(|e| not_found(e, id))?;
    let e = evaluate_one(app, record).await?;
    let ev = &e.evaluation;
    let t = &e.record.ticket;
    let config = app.config();
    Ok(html! {
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
        section aria-labelledby="record" {
            h2 id="record" { "Record an event" }
            form method="post" action=(format!("/admin/tickets/{}/events", t.id)) class="admin-form" novalidate {
                (csrf_field(session))
                label for="type" { "Event" }
                select id="type" name="type" aria-invalid=[invalid(errors, "type").map(|_| "true")] aria-describedby=[invalid(errors, "type")] {
                    @for (value, label) in EVENT_TYPES {
                        option value=(value) selected[typed.kind == value] { (label) }
                    }
                }
                (field_error(errors, "type"))
                (Field::text("at", "When (UTC; empty for now; not before the receipt)", &typed.at).kind("datetime-local").optional().render(errors))
                label for="severity" { "New severity (for a severity change)" }
                select id="severity" name="severity" aria-invalid=[invalid(errors, "severity").map(|_| "true")] aria-describedby=[invalid(errors, "severity")] {
                    option value="" { "none" }
                    @for s in Severity::ALL {
                        option value=(s.as_str()) selected[typed.severity == s.as_str()] { (s.as_str()) }
                    }
                }
                (field_error(errors, "severity"))
                (channel_checkboxes(&config, "New channels (for a channels change)", "ech:", &typed.channels))
                @for (f, _) in errors { @if f.starts_with("channels") { (field_error(errors, f)) } }
                button type="submit" { "Record" }
            }
        }
    })
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
