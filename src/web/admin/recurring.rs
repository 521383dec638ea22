//! Recurring maintenance on the admin's maintenance page: the rules (from `probes.toml` and
//! added here or through the API) with their next windows, a form to add one, and delete.
//! Checks and storage are the API's (`web::recurring`).

use super::{
    channel_checkboxes, csrf_field, form_errors, render_with_status, see_other, when, AdminForm,
    Field, Page, Session,
};
use crate::domain::{Config, RecurringMaintenance, Repeat, Timestamp};
use crate::incident::recurring as schedule;
use crate::web::recurring::{add_rule, all_rules, remove_rule, RuleBody};
use crate::web::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{html, Markup};

/// What was typed into the rule form, kept when it is refused.
#[derive(Default)]
pub(super) struct TypedRule {
    title: String,
    message: String,
    repeat: String,
    duration: String,
    channels: Vec<String>,
}

pub(super) async fn create(State(app): State<AppState>, form: AdminForm) -> Page {
    let typed = TypedRule {
        title: form.get("rule_title").to_owned(),
        message: form.get("rule_message").to_owned(),
        repeat: form.get("repeat").to_owned(),
        duration: form.get("duration").to_owned(),
        channels: form
            .with_prefix("rch:")
            .map(|(k, _)| k.to_owned())
            .collect(),
    };
    // Five or six fields is cron; anything else is read as a weekly rule (`sun 02:00`).
    let is_cron = typed.repeat.split_whitespace().count() >= 5;
    let body = RuleBody {
        title: typed.title.clone(),
        message: typed.message.clone(),
        channels: typed.channels.clone(),
        cron: is_cron.then(|| typed.repeat.clone()),
        weekly: (!is_cron).then(|| typed.repeat.clone()),
        duration: typed.duration.clone(),
        auto_start: true,
        auto_end: true,
    };
    match add_rule(&app, body, form.session.actor.clone()).await {
        Ok(_) => Ok(see_other("/admin/maintenance")),
        Err(e) => {
            // The API names `cron`/`weekly`; the form has one field for both.
            let errors: Vec<(String, String)> = form_errors(e)?
                .into_iter()
                .map(|(field, message)| {
                    let field = match field.as_str() {
                        "cron" | "weekly" => "repeat".to_owned(),
                        "title" => "rule_title".to_owned(),
                        _ => field,
                    };
                    (field, message)
                })
                .collect();
            let page =
                super::maintenance::page_with_rules(&app, &form.session, &typed, &errors).await?;
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.session,
                "Maintenance",
                page,
            ))
        }
    }
}

pub(super) async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
    form: AdminForm,
) -> Page {
    remove_rule(&app, &id, form.session.actor).await?;
    Ok(see_other("/admin/maintenance"))
}

/// The rules with their next windows, and the form to add one.
pub(super) async fn section(
    app: &AppState,
    session: &Session,
    typed: &TypedRule,
    errors: &[(String, String)],
) -> Result<Markup, crate::web::Error> {
    let rules = all_rules(app).await?;
    let now = app.clock.now();
    let config = app.config();
    Ok(html! {
        section aria-labelledby="recurring" {
            h2 id="recurring" { "Recurring windows" }
            @if rules.is_empty() { p { "No recurring windows." } }
            ul class="admin-list" {
                @for rule in &rules { li { (rule_row(session, rule, now)) } }
            }
            (rule_form(session, &config, typed, errors))
        }
    })
}

fn rule_row(session: &Session, rule: &RecurringMaintenance, now: Timestamp) -> Markup {
    let next = schedule::starts(&rule.repeat, now, now.plus_ms(schedule::HORIZON_MS), 1);
    let repeat = match &rule.repeat {
        Repeat::Cron(expression) => format!("cron {expression}"),
        Repeat::Weekly(at) => format!("weekly {at}"),
    };
    let minutes = rule.duration_ms / 60_000;
    html! {
        strong { (rule.title) } " · " (repeat) " UTC · " (minutes) " min"
        @if !rule.channels.is_empty() { " · " (rule.channels.join(", ")) }
        @if let Some(n) = next.first() { " · next " (when(*n)) }
        @match rule.key.strip_prefix("api:") {
            Some(id) => {
                form method="post" action=(format!("/admin/maintenance/recurring/{id}/delete")) class="inline" {
                    (csrf_field(session))
                    button type="submit" { "Stop repeating " span class="visually-hidden" { (rule.title) } }
                }
            },
            None => { " · " span class="hint" { "defined in probes.toml" } },
        }
    }
}

fn rule_form(
    session: &Session,
    config: &Config,
    typed: &TypedRule,
    errors: &[(String, String)],
) -> Markup {
    html! {
        h3 { "Repeat a window" }
        form method="post" action="/admin/maintenance/recurring" class="admin-form" novalidate {
            (csrf_field(session))
            (Field::text("rule_title", "Title", &typed.title).render(errors))
            label for="rule_message" { "Message (Markdown)" }
            textarea id="rule_message" name="rule_message" rows="2" { (typed.message) }
            (Field::text("repeat", "Repeats (UTC): a weekly rule like \"sun 02:00\" or a cron expression", &typed.repeat).render(errors))
            (Field::text("duration", "Length of each window (e.g. 2h, 30m)", &typed.duration).render(errors))
            (channel_checkboxes(config, "Channels under maintenance", "rch:", &typed.channels))
            button type="submit" { "Add recurring window" }
        }
    }
}
