//! The operator web admin under `/admin`: login, dashboard, incidents and maintenance,
//! tickets, accounts, tokens, the audit log and notification failures. Server-rendered with
//! maud, no JavaScript; every form carries the session's CSRF token (`session.rs`).

mod accounts;
mod dashboard;
mod incidents;
mod locations;
mod login;
mod logs;
mod maintenance;
mod recurring;
mod session;
mod tickets;

pub(crate) use session::{AdminForm, Session};

use super::auth::Role;
use super::AppState;
use crate::domain::Timestamp;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard::show))
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/logout", post(login::logout))
        .route(
            "/admin/incidents",
            get(incidents::list).post(incidents::create),
        )
        .route("/admin/incidents/new", get(incidents::new_form))
        .route("/admin/incidents/{id}", get(incidents::show))
        .route("/admin/incidents/{id}/updates", post(incidents::update))
        .route("/admin/incidents/{id}/publish", post(incidents::publish))
        .route("/admin/incidents/{id}/hide", post(incidents::hide))
        .route(
            "/admin/maintenance",
            get(maintenance::calendar).post(maintenance::create),
        )
        .route("/admin/maintenance/recurring", post(recurring::create))
        .route(
            "/admin/maintenance/recurring/{id}/delete",
            post(recurring::delete),
        )
        .route("/admin/tickets", get(tickets::queue))
        .route("/admin/tickets/{id}", get(tickets::show))
        .route("/admin/tickets/{id}/events", post(tickets::add_event))
        .route("/admin/reports/{file}", get(tickets::report))
        .route(
            "/admin/users",
            get(accounts::users).post(accounts::add_user),
        )
        .route("/admin/users/{name}/disable", post(accounts::disable_user))
        .route("/admin/users/{name}/enable", post(accounts::enable_user))
        .route(
            "/admin/tokens",
            get(accounts::tokens).post(accounts::create_token),
        )
        .route("/admin/tokens/{name}/revoke", post(accounts::revoke_token))
        .route("/admin/audit", get(logs::audit))
        .route("/admin/notifications", get(logs::notifications))
        .route("/admin/locations", get(locations::show))
}

/// What an admin handler answers.
type Page = Result<Response, AdminError>;

/// A refusal or failure shown as a small HTML page with its status code.
#[derive(Debug)]
pub(crate) struct AdminError {
    status: StatusCode,
    message: String,
}

impl AdminError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        AdminError {
            status,
            message: message.into(),
        }
    }
}

impl From<super::Error> for AdminError {
    fn from(e: super::Error) -> Self {
        let status = e.status_code();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "admin request failed");
            "Something went wrong on the server; nothing was changed.".to_owned()
        } else {
            e.to_string()
        };
        AdminError { status, message }
    }
}

impl From<crate::store::Error> for AdminError {
    fn from(e: crate::store::Error) -> Self {
        super::Error::Store(e).into()
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = super::page::layout(
            "Beacon admin",
            html! {
                h1 { (self.status.canonical_reason().unwrap_or("Error")) }
                p role="alert" { (self.message) }
                p { a href="/admin" { "Back to the dashboard" } }
            },
        );
        (self.status, no_store(), Html(body.into_string())).into_response()
    }
}

/// Admin pages are personal: never cached by a browser or a proxy.
fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

/// An admin page with the navigation and the logout button.
fn render(session: &Session, title: &str, body: Markup) -> Response {
    render_with_status(StatusCode::OK, session, title, body)
}

fn render_with_status(
    status: StatusCode,
    session: &Session,
    title: &str,
    body: Markup,
) -> Response {
    let page = super::page::layout(
        &format!("{title} · Beacon admin"),
        html! {
            nav class="admin-nav" aria-label="Admin" {
                a href="/admin" { "Dashboard" }
                a href="/admin/incidents" { "Incidents" }
                a href="/admin/maintenance" { "Maintenance" }
                a href="/admin/tickets" { "Tickets" }
                @if session.role.grants(Role::Admin) {
                    a href="/admin/users" { "Accounts" }
                    a href="/admin/tokens" { "API tokens" }
                    a href="/admin/audit" { "Audit log" }
                }
                a href="/admin/notifications" { "Notifications" }
                a href="/admin/locations" { "Locations" }
                a href="/" { "Public page" }
                form method="post" action="/admin/logout" class="inline" {
                    (csrf_field(session))
                    button type="submit" { "Log out " (session.user) }
                }
            }
            h1 { (title) }
            (body)
        },
    );
    (status, no_store(), Html(page.into_string())).into_response()
}

/// The hidden field every admin form carries.
fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A time as the admin shows it: UTC, to the second, machine-readable too.
fn when(t: Timestamp) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.to_display()) } }
}

/// After a successful form post: see the result (303 so a reload does not post again).
fn see_other(location: &str) -> Response {
    axum::response::Redirect::to(location).into_response()
}

/// A labelled input whose error, if its field has one, is shown under it and tied to it
/// (`aria-invalid`, `aria-describedby`).
struct Field<'a> {
    name: &'a str,
    label: &'a str,
    kind: &'a str,
    value: &'a str,
    required: bool,
    autocomplete: Option<&'a str>,
}

impl<'a> Field<'a> {
    /// A required text input.
    fn text(name: &'a str, label: &'a str, value: &'a str) -> Field<'a> {
        Field {
            name,
            label,
            kind: "text",
            value,
            required: true,
            autocomplete: None,
        }
    }

    fn kind(self, kind: &'a str) -> Self {
        Field { kind, ..self }
    }

    fn optional(self) -> Self {
        Field {
            required: false,
            ..self
        }
    }

    fn autocomplete(self, autocomplete: &'a str) -> Self {
        Field {
            autocomplete: Some(autocomplete),
            ..self
        }
    }

    fn render(&self, errors: &[(String, String)]) -> Markup {
        let described = invalid(errors, self.name);
        html! {
            label for=(self.name) { (self.label) }
            input id=(self.name) name=(self.name) type=(self.kind) required[self.required]
                value=(self.value) autocomplete=[self.autocomplete]
                aria-invalid=[described.as_ref().map(|_| "true")] aria-describedby=[described];
            (field_error(errors, self.name))
        }
    }
}

/// A checkbox per configured channel, named `<prefix><channel id>`, in a fieldset.
fn channel_checkboxes(
    config: &crate::domain::Config,
    legend: &str,
    prefix: &str,
    ticked: &[String],
) -> Markup {
    html! {
        fieldset {
            legend { (legend) }
            @for c in &config.channels {
                @let id = format!("{}-{}", prefix.trim_end_matches(':'), c.id);
                div class="checkbox" {
                    input id=(id) name=(format!("{prefix}{}", c.id)) type="checkbox" checked[ticked.contains(&c.id)];
                    label for=(id) { (c.name) }
                }
            }
        }
    }
}

/// A field's error message, tied to its input by id for screen readers.
fn field_error(errors: &[(String, String)], field: &str) -> Markup {
    html! {
        @for (f, message) in errors {
            @if f == field {
                p class="field-error" id=(format!("{field}-error")) role="alert" { (message) }
            }
        }
    }
}

/// `aria-describedby`/`aria-invalid` for an input whose field has an error.
fn invalid(errors: &[(String, String)], field: &str) -> Option<String> {
    errors
        .iter()
        .any(|(f, _)| f == field)
        .then(|| format!("{field}-error"))
}

/// Turns an API validation error into a form error on its field.
fn form_errors(e: super::Error) -> Result<Vec<(String, String)>, AdminError> {
    match e {
        super::Error::Invalid { message, field } => Ok(vec![(field, message)]),
        other => Err(other.into()),
    }
}
