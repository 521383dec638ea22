//! `/admin/login` and `/admin/logout`. One answer for every failed login (unknown name,
//! wrong password, disabled account), equally slow, and throttled per address and name
//! together (`account::LoginThrottle`: backoff, not lockout).

use super::session::{over_https, set_cookie, LoginForm, LOGIN_COOKIE, SESSION_COOKIE};
use super::{no_store, see_other, AdminError, AdminForm, Page};
use crate::account;
use crate::domain::Timestamp;
use crate::probe::hash_token;
use crate::web::AppState;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse};
use maud::html;
use std::time::Duration;

/// The pre-login cookie outlives a slow typist, not a day.
const LOGIN_COOKIE_TTL: Duration = Duration::from_secs(3600);
const FAILED: &str = "Wrong account name or password.";

pub(super) async fn form(State(app): State<AppState>, mut parts: Parts) -> Page {
    if super::Session::present(&mut parts, &app).await {
        return Ok(see_other("/admin"));
    }
    let no_accounts = app.store.users().await?.is_empty();
    login_page(StatusCode::OK, None, "", no_accounts, over_https(&parts))
}

pub(super) async fn submit(State(app): State<AppState>, form: LoginForm) -> Page {
    let auth = app.config().auth.clone();
    let now = app.clock.now();
    let name = form.fields.get("name").to_owned();
    let password = form.fields.raw("password").to_owned();
    let throttle_name = account::throttle::name_key(&name);
    let history = app
        .store
        .login_history(
            form.source.clone(),
            throttle_name.clone(),
            account::throttle::window_start(now, auth.login_window),
        )
        .await?;
    if let Some(wait) = account::throttle::wait(&history, now, &auth) {
        // Rounded up: a client that waits this long is let in.
        let seconds = wait.as_millis().div_ceil(1000).max(1);
        let mut response = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many failed logins. Try again in {seconds} seconds."
            )),
            &name,
            false,
            form.https,
        )?;
        if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(response);
    }
    let user = match app.store.user(name.clone()).await {
        Ok(user) if user.disabled_at.is_none() => Some(user),
        Ok(_) | Err(crate::store::Error::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let verified = tokio::task::spawn_blocking(move || match &user {
        Some(user) => {
            account::verify_password(&password, &user.password_hash).then(|| user.clone())
        }
        None => {
            account::verify_nobody(&password, &auth);
            None
        }
    })
    .await
    .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let Some(user) = verified else {
        let window = app.config().auth.login_window;
        app.store
            .login_failed(
                form.source.clone(),
                throttle_name,
                now,
                account::throttle::streak_reset_before(now, window),
                account::throttle::window_start(now, window),
            )
            .await?;
        tracing::info!(source = %form.source, "failed admin login");
        return login_page(
            StatusCode::UNAUTHORIZED,
            Some(FAILED),
            &name,
            false,
            form.https,
        );
    };
    app.store
        .login_succeeded(form.source.clone(), throttle_name)
        .await?;
    open_session(&app, &user.name, now, form.source, form.https).await
}

async fn open_session(
    app: &AppState,
    user: &str,
    now: Timestamp,
    source: String,
    https: bool,
) -> Page {
    let broken =
        |e: account::Error| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let secret = account::new_secret().map_err(broken)?;
    let csrf = account::new_secret().map_err(broken)?;
    let ttl = app.config().auth.session_ttl;
    let expires = now.plus_ms(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    app.store
        .create_session(
            hash_token(&secret),
            user.to_owned(),
            csrf,
            now,
            expires,
            source,
        )
        .await?;
    let mut response = see_other("/admin");
    let headers = response.headers_mut();
    for cookie in [
        set_cookie(SESSION_COOKIE, secret, "/admin", ttl, https),
        set_cookie(
            LOGIN_COOKIE,
            String::new(),
            "/admin/login",
            Duration::ZERO,
            https,
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

pub(super) async fn logout(State(app): State<AppState>, form: AdminForm) -> Page {
    let session = form.session;
    app.store
        .end_session(session.id_hash, app.clock.now(), session.actor)
        .await?;
    let mut response = see_other("/admin/login");
    let cookie = set_cookie(
        SESSION_COOKIE,
        String::new(),
        "/admin",
        Duration::ZERO,
        false,
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The login form with a fresh pre-login CSRF cookie.
fn login_page(
    status: StatusCode,
    error: Option<&str>,
    name: &str,
    no_accounts: bool,
    https: bool,
) -> Page {
    let csrf = account::new_secret()
        .map_err(|e| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let body = crate::web::page::layout(
        "Log in · Beacon admin",
        html! {
            h1 { "Log in" }
            @if no_accounts {
                section class="notice" aria-label="First start" {
                    p { "No account exists yet. Create the first administrator on the server:" }
                    pre { code { "beacon user add NAME --role admin" } }
                }
            }
            @if let Some(error) = error {
                p class="field-error" id="login-error" role="alert" { (error) }
            }
            form method="post" action="/admin/login" class="admin-form" {
                input type="hidden" name="csrf" value=(csrf);
                label for="name" { "Account name" }
                input id="name" name="name" type="text" autocomplete="username" required value=(name)
                    aria-describedby=[error.map(|_| "login-error")];
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    );
    let mut response = (status, no_store(), Html(body.into_string())).into_response();
    let cookie = set_cookie(LOGIN_COOKIE, csrf, "/admin/login", LOGIN_COOKIE_TTL, https);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}
