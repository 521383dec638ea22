//! The ticket API (operator token): intake, events, listing and the queue.

use super::auth::{Caller, Role};
use super::body::Body;
use super::{AppState, Error};
use crate::domain::{Severity, TicketEvent, TicketEventKind, Timestamp};
use crate::store::NewTicket;
use crate::ticket::{self, Evaluated};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::ticket::DUE_SOON_MS;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tickets", post(receive).get(list))
        .route("/api/v1/tickets/{id}", get(one))
        .route("/api/v1/tickets/{id}/events", post(event))
        .route("/api/v1/queue", get(queue))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketBody {
    external_id: String,
    severity: Severity,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    #[serde(rename = "type")]
    kind: String,
    /// RFC 3339 or epoch ms; the server's time when absent.
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    channels: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    severity: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

/// A ticket as the API shows it: what was received and its evaluated clock.
#[derive(Serialize)]
struct TicketView {
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

#[derive(Serialize)]
struct EventView {
    at: String,
    #[serde(flatten)]
    kind: TicketEventKind,
}

fn view(e: Evaluated, now: Timestamp) -> TicketView {
    let ev = e.evaluation;
    let t = e.record.ticket;
    TicketView {
        due_soon: ev.first_response_at.is_none()
            && ev
                .deadline
                .is_some_and(|d| d.millis() - now.millis() <= DUE_SOON_MS),
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

async fn receive(
    State(app): State<AppState>,
    caller: Caller,
    Body(body): Body<TicketBody>,
) -> Result<(StatusCode, Json<TicketView>), Error> {
    caller.require(Role::Operator)?;
    if body.external_id.trim().is_empty() {
        return Err(Error::Invalid {
            message: "external_id must not be empty".into(),
            field: "external_id".into(),
        });
    }
    check_channels(&app, &body.channels)?;
    let new = NewTicket {
        source: body.source.unwrap_or_else(|| "api".into()),
        external_id: body.external_id,
        severity: body.severity,
        channels: body.channels,
        subject: body.subject,
        received_at: app.clock.now(),
    };
    let mut received = app.store.receive_tickets(vec![new], caller.actor).await?;
    let (record, created) = received
        .pop()
        .ok_or_else(|| Error::NotFound("ticket".into()))?;
    let evaluated = evaluate(&app, vec![record])
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound("ticket".into()))?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(view(evaluated, app.clock.now()))))
}

async fn event(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<EventBody>,
) -> Result<(StatusCode, Json<TicketView>), Error> {
    caller.require(Role::Operator)?;
    let missing = |field: &str| Error::Invalid {
        message: format!("{field} is required for this event type"),
        field: field.into(),
    };
    let kind = match body.kind.as_str() {
        "public_reply" => TicketEventKind::PublicReply,
        "auto_ack" => TicketEventKind::AutoAck,
        "bot_reply" => TicketEventKind::BotReply,
        "internal_note" => TicketEventKind::InternalNote,
        "reopen" => TicketEventKind::Reopen,
        "severity_change" => TicketEventKind::SeverityChange(body.severity.ok_or_else(|| missing("severity"))?),
        "channels_change" => {
            let channels = body.channels.ok_or_else(|| missing("channels"))?;
            check_channels(&app, &channels)?;
            TicketEventKind::ChannelsChange(channels)
        }
        other => {
            return Err(Error::Invalid {
                message: format!("type {other:?} is not public_reply, auto_ack, bot_reply, internal_note, severity_change, channels_change or reopen"),
                field: "type".into(),
            })
        }
    };
    let at = match body.at {
        Some(text) => Timestamp::parse(&text).ok_or_else(|| Error::Invalid {
            message: format!("at {text:?} is not RFC 3339 or epoch milliseconds"),
            field: "at".into(),
        })?,
        None => app.clock.now(),
    };
    let record = app
        .store
        .add_ticket_event(id.clone(), TicketEvent { at, kind }, caller.actor)
        .await
        .map_err(|e| match e {
            crate::store::Error::NotFound => Error::NotFound(format!("no ticket {id:?}")),
            other => Error::Store(other),
        })?;
    let evaluated = evaluate(&app, vec![record])
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound("ticket".into()))?;
    Ok((StatusCode::CREATED, Json(view(evaluated, app.clock.now()))))
}

async fn one(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketView>, Error> {
    caller.require(Role::Operator)?;
    let record = app.store.ticket(id.clone()).await.map_err(|e| match e {
        crate::store::Error::NotFound => Error::NotFound(format!("no ticket {id:?}")),
        other => Error::Store(other),
    })?;
    let evaluated = evaluate(&app, vec![record])
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound("ticket".into()))?;
    Ok(Json(view(evaluated, app.clock.now())))
}

#[derive(Serialize)]
struct TicketList {
    tickets: Vec<TicketView>,
    next: Option<String>,
}

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
    evaluated.truncate(q.limit.unwrap_or(100).min(1000));
    Ok(Json(TicketList {
        tickets: evaluated.into_iter().map(|e| view(e, now)).collect(),
        next: None,
    }))
}

async fn queue(State(app): State<AppState>, caller: Caller) -> Result<Json<TicketList>, Error> {
    caller.require(Role::Operator)?;
    let now = app.clock.now();
    let evaluated = evaluate(
        &app,
        app.store
            .tickets(Timestamp(i64::MIN), Timestamp(i64::MAX))
            .await?,
    )
    .await?;
    let open = evaluated.into_iter().filter(ticket::is_open).collect();
    Ok(Json(TicketList {
        tickets: ticket::queue(open)
            .into_iter()
            .map(|e| view(e, now))
            .collect(),
        next: None,
    }))
}

fn check_channels(app: &AppState, channels: &[String]) -> Result<(), Error> {
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
