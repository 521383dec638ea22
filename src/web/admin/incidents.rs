//! `/admin/incidents`: the list, the declaration form, an incident's timeline with its
//! update form, publish and hide. Validation is the operator API's (`web::incidents`), so a
//! browser and a script are held to the same rules; the acknowledgement time is never a
//! form field anywhere.

use super::{
    csrf_field, field_error, form_errors, invalid, render, render_with_status, see_other, when,
    AdminForm, Field, Page, Session,
};
use crate::domain::{
    Affected, Config, DeclaredStatus, Impact, Incident, IncidentKind, NewIncident, NewUpdate,
    UpdateStatus,
};
use crate::web::incidents::{affected, announce, fitting, message, non_empty, parse_id, time};
use crate::web::{AppState, Error};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{html, Markup};
use std::collections::BTreeMap;

const DECLARABLE: [(DeclaredStatus, &str, &str); 3] = [
    (
        DeclaredStatus::DegradedPerformance,
        "degraded_performance",
        "Degraded performance",
    ),
    (
        DeclaredStatus::PartialOutage,
        "partial_outage",
        "Partial outage",
    ),
    (DeclaredStatus::MajorOutage, "major_outage", "Major outage"),
];

pub(super) async fn list(State(app): State<AppState>, session: Session) -> Page {
    let all = app.store.incidents().await?;
    let body = html! {
        p { a href="/admin/incidents/new" { "Declare an incident" } }
        div class="scroll" tabindex="0" role="region" aria-label="Incidents and maintenance" {
            table {
                thead { tr {
                    th scope="col" { "Title" } th scope="col" { "Kind" } th scope="col" { "Status" }
                    th scope="col" { "Acknowledged (published)" } th scope="col" { "Visibility" }
                } }
                tbody {
                    @for i in &all {
                        tr {
                            th scope="row" { a href=(format!("/admin/incidents/{}", i.id)) { (i.title) } }
                            td { (super::dashboard::kind_label(i)) }
                            td { (i.status().map_or("", UpdateStatus::as_str)) }
                            td { @match i.published_at { Some(p) => (when(p)), None => "draft" } }
                            td { @if i.hidden { "hidden" } @else if i.published_at.is_some() { "public" } @else { "internal" } }
                        }
                    }
                }
            }
        }
    };
    Ok(render(&session, "Incidents", body))
}

pub(super) async fn new_form(State(app): State<AppState>, session: Session) -> Page {
    let config = app.config();
    Ok(render(
        &session,
        "Declare an incident",
        incident_form(&session, &config, &Typed::default(), &[]),
    ))
}

/// What the operator typed, kept so a refused form loses nothing.
#[derive(Default)]
struct Typed {
    title: String,
    impact: String,
    status: String,
    message: String,
    started_at: String,
    service_wide: bool,
    channels: BTreeMap<String, String>,
}

impl Typed {
    fn from(form: &AdminForm) -> Typed {
        Typed {
            title: form.get("title").to_owned(),
            impact: form.get("impact").to_owned(),
            status: form.get("status").to_owned(),
            message: form.get("message").to_owned(),
            started_at: form.get("started_at").to_owned(),
            service_wide: form.ticked("service_wide"),
            channels: form
                .with_prefix("ch:")
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }
}

pub(super) async fn create(State(app): State<AppState>, form: AdminForm) -> Page {
    let config = app.config();
    let typed = Typed::from(&form);
    let publish = form.get("publish") != "no";
    match new_incident(&config, &typed, publish) {
        Ok(new) => create_and_show(&app, new, &form.session).await,
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.session,
                "Declare an incident",
                incident_form(&form.session, &config, &typed, &errors),
            ))
        }
    }
}

/// Stores a new incident or window, tells the listeners, and shows its page.
pub(super) async fn create_and_show(app: &AppState, new: NewIncident, session: &Session) -> Page {
    let incident = app
        .store
        .create_incident(new, app.clock.now(), session.actor.clone())
        .await?;
    announce(app, &incident).await;
    Ok(see_other(&format!("/admin/incidents/{}", incident.id)))
}

fn new_incident(config: &Config, typed: &Typed, publish: bool) -> Result<NewIncident, Error> {
    // Maintenance is an impact of windows, not one an incident may declare.
    let impact = Impact::parse(&typed.impact)
        .filter(|i| *i != Impact::Maintenance)
        .ok_or_else(|| invalid_field("impact", "choose an impact"))?;
    let status = UpdateStatus::parse(&typed.status)
        .ok_or_else(|| invalid_field("status", "choose a status"))?;
    let started_at = match typed.started_at.as_str() {
        "" => None,
        text => Some(time(&local_to_utc(text), "started_at")?),
    };
    Ok(NewIncident {
        kind: IncidentKind::Incident,
        title: non_empty(typed.title.clone(), "title")?,
        impact,
        service_wide: typed.service_wide,
        started_at,
        status: fitting(status, IncidentKind::Incident)?,
        message: message(typed.message.clone())?,
        affected: Some(channels(config, &typed.channels)?),
        publish,
        scheduled_for: None,
        scheduled_until: None,
        auto_start: false,
        auto_end: false,
    })
}

/// `ch:<channel id>` selects to the affected set, checked like the API's.
fn channels(config: &Config, typed: &BTreeMap<String, String>) -> Result<Affected, Error> {
    let mut set = BTreeMap::new();
    for (key, value) in typed {
        let status = DECLARABLE
            .iter()
            .find(|(_, name, _)| name == value)
            .map(|(s, _, _)| *s)
            .ok_or_else(|| invalid_field(&format!("channels.{key}"), "choose a status"))?;
        set.insert(key.clone(), status);
    }
    affected(config, set)
}

/// `<input type="datetime-local">` sends `2026-11-26T10:30` without a zone: Beacon's
/// admin is in UTC, so it is read as UTC. Anything else goes to the RFC 3339 parser.
pub(super) fn local_to_utc(text: &str) -> String {
    let bytes = text.as_bytes();
    let looks_local =
        text.len() == 16 && bytes.get(10) == Some(&b'T') && bytes.get(13) == Some(&b':');
    if looks_local {
        format!("{text}:00Z")
    } else {
        text.to_owned()
    }
}

pub(super) fn invalid_field(field: &str, message: &str) -> Error {
    Error::Invalid {
        message: format!("{field}: {message}"),
        field: field.to_owned(),
    }
}

fn incident_form(
    session: &Session,
    config: &Config,
    typed: &Typed,
    errors: &[(String, String)],
) -> Markup {
    let impact = if typed.impact.is_empty() {
        "major"
    } else {
        typed.impact.as_str()
    };
    html! {
        form method="post" action="/admin/incidents" class="admin-form" novalidate {
            (csrf_field(session))
            (Field::text("title", "Title", &typed.title).render(errors))
            label for="impact" { "Impact" }
            select id="impact" name="impact" {
                @for i in ["none", "minor", "major", "critical"] {
                    option value=(i) selected[i == impact] { (i) }
                }
            }
            (field_error(errors, "impact"))
            label for="status" { "Status" }
            select id="status" name="status" {
                @for s in [UpdateStatus::Investigating, UpdateStatus::Identified, UpdateStatus::Monitoring] {
                    option value=(s.as_str()) selected[s.as_str() == typed.status] { (s.as_str()) }
                }
            }
            (field_error(errors, "status"))
            label for="message" { "Message (Markdown)" }
            textarea id="message" name="message" rows="5" { (typed.message) }
            (field_error(errors, "message"))
            (Field::text("started_at", "Problem began (UTC, optional; may be earlier than now)", &typed.started_at).kind("datetime-local").optional().render(errors))
            (channel_fieldset(config, &typed.channels, errors))
            div class="checkbox" {
                input id="service_wide" name="service_wide" type="checkbox" checked[typed.service_wide];
                label for="service_wide" { "Service-wide (affects every channel)" }
            }
            p class="hint" { "Publishing stamps the server's time as the acknowledgement; it can never be changed afterwards." }
            button type="submit" name="publish" value="yes" { "Publish now" }
            " "
            button type="submit" name="publish" value="no" { "Save as draft" }
        }
    }
}

/// One select per channel: not affected or a declared status.
fn channel_fieldset(
    config: &Config,
    chosen: &BTreeMap<String, String>,
    errors: &[(String, String)],
) -> Markup {
    html! {
        fieldset {
            legend { "Affected channels" }
            @for c in &config.channels {
                @let field = format!("channels.{}", c.id);
                @let current = chosen.get(&c.id).map_or("", String::as_str);
                label for=(format!("ch-{}", c.id)) { (c.name) }
                select id=(format!("ch-{}", c.id)) name=(format!("ch:{}", c.id))
                    aria-describedby=[invalid(errors, &field)] {
                    option value="" selected[current.is_empty()] { "Not affected" }
                    @for (_, name, label) in DECLARABLE {
                        option value=(name) selected[name == current] { (label) }
                    }
                }
                (field_error(errors, &field))
            }
        }
    }
}

pub(super) async fn show(
    State(app): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Page {
    let incident = app.store.incident(parse_id(&id)?).await?;
    let config = app.config();
    Ok(render(
        &session,
        &incident.title.clone(),
        detail(&session, &config, &incident, &[]),
    ))
}

fn detail(session: &Session, config: &Config, i: &Incident, errors: &[(String, String)]) -> Markup {
    let current: BTreeMap<String, String> = current_affected(i)
        .into_iter()
        .filter_map(|(k, v)| {
            let name = DECLARABLE.iter().find(|(s, _, _)| *s == v)?.1;
            Some((k, name.to_owned()))
        })
        .collect();
    let statuses: Vec<UpdateStatus> = UpdateStatus::ALL
        .into_iter()
        .filter(|s| s.fits(i.kind))
        .collect();
    html! {
        dl class="facts" {
            dt { "Kind" } dd { (super::dashboard::kind_label(i)) }
            dt { "Impact" } dd { (format!("{:?}", i.impact).to_lowercase()) }
            dt { "Status" } dd { (i.status().map_or("", UpdateStatus::as_str)) }
            dt { "Acknowledged (first publication)" }
            dd { @match i.published_at { Some(p) => { (when(p)) " (fixed by the server; it cannot be changed)" }, None => "not yet: a draft is internal" } }
            @if let Some(s) = i.started_at { dt { "Problem began" } dd { (when(s)) } }
            @if let (Some(f), Some(u)) = (i.scheduled_for, i.scheduled_until) {
                dt { "Window" } dd {
                    (when(f)) " to " (when(u))
                    @if let Some(note) = crate::web::incident_view::announcement_note(i, crate::domain::Timestamp::to_display) { " · " strong { (note) } }
                }
            }
            dt { "Origin" } dd { (i.origin) }
            dt { "Visibility" } dd { @if i.hidden { "hidden from the public page" } @else if i.published_at.is_some() { "public" } @else { "internal draft" } }
        }
        @if i.published_at.is_none() {
            form method="post" action=(format!("/admin/incidents/{}/publish", i.id)) class="inline" {
                (csrf_field(session))
                button type="submit" { "Publish" }
            }
        }
        @if !i.hidden {
            form method="post" action=(format!("/admin/incidents/{}/hide", i.id)) class="inline" {
                (csrf_field(session))
                button type="submit" { "Hide from the public page" }
            }
        }
        h2 { "Post an update" }
        form method="post" action=(format!("/admin/incidents/{}/updates", i.id)) class="admin-form" novalidate {
            (csrf_field(session))
            label for="status" { "Status" }
            select id="status" name="status" {
                @for s in &statuses { option value=(s.as_str()) selected[Some(*s) == i.status()] { (s.as_str()) } }
            }
            (field_error(errors, "status"))
            label for="message" { "Message (Markdown)" }
            textarea id="message" name="message" rows="4" {}
            (field_error(errors, "message"))
            div class="checkbox" {
                input id="keep_channels" name="keep_channels" type="checkbox" checked;
                label for="keep_channels" { "Keep the affected channels as they are (untick to replace them with the selection below)" }
            }
            @if i.kind == IncidentKind::Incident {
                (channel_fieldset(config, &current, errors))
            }
            button type="submit" { "Post update" }
        }
        h2 { "Timeline" }
        ol class="timeline" reversed {
            @for u in i.updates.iter().rev() {
                li {
                    p {
                        strong { (u.status.as_str()) } " · "
                        @match u.published_at { Some(p) => { "published " (when(p)) }, None => "draft (not public)" }
                        " · by " (u.author)
                    }
                    (crate::web::markdown::render(&u.message))
                    @if let Some(a) = &u.affected {
                        p class="affected" { "Affected: "
                            @if a.is_empty() { "none" }
                            @for (k, v) in a { span class="tag" { (k) ": " (format!("{v:?}")) } " " }
                        }
                    }
                }
            }
        }
    }
}

/// The affected set in force: the latest update that stated one.
fn current_affected(i: &Incident) -> Affected {
    i.updates
        .iter()
        .rev()
        .find_map(|u| u.affected.clone())
        .unwrap_or_default()
}

pub(super) async fn update(
    State(app): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Page {
    let id = parse_id(&id)?;
    let existing = app.store.incident(id).await?;
    let config = app.config();
    let built = (|| {
        let status = UpdateStatus::parse(form.get("status"))
            .ok_or_else(|| invalid_field("status", "choose a status"))?;
        let affected = if form.ticked("keep_channels") || existing.kind == IncidentKind::Maintenance
        {
            None
        } else {
            let typed = form
                .with_prefix("ch:")
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            Some(channels(&config, &typed)?)
        };
        Ok::<_, Error>(NewUpdate {
            status: fitting(status, existing.kind)?,
            message: message(form.get("message").to_owned())?,
            affected,
        })
    })();
    match built {
        Ok(new) => {
            let incident = app
                .store
                .add_update(id, new, app.clock.now(), form.session.actor.clone())
                .await?;
            announce(&app, &incident).await;
            Ok(see_other(&format!("/admin/incidents/{id}")))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.session,
                &existing.title.clone(),
                detail(&form.session, &config, &existing, &errors),
            ))
        }
    }
}

pub(super) async fn publish(
    State(app): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Page {
    let id = parse_id(&id)?;
    let incident = app
        .store
        .publish_incident(id, app.clock.now(), form.session.actor)
        .await?;
    announce(&app, &incident).await;
    Ok(see_other(&format!("/admin/incidents/{id}")))
}

pub(super) async fn hide(
    State(app): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Page {
    let id = parse_id(&id)?;
    app.store
        .hide_incident(id, app.clock.now(), form.session.actor)
        .await?;
    app.public_changed().await;
    Ok(see_other(&format!("/admin/incidents/{id}")))
}
