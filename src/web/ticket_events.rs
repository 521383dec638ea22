//! Ticket events through the operator API: `POST /api/v1/tickets/{id}/events` by Beacon's id,
//! and by the helpdesk's own source and id, with the one check the admin form shares
//! ([`TypedEvent::check`]).

use super::auth::{Caller, Role};
use super::body::{Body, Path};
use super::error::{AuthErrors, InputErrors, NotFoundError};
use super::text;
use super::tickets::{check_channels, evaluate_one, missing_ticket, view, TicketView};
use super::{AppState, Error};
use crate::domain::{Severity, TicketEvent, TicketEventKind, Timestamp};
use crate::ticket;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(event))
        .routes(routes!(external_event))
        .routes(routes!(external_one))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EventBody {
    /// `public_reply` (the only first response), `auto_ack`, `bot_reply`, `internal_note`,
    /// `severity_change` (with `severity`), `channels_change` (with `channels`) or `reopen`.
    #[serde(rename = "type")]
    #[schema(value_type = EventType)]
    kind: String,
    /// RFC 3339 or epoch ms; the server's time when absent. Not before the ticket's
    /// `received_at` and not more than 5 s after the server's time (422 naming `at`).
    #[serde(default)]
    #[schema(schema_with = super::openapi::optional_instant)]
    at: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    #[schema(schema_with = text::optional_key_list_schema)]
    channels: Option<Vec<String>>,
}

/// Event types; parsed by hand so another value is a 422 naming `type`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
enum EventType {
    PublicReply,
    AutoAck,
    BotReply,
    InternalNote,
    SeverityChange,
    ChannelsChange,
    Reopen,
}

/// Record an event of a ticket (a reply, a re-triage...).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/events", tag = "tickets", security(("bearer" = [])),
    params(("id" = String, Path, description = "Beacon's request id, e.g. BCN-2026-000123")),
    request_body = EventBody,
    responses((status = 201, description = "The ticket with its new event", body = TicketView),
        AuthErrors, InputErrors, NotFoundError))]
async fn event(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(body): Body<EventBody>,
) -> Result<(StatusCode, Json<TicketView>), Error> {
    caller.require(Role::Operator)?;
    // The receipt bounds the event's time; it never changes once stored.
    let received = app
        .store
        .ticket(id.clone())
        .await
        .map_err(missing_ticket(format!("no ticket {id:?}")))?;
    record_event(&app, caller, received, body).await
}

/// Record an event of a ticket named by the helpdesk's source and id, as it was received
/// (`source` is `api` for tickets posted without one), so a helpdesk never needs Beacon's id.
#[utoipa::path(post, path = "/api/v1/tickets/by-external/{source}/{external_id}/events", tag = "tickets",
    security(("bearer" = [])),
    params(("source" = String, Path, description = "The ticket's source, e.g. zendesk (api when posted without one)"),
        ("external_id" = String, Path, description = "The helpdesk's id of the ticket")),
    request_body = EventBody,
    responses((status = 201, description = "The ticket with its new event", body = TicketView),
        AuthErrors, InputErrors, NotFoundError))]
async fn external_event(
    State(app): State<AppState>,
    caller: Caller,
    Path((source, external_id)): Path<(String, String)>,
    Body(body): Body<EventBody>,
) -> Result<(StatusCode, Json<TicketView>), Error> {
    caller.require(Role::Operator)?;
    let received = by_external(&app, source, external_id).await?;
    record_event(&app, caller, received, body).await
}

/// One ticket by the helpdesk's source and id.
#[utoipa::path(get, path = "/api/v1/tickets/by-external/{source}/{external_id}", tag = "tickets",
    security(("bearer" = [])),
    params(("source" = String, Path, description = "The ticket's source, e.g. zendesk (api when posted without one)"),
        ("external_id" = String, Path, description = "The helpdesk's id of the ticket")),
    responses((status = 200, description = "The ticket", body = TicketView), AuthErrors, NotFoundError))]
async fn external_one(
    State(app): State<AppState>,
    caller: Caller,
    Path((source, external_id)): Path<(String, String)>,
) -> Result<Json<TicketView>, Error> {
    caller.require(Role::Operator)?;
    let record = by_external(&app, source, external_id).await?;
    let evaluated = evaluate_one(&app, record).await?;
    Ok(Json(view(evaluated, app.clock.now())))
}

async fn by_external(
    app: &AppState,
    source: String,
    external_id: String,
) -> Result<crate::store::TicketRecord, Error> {
    let missing = format!("no ticket {external_id:?} from source {source:?}");
    app.store
        .ticket_by_external(source, external_id)
        .await
        .map_err(missing_ticket(missing))
}

/// Checks `body` against the stored ticket `received` and appends it.
async fn record_event(
    app: &AppState,
    caller: Caller,
    received: crate::store::TicketRecord,
    body: EventBody,
) -> Result<(StatusCode, Json<TicketView>), Error> {
    let id = received.ticket.id.clone();
    let typed = TypedEvent {
        kind: &body.kind,
        at: body.at.as_deref(),
        severity: body.severity,
        channels: body.channels,
    };
    let event = typed.check(app, received.ticket.received_at, app.clock.now())?;
    let record = app
        .store
        .add_ticket_event(id.clone(), event, caller.actor)
        .await
        .map_err(missing_ticket(format!("no ticket {id:?}")))?;
    let evaluated = evaluate_one(app, record).await?;
    Ok((StatusCode::CREATED, Json(view(evaluated, app.clock.now()))))
}

/// A ticket event as the API or the admin form received it, before it is checked.
pub(super) struct TypedEvent<'a> {
    pub kind: &'a str,
    /// RFC 3339 or epoch milliseconds; `None` for now.
    pub at: Option<&'a str>,
    pub severity: Option<Severity>,
    pub channels: Option<Vec<String>>,
}

impl TypedEvent<'_> {
    /// The event, or a 422 naming the field: the type and what it needs, and a time between
    /// the ticket's receipt and 5 s from now ([`ticket::check_event_at`], as the CSV import).
    pub(super) fn check(
        self,
        app: &AppState,
        received_at: Timestamp,
        now: Timestamp,
    ) -> Result<TicketEvent, Error> {
        let missing = |field: &str| Error::Invalid {
            message: format!("{field} is required for this event type"),
            field: field.into(),
        };
        // Checked whatever the type, though only channels_change reads them: a request the
        // document calls invalid is never accepted.
        if let Some(channels) = &self.channels {
            check_channels(app, channels)?;
        }
        let kind = match self.kind {
            "public_reply" => TicketEventKind::PublicReply,
            "auto_ack" => TicketEventKind::AutoAck,
            "bot_reply" => TicketEventKind::BotReply,
            "internal_note" => TicketEventKind::InternalNote,
            "reopen" => TicketEventKind::Reopen,
            "severity_change" => TicketEventKind::SeverityChange(self.severity.ok_or_else(|| missing("severity"))?),
            "channels_change" => {
                let channels = self.channels.ok_or_else(|| missing("channels"))?;
                TicketEventKind::ChannelsChange(channels)
            }
            other => {
                return Err(Error::Invalid {
                    message: format!("type {other:?} is not public_reply, auto_ack, bot_reply, internal_note, severity_change, channels_change or reopen"),
                    field: "type".into(),
                })
            }
        };
        let at = match self.at {
            Some(text) => Timestamp::parse(text).ok_or_else(|| Error::Invalid {
                message: format!("at {text:?} is not RFC 3339 or epoch milliseconds"),
                field: "at".into(),
            })?,
            None => now,
        };
        let at = ticket::check_event_at(at, received_at, now).map_err(|e| Error::Invalid {
            message: format!(
                "at {} {e}",
                self.at.map_or("(now)".into(), |t| format!("{t:?}"))
            ),
            field: "at".into(),
        })?;
        Ok(TicketEvent { at, kind })
    }
}
