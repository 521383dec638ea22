//! `POST` or `GET /api/v1/push/{token}`: heartbeats from jobs and support tools (Uptime Kuma's
//! push URLs are GETs, so monitors moved from it keep working).

use super::body::{Path, Query};
use super::error::{InputErrors, NotFoundError};
use super::{AppState, Error};
use crate::domain::Outcome;
use crate::probe::{hash_token, Push};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longest message kept from a push; the rest is cut.
const MAX_MESSAGE: usize = 500;

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(push))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PushQuery {
    /// `up` (default) or `down`.
    #[param(value_type = Option<PushStatus>, inline)]
    status: Option<String>,
    /// A short message shown as the reason (cut at 500 characters).
    msg: Option<String>,
}

/// The statuses a push may report; parsed by hand in [`push`] so that another value is a 422
/// naming `status`, documented as an enum so clients see the choice.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only
enum PushStatus {
    Up,
    Down,
}

#[derive(Serialize, ToSchema)]
struct PushReceipt {
    channel: String,
    probe: String,
    status: &'static str,
    received_at: String,
}

/// A heartbeat for a push probe; the token in the path says which one. GET and POST do the
/// same; the push counts at once (the probe is evaluated on arrival).
#[utoipa::path(method(get, post), path = "/api/v1/push/{token}", tag = "push",
    params(("token" = String, Path, description = "The push probe's token (`beacon push-token`)"), PushQuery),
    responses((status = 200, description = "Recorded", body = PushReceipt), InputErrors, NotFoundError))]
async fn push(
    State(app): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<PushQuery>,
) -> Result<Json<PushReceipt>, Error> {
    let outcome = match query.status.as_deref() {
        None | Some("up") => Outcome::Up,
        Some("down") => Outcome::Down,
        Some(other) => {
            return Err(Error::Invalid {
                message: format!("status must be up or down, not {other:?}"),
                field: "status".to_owned(),
            })
        }
    };
    let probe = app
        .store
        .probe_for_push_token(hash_token(&token))
        .await
        .map_err(|e| match e {
            crate::store::Error::NotFound => Error::NotFound("unknown push token".to_owned()),
            other => Error::Store(other),
        })?;
    let at = app.clock.now();
    let message = query.msg.map(|m| m.chars().take(MAX_MESSAGE).collect());
    app.ingest
        .push(
            probe.clone(),
            Push {
                at,
                outcome,
                message,
            },
        )
        .await
        .map_err(super::prober_api::ingest_error)?;
    Ok(Json(PushReceipt {
        channel: probe.channel,
        probe: probe.probe,
        status: outcome.as_str(),
        received_at: at.to_rfc3339(),
    }))
}
