//! `/admin`: what an operator on duty needs first: channels now, drafts waiting for a
//! one-click publish (or resolution once the channel recovered), open incidents,
//! maintenance, tickets close to their deadline and failing notifications.

use super::{csrf_field, render, when, Page, Session};
use crate::domain::{Incident, IncidentKind, UpdateStatus};
use crate::store::DeliveryStatus;
use crate::web::AppState;
use axum::extract::State;
use maud::{html, Markup};

pub(super) async fn show(State(app): State<AppState>, session: Session) -> Page {
    let now = app.clock.now();
    let public = crate::web::live::live(&app).await?;
    let all = app.store.incidents().await?;
    let drafts: Vec<&Incident> = all
        .iter()
        .filter(|i| i.published_at.is_none() && !i.hidden && !i.is_closed())
        .collect();
    let open: Vec<&Incident> = all
        .iter()
        .filter(|i| i.published_at.is_some() && !i.hidden && !i.is_closed())
        .collect();
    let failed = app
        .store
        .notify_deliveries(500)
        .await?
        .into_iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .count();
    let due = super::tickets::due_soon(&app).await?;
    let body = html! {
        p { "Signed in as " strong { (session.user) } " (" (format!("{:?}", session.role).to_lowercase()) "). Times are UTC; now " (when(now)) "." }
        section aria-labelledby="drafts" {
            h2 id="drafts" { "Drafts waiting for you" }
            @if drafts.is_empty() {
                p { "No drafts." }
            } @else {
                ul class="admin-list" {
                    @for i in &drafts { li { (draft_row(&session, i)) } }
                }
            }
        }
        section aria-labelledby="open" {
            h2 id="open" { "Published and open" }
            @if open.is_empty() {
                p { "Nothing open." }
            } @else {
                ul class="admin-list" {
                    @for i in &open {
                        li {
                            a href=(format!("/admin/incidents/{}", i.id)) { (i.title) }
                            " · " (kind_label(i)) " · " (i.status().map_or("", UpdateStatus::as_str))
                            " · acknowledged " @if let Some(p) = i.published_at { (when(p)) }
                        }
                    }
                }
            }
            p { a href="/admin/incidents/new" { "Declare an incident" } " · " a href="/admin/maintenance" { "Schedule maintenance" } }
        }
        section aria-labelledby="channels" {
            h2 id="channels" { "Channels" }
            div class="scroll" tabindex="0" role="region" aria-labelledby="channels" {
                table {
                    thead { tr { th scope="col" { "Channel" } th scope="col" { "Group" } th scope="col" { "State" } th scope="col" { "Since" } th scope="col" { "Why" } } }
                    tbody {
                        @for c in &public.channels {
                            tr {
                                th scope="row" { (c.name) }
                                td { (c.group) }
                                td { (c.state.as_str()) }
                                td { @if let Some(s) = c.since { (when(s)) } }
                                td { (c.reason.clone().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="attention" {
            h2 id="attention" { "Needs attention" }
            ul {
                li { a href="/admin/tickets" { (due) " ticket(s)" } " within 15 minutes of their deadline or past it." }
                li { a href="/admin/notifications" { (failed) " notification(s)" } " failed after every retry." }
            }
        }
    };
    Ok(render(&session, "Dashboard", body))
}

pub(super) fn kind_label(i: &Incident) -> &'static str {
    match i.kind {
        IncidentKind::Incident => "incident",
        IncidentKind::Maintenance => "maintenance",
    }
}

/// A draft with its one-click publish, and a resolve button once its channel recovered.
fn draft_row(session: &Session, i: &Incident) -> Markup {
    html! {
        a href=(format!("/admin/incidents/{}", i.id)) { (i.title) }
        " · created " (when(i.created_at))
        " · " (i.status().map_or("", UpdateStatus::as_str))
        form method="post" action=(format!("/admin/incidents/{}/publish", i.id)) class="inline" {
            (csrf_field(session))
            button type="submit" { "Publish " span class="visually-hidden" { (i.title) } }
        }
        @if i.status() == Some(UpdateStatus::Monitoring) {
            form method="post" action=(format!("/admin/incidents/{}/updates", i.id)) class="inline" {
                (csrf_field(session))
                input type="hidden" name="status" value="resolved";
                input type="hidden" name="keep_channels" value="on";
                input type="hidden" name="message" value="The channel has recovered; this incident is resolved.";
                button type="submit" { "Resolve " span class="visually-hidden" { (i.title) } }
            }
        }
    }
}
