//! JSON endpoints: `/api/v1/status` (documented in the OpenAPI document) and `/healthz`.

use super::AppState;
use crate::domain::{Indicator, Timestamp};
use crate::probe::ChannelStatus;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The recorder ticks every second; this much silence means the prober is stuck.
const HEARTBEAT_STALE_MS: i64 = 5_000;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status))
}

#[derive(Serialize, ToSchema)]
struct StatusBody {
    service: ServiceBody,
    /// Page-wide indicator: none, minor, major, critical.
    indicator: Indicator,
    generated_at: String,
    channels: Vec<ChannelBody>,
}

#[derive(Serialize, ToSchema)]
struct ServiceBody {
    name: String,
    location: String,
}

#[derive(Serialize, ToSchema)]
struct ChannelBody {
    id: String,
    name: String,
    group: String,
    group_id: String,
    in_commitment: bool,
    state: crate::domain::State,
    since: Option<String>,
    last_checked_at: Option<String>,
    response_time_ms: Option<u32>,
    reason: Option<String>,
}

impl From<ChannelStatus> for ChannelBody {
    fn from(c: ChannelStatus) -> Self {
        ChannelBody {
            id: c.id,
            name: c.name,
            group: c.group,
            group_id: c.group_id,
            in_commitment: c.in_commitment,
            state: c.state,
            since: c.since.map(Timestamp::to_rfc3339),
            last_checked_at: c.last_checked_at.map(Timestamp::to_rfc3339),
            response_time_ms: c.response_time_ms,
            reason: c.reason,
        }
    }
}

/// Every channel's live state and the page indicator.
#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, description = "Every channel's live state", body = StatusBody)))]
async fn status(State(app): State<AppState>) -> Result<impl IntoResponse, super::Error> {
    let now = app.clock.now();
    let view = super::live::live(&app).await?;
    let indicator = view.indicator();
    let channels = view.channels;
    let body = StatusBody {
        service: ServiceBody {
            name: app.config().service.name.clone(),
            location: app.config().service.location.clone(),
        },
        indicator,
        generated_at: now.to_rfc3339(),
        channels: channels.into_iter().map(ChannelBody::from).collect(),
    };
    Ok(([(header::CACHE_CONTROL, "no-cache")], Json(body)))
}

#[derive(Serialize)]
struct HealthBody {
    status: &'static str,
    database: String,
    scheduler: String,
    /// `ok`, or why the latest reload was refused (the previous config keeps running).
    config: String,
    /// Connections held, the limit, and those refused, evicted or timed out since start.
    connections: super::ServerReading,
    /// Each declared remote location's prober node: `ok`, `silent` (not heard from for 60 s)
    /// or `clock_skew` (more than 5 s off); never a reason for a 503, the server is fine.
    probers: Vec<super::probers::ProberHealth>,
}

/// `GET /healthz`: 200 only while the database takes writes and the prober is alive.
async fn healthz(State(app): State<AppState>) -> impl IntoResponse {
    let database = match tokio::time::timeout(Duration::from_secs(2), app.store.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => format!("not writable: {e}"),
        Err(_) => "not writable: no answer within 2s".to_owned(),
    };
    let silent_ms = app.clock.now().millis() - app.heartbeat.last().millis();
    let scheduler = if silent_ms <= HEARTBEAT_STALE_MS {
        "ok".to_owned()
    } else {
        format!("stalled: no heartbeat for {silent_ms} ms")
    };
    let healthy = database == "ok" && scheduler == "ok";
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let config = match app.reload_error.borrow().as_deref() {
        None => "ok".to_owned(),
        Some(error) => format!("reload refused, previous configuration still running: {error}"),
    };
    let body = HealthBody {
        status: if healthy { "ok" } else { "unhealthy" },
        database,
        scheduler,
        config,
        connections: app.server.read(),
        probers: super::probers::health(&app.probers, &app.config(), app.clock.now()),
    };
    (code, [(header::CACHE_CONTROL, "no-store")], Json(body))
}
