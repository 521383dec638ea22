//! `POST /api/v1/push/{token}`: heartbeats from jobs and support tools.

use super::{AppState, Error};
use crate::domain::Outcome;
use crate::probe::{hash_token, Push};
use axum::extract::{Path, Query, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// Longest message kept from a push; the rest is cut.
const MAX_MESSAGE: usize = 500;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/push/{token}", post(push))
}

#[derive(Deserialize)]
struct PushQuery {
    /// `up` (default) or `down`.
    status: Option<String>,
    msg: Option<String>,
}

#[derive(Serialize)]
struct PushReceipt {
    channel: String,
    probe: String,
    status: &'static str,
    received_at: String,
}

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
    app.push.record(
        probe.clone(),
        Push {
            at,
            outcome,
            message,
        },
    );
    Ok(Json(PushReceipt {
        channel: probe.channel,
        probe: probe.probe,
        status: outcome.as_str(),
        received_at: at.to_rfc3339(),
    }))
}
