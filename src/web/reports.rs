//! Reports over HTTP: `/reports/YYYY-MM` (HTML), `.csv`, `.json`, and a channel's month with
//! its burn rates at `/api/v1/channels/{id}/sla`.

use super::body::Query;
use super::error::{InputErrors, NotFoundError};
use super::{AppState, Error};
use crate::report::{self, Format, ReportError};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The report carries its own inline print stylesheet; it is a document, not the app.
const REPORT_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/reports/{file}", get(month_report))
}

/// `/api/v1` routes, each registered with its documentation.
pub(super) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(channel_sla))
}

/// `GET /reports/2026-09`, `/reports/2026-09.csv`, `/reports/2026-09.json`.
async fn month_report(
    State(app): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, Error> {
    let config = app.config();
    if !config.service.public_reports {
        return Err(Error::Forbidden(
            "reports are for operators; set public_reports = true in [service] to publish the uptime report"
                .to_owned(),
        ));
    }
    let (month, format) = report_file(&file)?;
    let built = report::build(&app.store, &config, month, app.clock.now())
        .await
        .map_err(|e| report_error(e, "month"))?;
    Ok(report_response(&built, format, "no-cache"))
}

/// `2026-09` (HTML), `2026-09.html`, `.csv` or `.json`: the month and the format asked for.
pub(super) fn report_file(file: &str) -> Result<(&str, Format), Error> {
    match file.rsplit_once('.') {
        Some((m, "csv")) => Ok((m, Format::Csv)),
        Some((m, "json")) => Ok((m, Format::Json)),
        Some((m, "html")) => Ok((m, Format::Html)),
        Some(_) => Err(Error::NotFound(format!("no report at {file}"))),
        None => Ok((file, Format::Html)),
    }
}

/// A rendered report with its content type and its own stylesheet policy.
pub(super) fn report_response(
    built: &report::MonthReport,
    format: Format,
    cache_control: &'static str,
) -> Response {
    let content_type = match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Csv => "text/csv; charset=utf-8",
        Format::Json => "application/json",
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, REPORT_CSP),
            (header::CACHE_CONTROL, cache_control),
        ],
        built.render(format),
    )
        .into_response()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// `YYYY-MM`, not in the future; the current month when absent.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: Option<String>,
}

/// A channel's month (the report's figures) and its error-budget burn rates now.
#[utoipa::path(get, path = "/api/v1/channels/{id}/sla", tag = "reports",
    params(("id" = String, Path, description = "Channel id"), MonthQuery),
    responses((status = 200, description = "The channel's month and burn rates", body = report::ChannelSla),
        InputErrors, NotFoundError))]
async fn channel_sla(
    State(app): State<AppState>,
    super::body::Path(id): super::body::Path<String>,
    Query(query): Query<MonthQuery>,
) -> Result<Json<report::ChannelSla>, Error> {
    let now = app.clock.now();
    let month = query
        .month
        .unwrap_or_else(|| now.to_rfc3339()[..7].to_owned());
    let sla = report::channel_sla(&app.store, &app.config(), &id, &month, now)
        .await
        .map_err(|e| report_error(e, "month"))?;
    Ok(Json(sla))
}

pub(super) fn report_error(e: ReportError, field: &str) -> Error {
    match e {
        ReportError::BadMonth(_) | ReportError::FutureMonth(_) => Error::Invalid {
            message: e.to_string(),
            field: field.to_owned(),
        },
        ReportError::UnknownChannel(_) => Error::NotFound(e.to_string()),
        ReportError::Store(s) => Error::Store(s),
    }
}
