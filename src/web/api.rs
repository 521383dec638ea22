//! JSON endpoints: `/api/v1/status` (documented in the OpenAPI document) and `/healthz`.

use super::AppState;
use crate::domain::{Config, Indicator, Timestamp};
use crate::probe::{ChannelStatus, LocationStatus};
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
    /// The channel as each location that probes it sees it, in the configuration's order of
    /// locations; `state` above is what a quorum of them decides (sla-rules section 3 rule 10).
    /// A channel probed from one place has one entry, a declared-only component none.
    locations: Vec<LocationBody>,
}

/// A channel as one location sees it: rule 4 over the probes that run there, before any
/// operator declaration or maintenance (those apply to the channel's `state` only).
#[derive(Serialize, ToSchema)]
struct LocationBody {
    /// The location's id (`[service] location` or a `[[location]]` id).
    id: String,
    /// The location's display name (its id when the configuration gives none).
    name: String,
    /// The `[[location]]`'s free-text region, null when not set.
    region: Option<String>,
    state: crate::domain::State,
    /// When this location's current view began, if known.
    since: Option<String>,
    /// Why this location's latest failing check failed, while it does not see the channel up.
    reason: Option<String>,
    last_checked_at: Option<String>,
}

impl LocationBody {
    fn new(l: LocationStatus, config: &Config) -> Self {
        let declared = config.location(&l.id);
        LocationBody {
            name: declared.map_or_else(|| l.id.clone(), |d| d.name.clone()),
            region: declared.and_then(|d| d.region.clone()),
            id: l.id,
            state: l.state,
            since: l.since.map(Timestamp::to_rfc3339),
            reason: l.reason,
            last_checked_at: l.last_checked_at.map(Timestamp::to_rfc3339),
        }
    }
}

impl ChannelBody {
    fn new(c: ChannelStatus, config: &Config) -> Self {
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
            locations: c
                .locations
                .into_iter()
                .map(|l| LocationBody::new(l, config))
                .collect(),
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
    let config = app.config();
    let body = StatusBody {
        service: ServiceBody {
            name: config.service.name.clone(),
            location: config.service.location.clone(),
        },
        indicator,
        generated_at: now.to_rfc3339(),
        channels: channels
            .into_iter()
            .map(|c| ChannelBody::new(c, &config))
            .collect(),
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
    /// `ok`, or since when the cached pages are stale (rendering fails, e.g. the database is
    /// lost: the last rendered pages are still served); never a reason for a 503 by itself.
    pages: String,
    /// Connections held, the limit, and those refused, evicted or timed out since start.
    connections: super::ServerReading,
    /// Where the jobs run (the recorder, maintenance, deliveries): `here (epoch N)`, on
    /// another node, or not this node's role.
    jobs: String,
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
        pages: app.pages.freshness().describe(),
        connections: app.server.read(),
        jobs: app.jobs.borrow().clone(),
        probers: super::probers::health(&app.probers, &app.config(), app.clock.now()),
    };
    (code, [(header::CACHE_CONTROL, "no-store")], Json(body))
}
