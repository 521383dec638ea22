//! `/admin/maintenance`: the maintenance calendar (windows by UTC day: in progress, coming,
//! and the last 30 days) and the form that schedules a window.

use super::incidents::{create_and_show, invalid_field, local_to_utc};
use super::{
    channel_checkboxes, csrf_field, field_error, form_errors, render, render_with_status, when,
    AdminForm, Field, Page, Session,
};
use crate::domain::{
    Config, DeclaredStatus, Impact, Incident, IncidentKind, NewIncident, Timestamp, UpdateStatus,
};
use crate::web::incidents::{affected, non_empty, planned_time};
use crate::web::{AppState, Error};
use axum::extract::State;
use axum::http::StatusCode;
use maud::{html, Markup};

const DAY_MS: i64 = 86_400_000;
/// Completed windows stay on the calendar this long.
const PAST_DAYS: i64 = 30;

pub(super) async fn calendar(State(app): State<AppState>, session: Session) -> Page {
    let body = full_page(
        &app,
        &session,
        (&Typed::default(), &[]),
        (&Default::default(), &[]),
    )
    .await?;
    Ok(render(&session, "Maintenance", body))
}

/// The calendar, the window form and the recurring rules, each form with what was typed
/// into it and its errors.
async fn full_page(
    app: &AppState,
    session: &Session,
    window: (&Typed, &[(String, String)]),
    rule: (&super::recurring::TypedRule, &[(String, String)]),
) -> Result<Markup, super::AdminError> {
    let windows = app.store.incidents().await?;
    let rules = super::recurring::section(app, session, rule.0, rule.1).await?;
    Ok(html! {
        (page(session, &app.config(), &windows, app.clock.now(), window.0, window.1))
        (rules)
    })
}

/// The page after a refused recurring-rule form.
pub(super) async fn page_with_rules(
    app: &AppState,
    session: &Session,
    typed: &super::recurring::TypedRule,
    errors: &[(String, String)],
) -> Result<Markup, super::AdminError> {
    full_page(app, session, (&Typed::default(), &[]), (typed, errors)).await
}

#[derive(Default)]
struct Typed {
    title: String,
    message: String,
    from: String,
    until: String,
    channels: Vec<String>,
    manual_start: bool,
    manual_end: bool,
}

pub(super) async fn create(State(app): State<AppState>, form: AdminForm) -> Page {
    let config = app.config();
    let typed = Typed {
        title: form.get("title").to_owned(),
        message: form.get("message").to_owned(),
        from: form.get("scheduled_for").to_owned(),
        until: form.get("scheduled_until").to_owned(),
        channels: form
            .with_prefix("mch:")
            .map(|(k, _)| k.to_owned())
            .collect(),
        manual_start: form.ticked("manual_start"),
        manual_end: form.ticked("manual_end"),
    };
    match window(&config, &typed, app.clock.now()) {
        Ok(new) => create_and_show(&app, new, &form.session).await,
        Err(e) => {
            let errors = form_errors(e)?;
            let body = full_page(
                &app,
                &form.session,
                (&typed, &errors),
                (&Default::default(), &[]),
            )
            .await?;
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.session,
                "Maintenance",
                body,
            ))
        }
    }
}

/// The window the form describes, checked as the API checks it (a start in the past is
/// accepted and counts only from now, its announcement; sla-rules 3 rule 6).
fn window(config: &Config, typed: &Typed, now: Timestamp) -> Result<NewIncident, Error> {
    let from = planned_time(&local_to_utc(&typed.from), "scheduled_for", now)?;
    let until = planned_time(&local_to_utc(&typed.until), "scheduled_until", now)?;
    if until <= from {
        return Err(invalid_field(
            "scheduled_until",
            "the end must be after the start",
        ));
    }
    let channels = typed
        .channels
        .iter()
        .map(|c| (c.clone(), DeclaredStatus::UnderMaintenance))
        .collect();
    Ok(NewIncident {
        kind: IncidentKind::Maintenance,
        title: non_empty(typed.title.clone(), "title")?,
        impact: Impact::Maintenance,
        service_wide: false,
        started_at: None,
        status: UpdateStatus::Scheduled,
        message: typed.message.clone(),
        affected: Some(affected(config, channels)?),
        publish: true,
        scheduled_for: Some(from),
        scheduled_until: Some(until),
        auto_start: !typed.manual_start,
        auto_end: !typed.manual_end,
    })
}

fn page(
    session: &Session,
    config: &Config,
    all: &[Incident],
    now: Timestamp,
    typed: &Typed,
    errors: &[(String, String)],
) -> Markup {
    let horizon = now.millis() - PAST_DAYS * DAY_MS;
    let mut windows: Vec<&Incident> = all
        .iter()
        .filter(|i| i.kind == IncidentKind::Maintenance)
        .filter(|i| i.scheduled_until.is_some_and(|u| u.millis() >= horizon) || !i.is_closed())
        .collect();
    windows.sort_by_key(|i| i.scheduled_for);
    let mut days: Vec<(String, Vec<&Incident>)> = Vec::new();
    for w in windows {
        let day = w.scheduled_for.map_or_else(
            || "unscheduled".to_owned(),
            |t| t.to_rfc3339().chars().take(10).collect(),
        );
        match days.last_mut() {
            Some((d, list)) if *d == day => list.push(w),
            _ => days.push((day, vec![w])),
        }
    }
    html! {
        section aria-labelledby="calendar" {
            h2 id="calendar" { "Calendar (UTC)" }
            @if days.is_empty() { p { "No maintenance in the last 30 days or planned." } }
            @for (day, list) in &days {
                h3 { (day) }
                ul class="admin-list" {
                    @for w in list {
                        li {
                            a href=(format!("/admin/incidents/{}", w.id)) { (w.title) }
                            " · " (w.status().map_or("", UpdateStatus::as_str))
                            @if let (Some(f), Some(u)) = (w.scheduled_for, w.scheduled_until) {
                                " · " (when(f)) " to " (when(u))
                                @if !w.is_closed() && u < now { " · " strong { "overrunning" } }
                            }
                            @if !w.auto_start || !w.auto_end { " · manual " @if !w.auto_start { "start" } @if !w.auto_start && !w.auto_end { " and " } @if !w.auto_end { "end" } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="schedule" {
            h2 id="schedule" { "Schedule a window" }
            form method="post" action="/admin/maintenance" class="admin-form" novalidate {
                (csrf_field(session))
                (Field::text("title", "Title", &typed.title).render(errors))
                label for="message" { "Message (Markdown)" }
                textarea id="message" name="message" rows="3" { (typed.message) }
                (Field::text("scheduled_for", "Starts (UTC)", &typed.from).kind("datetime-local").render(errors))
                (Field::text("scheduled_until", "Ends (UTC)", &typed.until).kind("datetime-local").render(errors))
                (channel_checkboxes(config, "Channels under maintenance", "mch:", &typed.channels))
                @for (f, _) in errors { @if f.starts_with("channels.") { (field_error(errors, f)) } }
                div class="checkbox" {
                    input id="manual_start" name="manual_start" type="checkbox" checked[typed.manual_start];
                    label for="manual_start" { "Start it by hand (not at the scheduled time)" }
                }
                div class="checkbox" {
                    input id="manual_end" name="manual_end" type="checkbox" checked[typed.manual_end];
                    label for="manual_end" { "End it by hand (not at the scheduled time)" }
                }
                button type="submit" { "Schedule and publish" }
            }
        }
    }
}
