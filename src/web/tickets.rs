//! The ticket API (operator token): intake, events, listing and the queue.

use super::auth::{Caller, Role};
use super::body::{Body, Path, Query};
use super::error::{AuthErrors, InputErrors, NotFoundError};
use super::text;
use super::{AppState, Error};
use crate::domain::{Severity, TicketEventKind, Timestamp};
use crate::store::NewTicket;
use crate::ticket::{self, Evaluated};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive, list))
        .routes(routes!(one))
        .routes(routes!(queue))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TicketBody {
    /// The helpdesk's id, unique per source; not blank; at most 200 characters, no NUL.
    #[schema(schema_with = text::id_schema)]
    external_id: String,
    severity: Severity,
    /// Channel ids or `group:<slug>`.
    #[serde(default)]
    #[schema(schema_with = text::key_list_schema)]
    channels: Vec<String>,
    /// At most 1,000 characters, no NUL.
    #[serde(default)]
    #[schema(schema_with = text::subject_schema)]
    subject: String,
    /// The helpdesk (`api` when absent); at most 200 characters, no NUL.
    #[serde(default)]
    #[schema(schema_with = text::optional_key_schema)]
    source: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    #[param(value_type = Option<crate::sla::TicketState>, inline)]
    state: Option<String>,
    #[param(value_type = Option<Severity>, inline)]
    severity: Option<String>,
    /// Received at or after this instant (RFC 3339 or epoch milliseconds).
    #[param(schema_with = super::openapi::instant)]
    from: Option<String>,
    /// Received before this instant (RFC 3339 or epoch milliseconds).
    #[param(schema_with = super::openapi::instant)]
    to: Option<String>,
    /// At most this many (default 100, never more than 1000).
    #[param(format = Int64, minimum = 0, maximum = 4294967295_u64)]
    limit: Option<u32>,
}

/// A ticket as the API shows it: what was received and its evaluated clock.
#[derive(Serialize, ToSchema)]
pub(super) struct TicketView {
    id: String,
    external_id: String,
    source: String,
    subject: String,
    severity: Severity,
    channels: Vec<String>,
    received_at: String,
    state: crate::sla::TicketState,
    deadline: Option<String>,
    first_response_at: Option<String>,
    waived_by: Option<String>,
    ack_published_at: Option<String>,
    ack_origin: Option<String>,
    acknowledged_after_ticket: bool,
    time_to_first_response_ms: Option<i64>,
    rule_version: &'static str,
    explanation: String,
    /// In the queue: within 15 minutes of its deadline (or past it) without a response.
    due_soon: bool,
    events: Vec<EventView>,
}

/// `at` and one key naming the event: `"public_reply": null`, `"severity_change": "high"`,
/// `"channels_change": ["live-chat"]`...
#[derive(Serialize, ToSchema)]
struct EventView {
    at: String,
    #[serde(flatten)]
    #[schema(value_type = EventKindView)]
    kind: TicketEventKind,
}

pub(super) fn view(e: Evaluated, now: Timestamp) -> TicketView {
    let due_soon = ticket::is_due_soon(&e, now);
    let ev = e.evaluation;
    let t = e.record.ticket;
    TicketView {
        due_soon,
        id: t.id,
        external_id: e.record.external_id,
        source: e.record.source,
        subject: e.record.subject,
        severity: ev.severity,
        channels: t.channels,
        received_at: t.received_at.to_rfc3339(),
        state: ev.state,
        deadline: ev.deadline.map(Timestamp::to_rfc3339),
        first_response_at: ev.first_response_at.map(Timestamp::to_rfc3339),
        waived_by: ev.waived_by.map(|i| i.to_string()),
        ack_published_at: ev.ack_published_at.map(Timestamp::to_rfc3339),
        ack_origin: ev.ack_origin,
        acknowledged_after_ticket: ev.acknowledged_after_ticket,
        time_to_first_response_ms: ev.time_to_first_response_ms,
        rule_version: ev.rule_version,
        explanation: ev.explanation,
        events: t
            .events
            .into_iter()
            .map(|e| EventView {
                at: e.at.to_rfc3339(),
                kind: e.kind,
            })
            .collect(),
    }
}

/// Every stored ticket, evaluated now (the queue and the admin's ticket pages).
pub(super) async fn every_ticket(app: &AppState) -> Result<Vec<Evaluated>, Error> {
    let records = app
        .store
        .tickets(Timestamp(i64::MIN), Timestamp(i64::MAX))
        .await?;
    evaluate(app, records).await
}

/// One ticket, evaluated now.
pub(super) async fn evaluate_one(
    app: &AppState,
    record: crate::store::TicketRecord,
) -> Result<Evaluated, Error> {
    evaluate(app, vec![record])
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound("ticket".into()))
}

pub(super) async fn evaluate(
    app: &AppState,
    records: Vec<crate::store::TicketRecord>,
) -> Result<Vec<Evaluated>, Error> {
    let config = app.config();
    let incidents = app.store.incidents().await?;
    Ok(ticket::evaluate_all(
        records,
        &incidents,
        &config.channels,
        &config.tickets,
        app.clock.now(),
    ))
}

/// Receive a ticket; re-posting an `external_id` answers 200 with the ticket unchanged.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    request_body = TicketBody,
    responses((status = 201, description = "Received", body = TicketView),
        (status = 200, description = "Already received: the ticket unchanged", body = TicketView),
        AuthErrors, InputErrors))]
async fn receive(
    State(app): State<AppState>,
    caller: Caller,
    Body(body): Body<TicketBody>,
) -> Result<(StatusCode, Json<TicketView>), Error> {
    caller.require(Role::Operator)?;
    let external_id = text::required(body.external_id, "external_id", text::KEY)?;
    text::check(&body.subject, "subject", text::SUBJECT)?;
    if let Some(source) = &body.source {
        text::check(source, "source", text::KEY)?;
    }
    check_channels(&app, &body.channels)?;
    let new = NewTicket {
        source: body.source.unwrap_or_else(|| "api".into()),
        external_id,
        severity: body.severity,
        channels: body.channels,
        subject: body.subject,
        received_at: app.clock.now(),
    };
    let mut received = app.store.receive_tickets(vec![new], caller.actor).await?;
    let (record, created) = received
        .pop()
        .ok_or_else(|| Error::NotFound("ticket".into()))?;
    let evaluated = evaluate_one(&app, record).await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(view(evaluated, app.clock.now()))))
}

/// One ticket with its evaluated clock.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", security(("bearer" = [])),
    params(("id" = String, Path, description = "Beacon's request id, e.g. BCN-2026-000123")),
    responses((status = 200, description = "The ticket", body = TicketView), AuthErrors, NotFoundError))]
async fn one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketView>, Error> {
    caller.require(Role::Operator)?;
    let record = app
        .store
        .ticket(id.clone())
        .await
        .map_err(missing_ticket(format!("no ticket {id:?}")))?;
    let evaluated = evaluate_one(&app, record).await?;
    Ok(Json(view(evaluated, app.clock.now())))
}

/// A store error as the ticket endpoints answer it: 404 saying `missing` for a ticket that
/// is not there.
pub(super) fn missing_ticket(missing: String) -> impl FnOnce(crate::store::Error) -> Error {
    move |e| match e {
        crate::store::Error::NotFound => Error::NotFound(missing),
        other => Error::Store(other),
    }
}

#[derive(Serialize, ToSchema)]
struct TicketList {
    tickets: Vec<TicketView>,
    next: Option<String>,
}

/// Tickets received in `[from, to)`, newest first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, description = "Tickets", body = TicketList), AuthErrors, InputErrors))]
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<TicketList>, Error> {
    caller.require(Role::Operator)?;
    let time = |text: &Option<String>, field: &str, default: Timestamp| match text {
        None => Ok(default),
        Some(t) => Timestamp::parse(t).ok_or_else(|| Error::Invalid {
            message: format!("{field} {t:?} is not RFC 3339 or epoch milliseconds"),
            field: field.into(),
        }),
    };
    let from = time(&q.from, "from", Timestamp(i64::MIN))?;
    let to = time(&q.to, "to", Timestamp(i64::MAX))?;
    let severity = match q.severity.as_deref() {
        None => None,
        Some(s) => Some(Severity::parse(s).ok_or_else(|| Error::Invalid {
            message: format!("severity {s:?} is not critical, high, medium or low"),
            field: "severity".into(),
        })?),
    };
    if let Some(s) = q.state.as_deref() {
        if !["pending", "met", "breached", "waived"].contains(&s) {
            return Err(Error::Invalid {
                message: format!("state {s:?} is not pending, met, breached or waived"),
                field: "state".into(),
            });
        }
    }
    let now = app.clock.now();
    let mut evaluated = evaluate(&app, app.store.tickets(from, to).await?).await?;
    evaluated.retain(|e| {
        severity.is_none_or(|s| e.evaluation.severity == s)
            && q.state
                .as_deref()
                .is_none_or(|s| e.evaluation.state.as_str() == s)
    });
    // Newest first, as every list in the API.
    evaluated.reverse();
    evaluated.truncate(q.limit.map_or(100, |l| l.min(1000) as usize));
    Ok(Json(TicketList {
        tickets: evaluated.into_iter().map(|e| view(e, now)).collect(),
        next: None,
    }))
}

/// Open tickets in the contract's order: Critical and High by deadline, then by receipt.
#[utoipa::path(get, path = "/api/v1/queue", tag = "tickets", security(("bearer" = [])),
    responses((status = 200, description = "The queue", body = TicketList), AuthErrors))]
async fn queue(State(app): State<AppState>, caller: Caller) -> Result<Json<TicketList>, Error> {
    caller.require(Role::Operator)?;
    let now = app.clock.now();
    let open = every_ticket(&app)
        .await?
        .into_iter()
        .filter(ticket::is_open)
        .collect();
    Ok(Json(TicketList {
        tickets: ticket::queue(open)
            .into_iter()
            .map(|e| view(e, now))
            .collect(),
        next: None,
    }))
}

pub(super) fn check_channels(app: &AppState, channels: &[String]) -> Result<(), Error> {
    text::check_each(channels, "channels", text::KEY)?;
    let config = app.config();
    for (i, c) in channels.iter().enumerate() {
        if !config.knows_channel_key(c) {
            return Err(Error::Invalid {
                message: format!("unknown channel {c:?}"),
                field: format!("channels[{i}]"),
            });
        }
    }
    Ok(())
}

/// The event key of [`EventView`], described by hand: serde writes the flattened externally
/// tagged [`TicketEventKind`] as one key (`"public_reply": null`), a shape no derive describes.
struct EventKindView;

impl utoipa::PartialSchema for EventKindView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let null = || ObjectBuilder::new().schema_type(Type::Null);
        ObjectBuilder::new()
            .description(Some(
                "Exactly one of these keys, naming the event (the unit ones are null)",
            ))
            .property("public_reply", null())
            .property("auto_ack", null())
            .property("bot_reply", null())
            .property("internal_note", null())
            .property("reopen", null())
            .property(
                "severity_change",
                <Severity as utoipa::PartialSchema>::schema(),
            )
            .property(
                "channels_change",
                ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)),
            )
            .into()
    }
}

impl ToSchema for EventKindView {}
