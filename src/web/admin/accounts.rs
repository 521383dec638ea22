//! `/admin/users` and `/admin/tokens` (administrators only): accounts with their roles, and
//! API tokens with their last use. A new token is shown once, on the page that created it.

use super::{
    csrf_field, field_error, render, render_with_status, see_other, when, AdminError, AdminForm,
    Field, Page, Session,
};
use crate::account::{self, TokenScope};
use crate::domain::Config;
use crate::store::{TokenRecord, UserRecord};
use crate::web::auth::Role;
use crate::web::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{html, Markup};

pub(super) async fn users(State(app): State<AppState>, session: Session) -> Page {
    session.require(Role::Admin)?;
    let users = app.store.users().await?;
    Ok(render(
        &session,
        "Accounts",
        users_page(&session, &users, "", &[]),
    ))
}

pub(super) async fn add_user(State(app): State<AppState>, form: AdminForm) -> Page {
    form.session.require(Role::Admin)?;
    let name = form.get("name").to_owned();
    let role = form.get("role").to_owned();
    let password = form.raw("password").to_owned();
    let mut errors = Vec::new();
    if !account::is_valid_name(&name) {
        errors.push((
            "name".to_owned(),
            "Account names are 1 to 64 printable characters.".to_owned(),
        ));
    }
    if Role::parse_account(&role).is_none() {
        errors.push(("role".to_owned(), "Choose operator or admin.".to_owned()));
    }
    if errors.is_empty() {
        let auth = app.config().auth.clone();
        let hashed = tokio::task::spawn_blocking(move || account::hash_password(&password, &auth))
            .await
            .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        match hashed {
            Ok(hash) => {
                match app
                    .store
                    .create_user(
                        name.clone(),
                        role,
                        hash,
                        app.clock.now(),
                        form.session.actor.clone(),
                    )
                    .await
                {
                    Ok(_) => return Ok(see_other("/admin/users")),
                    Err(crate::store::Error::Conflict) => errors.push((
                        "name".to_owned(),
                        format!("An account named {name:?} already exists."),
                    )),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e @ account::Error::TooShort) => {
                errors.push(("password".to_owned(), format!("{e}.")))
            }
            Err(e) => {
                return Err(AdminError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    e.to_string(),
                ))
            }
        }
    }
    let users = app.store.users().await?;
    Ok(render_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form.session,
        "Accounts",
        users_page(&form.session, &users, &name, &errors),
    ))
}

pub(super) async fn disable_user(
    State(app): State<AppState>,
    Path(name): Path<String>,
    form: AdminForm,
) -> Page {
    set_disabled(app, name, true, form).await
}

pub(super) async fn enable_user(
    State(app): State<AppState>,
    Path(name): Path<String>,
    form: AdminForm,
) -> Page {
    set_disabled(app, name, false, form).await
}

async fn set_disabled(app: AppState, name: String, disabled: bool, form: AdminForm) -> Page {
    form.session.require(Role::Admin)?;
    if disabled && name == form.session.user {
        return Err(AdminError::new(
            StatusCode::CONFLICT,
            "You cannot disable your own account while using it.",
        ));
    }
    app.store
        .set_user_disabled(name, disabled, app.clock.now(), form.session.actor)
        .await?;
    Ok(see_other("/admin/users"))
}

fn users_page(
    session: &Session,
    users: &[UserRecord],
    name: &str,
    errors: &[(String, String)],
) -> Markup {
    html! {
        div class="scroll" tabindex="0" role="region" aria-label="Accounts" {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "State" } th scope="col" { "Action" } } }
                tbody {
                    @for u in users {
                        tr {
                            th scope="row" { (u.name) }
                            td { (u.role) }
                            td { (when(u.created_at)) }
                            td { @match u.disabled_at { Some(t) => { "disabled " (when(t)) }, None => "active" } }
                            td {
                                @let (path, label) = if u.disabled_at.is_some() { ("enable", "Enable") } else { ("disable", "Disable") };
                                form method="post" action=(format!("/admin/users/{}/{path}", urlencode(&u.name))) class="inline" {
                                    (csrf_field(session))
                                    button type="submit" { (label) " " span class="visually-hidden" { (u.name) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add an account" }
        form method="post" action="/admin/users" class="admin-form" novalidate {
            (csrf_field(session))
            (Field::text("name", "Name", name).autocomplete("off").render(errors))
            label for="role" { "Role" }
            select id="role" name="role" {
                option value="operator" { "operator (incidents, maintenance, tickets)" }
                option value="admin" { "admin (also accounts, tokens, audit log)" }
            }
            (field_error(errors, "role"))
            @let password_label = format!("Initial password (at least {} characters)", account::MIN_PASSWORD_CHARS);
            (Field::text("password", &password_label, "").kind("password").autocomplete("new-password").render(errors))
            button type="submit" { "Add account" }
        }
    }
}

pub(super) async fn tokens(State(app): State<AppState>, session: Session) -> Page {
    session.require(Role::Admin)?;
    let tokens = app.store.tokens().await?;
    Ok(render(
        &session,
        "API tokens",
        tokens_page(&session, &app.config(), &tokens, None, &[]),
    ))
}

pub(super) async fn create_token(State(app): State<AppState>, form: AdminForm) -> Page {
    form.session.require(Role::Admin)?;
    let name = form.get("name").to_owned();
    let role = form.get("role").to_owned();
    let location = form.get("location").to_owned();
    let config = app.config();
    let mut errors = Vec::new();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        errors.push((
            "name".to_owned(),
            "Give the token a name of 1 to 64 characters, none of them a control character."
                .to_owned(),
        ));
    }
    let scope = match crate::account::token_scope(&config, &role, Some(&location)) {
        Ok(scope) => Some(scope),
        Err(e @ crate::account::ScopeError::UnknownRole(_)) => {
            errors.push((
                "role".to_owned(),
                format!("{}.", capitalized(&e.to_string())),
            ));
            None
        }
        Err(e) => {
            errors.push((
                "location".to_owned(),
                format!("{}.", capitalized(&e.to_string())),
            ));
            None
        }
    };
    let existing = app.store.tokens().await?;
    if existing
        .iter()
        .any(|t| t.name == name && t.revoked_at.is_none())
    {
        errors.push((
            "name".to_owned(),
            format!("An active token named {name:?} exists."),
        ));
    }
    let Some(scope) = scope.filter(|_| errors.is_empty()) else {
        return Ok(render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.session,
            "API tokens",
            tokens_page(&form.session, &config, &existing, None, &errors),
        ));
    };
    let (token, hash) = crate::probe::new_token().map_err(|_| {
        AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "no secure random source")
    })?;
    let (now, actor) = (app.clock.now(), form.session.actor.clone());
    match scope {
        TokenScope::Prober { location } => {
            app.store
                .create_prober_token(name.clone(), location, hash, now, actor)
                .await?
        }
        other => {
            let role = other.role().to_owned();
            app.store
                .create_token(name.clone(), role, hash, now, actor)
                .await?
        }
    };
    let tokens = app.store.tokens().await?;
    Ok(render(
        &form.session,
        "API tokens",
        tokens_page(&form.session, &config, &tokens, Some((&name, &token)), &[]),
    ))
}

pub(super) async fn revoke_token(
    State(app): State<AppState>,
    Path(name): Path<String>,
    form: AdminForm,
) -> Page {
    form.session.require(Role::Admin)?;
    app.store
        .revoke_token(name, app.clock.now(), form.session.actor)
        .await?;
    Ok(see_other("/admin/tokens"))
}

fn tokens_page(
    session: &Session,
    config: &Config,
    tokens: &[TokenRecord],
    created: Option<(&str, &str)>,
    errors: &[(String, String)],
) -> Markup {
    html! {
        @if let Some((name, token)) = created {
            section class="notice" aria-label="New token" {
                p role="status" { "Token " strong { (name) } " created. Copy it now: it is shown only this once." }
                pre { code { (token) } }
                p { "Use it as " code { "Authorization: Bearer TOKEN" } "." }
            }
        }
        div class="scroll" tabindex="0" role="region" aria-label="Tokens" {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Location" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { "State" } } }
                tbody {
                    @for t in tokens {
                        tr {
                            th scope="row" { (t.name) }
                            td { (t.role) }
                            td { @match &t.location { Some(l) => { (config.location_name(l)) " (" code { (l) } ")" }, None => "—" } }
                            td { (when(t.created_at)) }
                            td { @match t.last_used_at { Some(u) => (when(u)), None => "never" } }
                            td {
                                @match t.revoked_at {
                                    Some(r) => { "revoked " (when(r)) },
                                    None => {
                                        form method="post" action=(format!("/admin/tokens/{}/revoke", urlencode(&t.name))) class="inline" {
                                            (csrf_field(session))
                                            button type="submit" { "Revoke " span class="visually-hidden" { (t.name) } }
                                        }
                                    },
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Create a token" }
        form method="post" action="/admin/tokens" class="admin-form" novalidate {
            (csrf_field(session))
            (Field::text("name", "Name (what uses it, e.g. helpdesk)", "").render(errors))
            label for="role" { "Role" }
            select id="role" name="role" {
                option value="operator" { "operator" }
                option value="admin" { "admin" }
                option value="prober" { "prober (one location's probes and observations)" }
            }
            (field_error(errors, "role"))
            label for="location" { "Location (prober tokens only)" }
            select id="location" name="location" {
                option value="" { "none (operator and admin tokens)" }
                @for id in crate::account::remote_ids(config) {
                    option value=(id) { (config.location_name(id)) " (" (id) ")" }
                }
            }
            (field_error(errors, "location"))
            button type="submit" { "Create token" }
        }
    }
}

/// `text` with its first letter upper-case, for a message shown as a sentence.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A name as one path segment.
fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
