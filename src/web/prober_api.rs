//! The two endpoints a prober node uses (sla-rules section 3 rule 10), both for a `prober`
//! token only ([`ProberCaller`]): `GET /api/v1/locations/{id}/probes`, the probes its
//! location runs in the configuration in force (with a strong `ETag`, so the node polls
//! cheaply and follows reloads at once), and `POST /api/v1/observations`, a batch of what it
//! saw, checked whole (`observation_checks`) and handed to the server's recorder in order.

use super::auth::ProberCaller;
use super::body::{Body, Path};
use super::error::{AuthErrors, InputErrors, NotFoundError, TooLargeError};
use super::no_body::NoBody;
use super::observation_checks::{check_observations, check_report};
use super::{AppState, Error};
use crate::domain::remote::{AssignedProbe, BatchAccepted, ObservationBatch, ProbeAssignment};
use crate::probe::IngestError;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[path = "prober_api_doc.rs"]
mod doc;

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assignment))
        .routes(routes!(observations))
}

/// The probes assigned to a location, as the configuration in force says: what the prober
/// node of that location runs. Send the last `ETag` as `If-None-Match` to get 304 while the
/// assignment is unchanged.
#[utoipa::path(get, path = "/api/v1/locations/{id}/probes", tag = "probers", security(("bearer" = [])),
    params(("id" = String, Path, description = "A `[[location]]` id; the prober token's own"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the assignment the node has")),
    responses((status = 200, description = "The location's probes (with a strong `ETag`)", body = doc::AssignmentDoc,
            headers(("ETag" = String, description = "Strong tag of this body"))),
        (status = 304, description = "Unchanged since the `ETag` sent in `If-None-Match`"),
        AuthErrors, NotFoundError))]
async fn assignment(
    State(app): State<AppState>,
    caller: ProberCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let config = app.config();
    if config.location(&id).is_none() || id == config.service.location {
        return Err(Error::NotFound(format!(
            "no location {id:?} for prober nodes is declared ([[location]])"
        )));
    }
    if id != caller.location {
        return Err(Error::Forbidden(format!(
            "this token is bound to location {:?}, not {id:?}",
            caller.location
        )));
    }
    let assignment = ProbeAssignment {
        probes: config
            .probes_at(&id)
            .map(|(channel, spec)| AssignedProbe {
                channel: channel.id.clone(),
                spec: spec.clone(),
            })
            .collect(),
        location: id,
    };
    let body = serde_json::to_vec(&assignment)
        .map_err(|e| Error::Unavailable(format!("cannot write the assignment: {e}")))?;
    let etag = strong_etag(&body);
    let tags = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .map(HeaderValue::as_bytes);
    let mut response = if super::cache::negotiate::not_modified(tags, etag.as_bytes()) {
        let mut response = Response::new(NoBody::body());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let answer = response.headers_mut();
    if let Ok(value) = HeaderValue::try_from(etag) {
        answer.insert(header::ETAG, value);
    }
    answer.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `"hex"` of the first 16 bytes of the body's SHA-256: equal bodies, equal tags.
fn strong_etag(body: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// A batch of observations made at the token's location, oldest first, with the node's
/// report of itself (an empty batch is a heartbeat). Checked whole before anything is stored:
/// on any error nothing of the batch is kept, and the error names the field with its index.
/// Replays (an observation already stored) count as duplicates and change nothing.
#[utoipa::path(post, path = "/api/v1/observations", tag = "probers", security(("bearer" = [])),
    request_body = doc::BatchDoc,
    responses((status = 200, description = "Committed: new observations and replays", body = doc::AcceptedDoc),
        AuthErrors, InputErrors, TooLargeError,
        (status = 503, description = "The server is stopping; send the batch again later", body = super::error::ErrorBody)))]
async fn observations(
    State(app): State<AppState>,
    caller: ProberCaller,
    Body(batch): Body<ObservationBatch>,
) -> Result<Json<BatchAccepted>, Error> {
    let received = app.clock.now();
    check_report(&batch)?;
    app.probers.heard(&caller.location, &batch.prober, received);
    if let Err(e) = check_observations(&batch, &caller.location, &app.config(), received) {
        // Debug only: a node resends a refused batch, and one line per attempt would flood.
        tracing::debug!(token = %caller.name, location = %caller.location, error = %e, "batch refused");
        return Err(e);
    }
    let latest = batch.observations.iter().map(|o| o.at).max();
    let answer = app
        .ingest
        .submit(batch.observations)
        .await
        .map_err(ingest_error)?;
    app.probers.counted(&caller.location, answer, latest);
    tracing::debug!(token = %caller.name, location = %caller.location, accepted = answer.accepted, duplicates = answer.duplicates, "batch stored");
    Ok(Json(answer))
}

/// The answer when a batch or push could not be taken: 503, so the sender tries again.
pub(super) fn ingest_error(e: IngestError) -> Error {
    match e {
        IngestError::Stopping => {
            Error::Unavailable("the recorder is stopping or changing node; try again".into())
        }
        IngestError::Store(e) => Error::Store(e),
        IngestError::Queued(e) => Error::Unavailable(format!("cannot queue it: {e}")),
    }
}
