//! The operator API for recurring maintenance rules (`Authorization: Bearer TOKEN`). Rules
//! from `probes.toml` are listed too but are changed only in the file.

use super::auth::{Caller, Role};
use super::body::{Body, Path};
use super::error::{AuthErrors, InputErrors, NotFoundError};
use super::text;
use super::{AppState, Error};
use crate::domain::{RecurringMaintenance, Repeat, Timestamp};
use crate::incident::recurring;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_rule, list_rules))
        .routes(routes!(delete_rule))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleBody {
    /// Not blank; at most 200 characters, no NUL.
    #[schema(schema_with = text::title_schema)]
    pub title: String,
    /// Markdown; at most 20,000 characters, no NUL.
    #[serde(default)]
    #[schema(schema_with = text::message_schema)]
    pub message: String,
    /// Channel ids or `group:<slug>`.
    #[serde(default)]
    #[schema(schema_with = text::key_list_schema)]
    pub channels: Vec<String>,
    /// A UTC cron expression (six fields with seconds, or the classic five); or `weekly`.
    #[serde(default)]
    #[schema(schema_with = text::optional_key_schema)]
    pub cron: Option<String>,
    /// A day and a UTC time, e.g. `sun 02:00`; or `cron`.
    #[serde(default)]
    #[schema(schema_with = text::optional_key_schema)]
    pub weekly: Option<String>,
    /// Length of each window, e.g. `2h`.
    #[schema(schema_with = text::key_schema)]
    pub duration: String,
    #[serde(default = "yes")]
    pub auto_start: bool,
    #[serde(default = "yes")]
    pub auto_end: bool,
}

fn yes() -> bool {
    true
}

/// A rule as the API shows it, with the starts of its next windows.
#[derive(Serialize, ToSchema)]
struct RuleView {
    /// `12` for a rule from the API, `config:<id>` for one from `probes.toml`.
    id: String,
    /// `api` or `config`.
    source: &'static str,
    title: String,
    message: String,
    channels: Vec<String>,
    cron: Option<String>,
    weekly: Option<String>,
    duration: String,
    duration_ms: i64,
    auto_start: bool,
    auto_end: bool,
    /// Starts of the windows within the publication horizon (14 days, at most 20).
    upcoming: Vec<String>,
}

fn view(rule: RecurringMaintenance, now: Timestamp) -> RuleView {
    let upcoming = recurring::starts(
        &rule.repeat,
        now,
        now.plus_ms(recurring::HORIZON_MS),
        recurring::MAX_AHEAD,
    )
    .into_iter()
    .map(Timestamp::to_rfc3339)
    .collect();
    let (id, source) = match rule.key.strip_prefix("api:") {
        Some(n) => (n.to_owned(), "api"),
        None => (rule.key.clone(), "config"),
    };
    let (cron, weekly) = match rule.repeat {
        Repeat::Cron(expression) => (Some(expression), None),
        Repeat::Weekly(at) => (None, Some(at.to_string())),
    };
    RuleView {
        id,
        source,
        title: rule.title,
        message: rule.message,
        channels: rule.channels,
        cron,
        weekly,
        duration: humantime::format_duration(std::time::Duration::from_millis(
            u64::try_from(rule.duration_ms).unwrap_or(0),
        ))
        .to_string(),
        duration_ms: rule.duration_ms,
        auto_start: rule.auto_start,
        auto_end: rule.auto_end,
        upcoming,
    }
}

/// Add a recurring maintenance rule; its windows within 14 days are published at once.
#[utoipa::path(post, path = "/api/v1/maintenances/recurring", tag = "maintenance", security(("bearer" = [])),
    request_body = RuleBody,
    responses((status = 201, description = "Created", body = RuleView), AuthErrors, InputErrors))]
async fn create_rule(
    State(app): State<AppState>,
    caller: Caller,
    Body(body): Body<RuleBody>,
) -> Result<(StatusCode, Json<RuleView>), Error> {
    caller.require(Role::Operator)?;
    let rule = add_rule(&app, body, caller.actor).await?;
    Ok((StatusCode::CREATED, Json(view(rule, app.clock.now()))))
}

/// Checks a rule as the configuration file's rules are checked, stores it and publishes its
/// windows within the horizon; shared by the API and the admin form.
pub(super) async fn add_rule(
    app: &AppState,
    body: RuleBody,
    actor: crate::domain::Actor,
) -> Result<RecurringMaintenance, Error> {
    let rule = checked_rule(&app.config(), body)?;
    let now = app.clock.now();
    let rule = app.store.create_recurring(rule, now, actor).await?;
    recurring::materialise(&app.store, std::slice::from_ref(&rule), now).await?;
    app.public_changed().await;
    Ok(rule)
}

fn checked_rule(
    config: &crate::domain::Config,
    body: RuleBody,
) -> Result<RecurringMaintenance, Error> {
    let invalid = |e: crate::config::RuleError| Error::Invalid {
        message: e.message,
        field: e.key.into(),
    };
    let title = text::required(body.title, "title", text::TITLE)?;
    text::check(&body.message, "message", text::MESSAGE)?;
    text::check_each(&body.channels, "channels", text::KEY)?;
    for (value, field) in [(&body.cron, "cron"), (&body.weekly, "weekly")] {
        if let Some(value) = value {
            text::check(value, field, text::KEY)?;
        }
    }
    text::check(&body.duration, "duration", text::KEY)?;
    let repeat = crate::config::parse_repeat(body.cron.as_deref(), body.weekly.as_deref())
        .map_err(invalid)?;
    let length = humantime::parse_duration(body.duration.trim())
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::Invalid {
            message: format!(
                "duration {:?} is not a positive duration like \"30m\" or \"2h\"",
                body.duration
            ),
            field: "duration".into(),
        })?;
    crate::config::check_duration(&repeat, length).map_err(invalid)?;
    if let Some((n, key)) = body
        .channels
        .iter()
        .enumerate()
        .find(|(_, k)| !config.knows_channel_key(k))
    {
        return Err(Error::Invalid {
            message: format!("unknown channel or group {key:?}"),
            field: format!("channels[{n}]"),
        });
    }
    Ok(RecurringMaintenance {
        key: String::new(),
        title,
        message: body.message,
        channels: body.channels,
        repeat,
        duration_ms: i64::try_from(length.as_millis()).unwrap_or(i64::MAX),
        auto_start: body.auto_start,
        auto_end: body.auto_end,
    })
}

#[derive(Serialize, ToSchema)]
struct RuleList {
    recurring_maintenances: Vec<RuleView>,
    next: Option<String>,
}

/// The rules from `probes.toml`, then the API's, oldest first.
pub(super) async fn all_rules(app: &AppState) -> Result<Vec<RecurringMaintenance>, Error> {
    let mut rules = app.config().maintenance.clone();
    rules.extend(app.store.recurring_rules().await?);
    Ok(rules)
}

/// Recurring maintenance rules: those of `probes.toml` (`config:<id>`), then the API's.
#[utoipa::path(get, path = "/api/v1/maintenances/recurring", tag = "maintenance", security(("bearer" = [])),
    responses((status = 200, description = "The rules with their next windows", body = RuleList), AuthErrors))]
async fn list_rules(State(app): State<AppState>, caller: Caller) -> Result<Json<RuleList>, Error> {
    caller.require(Role::Operator)?;
    let now = app.clock.now();
    Ok(Json(RuleList {
        recurring_maintenances: all_rules(&app)
            .await?
            .into_iter()
            .map(|r| view(r, now))
            .collect(),
        next: None,
    }))
}

/// Stop a rule from publishing new windows; the windows it published stay.
#[utoipa::path(delete, path = "/api/v1/maintenances/recurring/{id}", tag = "maintenance", security(("bearer" = [])),
    params(("id" = String, Path, description = "Rule id (rules from probes.toml cannot be deleted here)")),
    responses((status = 204, description = "Deleted"), AuthErrors, InputErrors, NotFoundError))]
async fn delete_rule(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::response::Response, Error> {
    caller.require(Role::Operator)?;
    remove_rule(&app, &id, caller.actor).await?;
    Ok(super::no_body::NoBody::no_content())
}

/// Deletes an API rule by its id; rules from `probes.toml` are changed only in the file.
pub(super) async fn remove_rule(
    app: &AppState,
    id: &str,
    actor: crate::domain::Actor,
) -> Result<(), Error> {
    if id.starts_with("config:") {
        return Err(Error::Invalid {
            message: format!("rule {id} is defined in probes.toml; remove it there"),
            field: "id".into(),
        });
    }
    let n: i64 = id
        .parse()
        .map_err(|_| Error::NotFound(format!("no recurring maintenance {id:?}")))?;
    app.store
        .delete_recurring(n, app.clock.now(), actor)
        .await
        .map_err(|e| match e {
            crate::store::Error::NotFound => {
                Error::NotFound(format!("no recurring maintenance {id:?}"))
            }
            other => Error::Store(other),
        })
}
