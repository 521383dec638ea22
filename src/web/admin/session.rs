//! Who is at the admin: the session cookie, the CSRF check on every form, and the refusal
//! pages. Cookies carry a random secret; the store keeps only its SHA-256.

use super::super::auth::{remote_address, Role};
use super::super::AppState;
use super::AdminError;
use crate::account::same_secret;
use crate::domain::Actor;
use crate::probe::hash_token;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};

/// The session cookie; scoped to `/admin` so the public pages never see it.
pub(super) const SESSION_COOKIE: &str = "beacon_session";
/// The pre-login CSRF cookie (double submit: the login form carries the same value).
pub(super) const LOGIN_COOKIE: &str = "beacon_login";
/// Forms are small; anything larger is refused before parsing.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A logged-in operator or admin.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    pub id_hash: String,
    pub actor: Actor,
}

impl Session {
    /// A 403 page unless the account's role grants `role`.
    pub fn require(&self, role: Role) -> Result<(), AdminError> {
        if self.role.grants(role) {
            Ok(())
        } else {
            Err(AdminError::new(
                StatusCode::FORBIDDEN,
                "This page is for administrators.",
            ))
        }
    }
}

/// Why a request has no session: a page visit goes to the login form, a form post is
/// refused (redirecting would silently drop what was typed).
pub(crate) enum NoSession {
    Login,
    Refused,
    Broken(AdminError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::Login => Redirect::to("/admin/login").into_response(),
            NoSession::Refused => AdminError::new(
                StatusCode::FORBIDDEN,
                "You are not logged in (or your session has ended). Log in again at /admin/login.",
            )
            .into_response(),
            NoSession::Broken(e) => e.into_response(),
        }
    }
}

impl Session {
    /// Whether the request carries a live session (the login page then goes to the dashboard).
    pub async fn present(parts: &mut Parts, app: &AppState) -> bool {
        cookie_value(parts, SESSION_COOKIE).is_some()
            && Session::from_request_parts(parts, app).await.is_ok()
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, NoSession> {
        let refuse = if parts.method == Method::GET || parts.method == Method::HEAD {
            NoSession::Login
        } else {
            NoSession::Refused
        };
        let Some(secret) = cookie_value(parts, SESSION_COOKIE) else {
            return Err(refuse);
        };
        let id_hash = hash_token(&secret);
        let record = match app.store.session(id_hash.clone(), app.clock.now()).await {
            Ok(record) => record,
            Err(crate::store::Error::NotFound) => return Err(refuse),
            Err(e) => return Err(NoSession::Broken(e.into())),
        };
        Ok(Session {
            actor: Actor {
                who: format!("user:{}", record.user),
                source: remote_address(parts, app),
            },
            role: Role::parse_account(&record.role).unwrap_or(Role::Operator),
            user: record.user,
            csrf: record.csrf,
            id_hash,
        })
    }
}

/// A posted form's fields in order (repeated keys kept, for checkbox lists).
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(bytes: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The first value of `key`, trimmed; empty when absent.
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.trim())
    }

    /// The first value of `key` exactly as sent (passwords: spaces count).
    pub fn raw(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether a checkbox named `key` was ticked.
    pub fn ticked(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Every `(key, value)` whose key starts with `prefix`, the prefix removed.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.trim())))
    }
}

/// A posted admin form: the session that posted it, with its CSRF token checked.
pub(crate) struct AdminForm {
    pub session: Session,
    pub fields: Fields,
}

impl std::ops::Deref for AdminForm {
    type Target = Fields;

    fn deref(&self) -> &Fields {
        &self.fields
    }
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let bytes = read_form(&parts, body).await?;
        let form = AdminForm {
            session,
            fields: Fields::parse(&bytes),
        };
        if !same_secret(form.get("csrf"), &form.session.csrf) {
            return Err(csrf_refused());
        }
        Ok(form)
    }
}

/// The login form's fields, checked against the pre-login cookie (there is no session yet).
pub(super) struct LoginForm {
    pub fields: Fields,
    pub source: String,
    pub https: bool,
}

impl FromRequest<AppState> for LoginForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let bytes = read_form(&parts, body).await?;
        let form = LoginForm {
            fields: Fields::parse(&bytes),
            source: remote_address(&parts, app),
            https: over_https(&parts),
        };
        let expected = cookie_value(&parts, LOGIN_COOKIE).unwrap_or_default();
        if expected.is_empty() || !same_secret(form.fields.get("csrf"), &expected) {
            return Err(csrf_refused());
        }
        Ok(form)
    }
}

async fn read_form(parts: &Parts, body: axum::body::Body) -> Result<Bytes, Response> {
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AdminError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Admin forms are posted as application/x-www-form-urlencoded.",
        )
        .into_response());
    }
    axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            AdminError::new(StatusCode::PAYLOAD_TOO_LARGE, "This form is too large.")
                .into_response()
        })
}

fn csrf_refused() -> Response {
    AdminError::new(
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this site (CSRF check failed). Reload the page and try again.",
    )
    .into_response()
}

/// The value of cookie `name` in the request, if present.
pub(super) fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, scoped to `path`, `Secure` when the
/// page was served over HTTPS; `max_age` zero deletes the cookie.
pub(super) fn set_cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: std::time::Duration,
    https: bool,
) -> String {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(https)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .build()
        .to_string()
}

/// Beacon speaks plain HTTP; HTTPS means a proxy in front that says so.
pub(super) fn over_https(parts: &Parts) -> bool {
    parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}
