//! The public history pages: `/incidents/{id}`, `/history` and `/uptime`.

use super::page::{incident_card, layout, not_found, status_label};
use super::AppState;
use crate::domain::Incident;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use maud::html;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/incidents/{id}", get(incident_page))
}

/// `/incidents/{id}`: the full public timeline of one incident or maintenance.
async fn incident_page(
    State(app): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::response::Response, super::Error> {
    let found = match id.parse::<i64>() {
        Ok(n) => match app.store.incident(n).await {
            Ok(i) if i.published_at.is_some() && !i.hidden => Some(i),
            Ok(_) | Err(crate::store::Error::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    let Some(incident) = found else {
        return Ok(not_found(&format!("/incidents/{id}")).into_response());
    };
    let names: Vec<(String, String)> = app
        .config()
        .channels
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let body = layout(
        &incident.title,
        html! {
            p { a href="/" { "Back to the status page" } " · " a href="/history" { "History" } }
            section class="incidents" aria-label="Incident" { (incident_card(&incident, &names)) }
            p { "All times are UTC." }
        },
    );
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=5")],
        Html(body.into_string()),
    )
        .into_response())
}

/// `/history`'s query; its first page is served by the page cache, the older ones come here.
#[derive(serde::Deserialize)]
pub(super) struct HistoryQuery {
    pub page: Option<usize>,
}

const HISTORY_PAGE: usize = 25;

/// `/history?page=N` past the first page (which the cache serves), read from the store.
pub(super) async fn history_page(
    State(app): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Result<impl IntoResponse, super::Error> {
    let body = history(&app, q.page.unwrap_or(1)).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=10")], Html(body)))
}

/// `/history`: public incidents and maintenance, newest first, by month, paginated.
pub(super) async fn history(app: &AppState, page: usize) -> Result<String, super::Error> {
    let page = page.max(1);
    let all: Vec<Incident> = app
        .store
        .incidents()
        .await?
        .into_iter()
        .filter(|i| i.published_at.is_some() && !i.hidden)
        .collect();
    let pages = all.len().div_ceil(HISTORY_PAGE).max(1);
    let mut months: Vec<(String, Vec<&Incident>)> = Vec::new();
    for i in all
        .iter()
        .skip((page - 1) * HISTORY_PAGE)
        .take(HISTORY_PAGE)
    {
        let month = i
            .published_at
            .and_then(|p| p.to_rfc3339().get(..7).map(str::to_owned))
            .unwrap_or_default();
        match months.last_mut() {
            Some((m, list)) if *m == month => list.push(i),
            _ => months.push((month, vec![i])),
        }
    }
    let title = format!("{} incident history", app.config().service.name);
    let body = layout(
        &title,
        html! {
            h1 { (title) }
            p { a href="/" { "Back to the status page" } }
            @if months.is_empty() { p { "No incidents have been published." } }
            @for (month, list) in &months {
                section aria-label=(month) {
                    h2 { (month) }
                    ul class="history" {
                        @for i in list {
                            li {
                                a href=(format!("/incidents/{}", i.id)) { (i.title) }
                                " — " (i.status().map_or("", status_label))
                                @if let Some(p) = i.published_at {
                                    ", " time datetime=(p.to_rfc3339()) { (p.to_display()) }
                                }
                            }
                        }
                    }
                }
            }
            nav aria-label="Pages" {
                @if page > 1 { a href=(format!("/history?page={}", page - 1)) { "Newer" } " " }
                "Page " (page) " of " (pages)
                @if page < pages { " " a href=(format!("/history?page={}", page + 1)) { "Older" } }
            }
        },
    );
    Ok(body.into_string())
}

/// `/uptime`: each channel's monthly availability against the commitment, last 12 months.
pub(super) async fn uptime(app: &AppState) -> Result<String, super::Error> {
    let config = app.config();
    let now = app.clock.now();
    let this_month = now.to_rfc3339().get(..7).unwrap_or("1970-01").to_owned();
    let (mut year, mut month): (i32, u32) = (
        this_month
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(1970),
        this_month
            .get(5..7)
            .and_then(|m| m.parse().ok())
            .unwrap_or(1),
    );
    let mut reports = Vec::new();
    for _ in 0..12 {
        let label = format!("{year:04}-{month:02}");
        match crate::report::build(&app.store, &config, &label, now).await {
            Ok(r) => reports.push(r),
            Err(crate::report::ReportError::Store(e)) => return Err(e.into()),
            Err(_) => {}
        }
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
    }
    let title = format!("{} monthly uptime", config.service.name);
    let commitment = config.service.commitment_percent;
    let body = layout(
        &title,
        html! {
            h1 { (title) }
            p { a href="/" { "Back to the status page" } }
            p { "Availability per calendar month (UTC) against the " (commitment) "% commitment; time nobody measured is left out and shown as coverage." }
            // Wide on a phone: the scrolling region is focusable so keyboards can scroll it.
            div class="scroll" tabindex="0" role="region" aria-label="Monthly uptime per channel" {
            table class="uptime-table" {
                thead { tr {
                    th scope="col" { "Channel" }
                    @for r in &reports { th scope="col" { (r.month) } }
                } }
                tbody {
                    @for c in &config.channels {
                        tr {
                            th scope="row" { (c.name) @if !c.in_commitment { " (outside commitment)" } }
                            @for r in &reports {
                                @let figures = r.channels.iter().find(|f| f.id == c.id);
                                td {
                                    @match figures.and_then(|f| f.availability.map(|a| (a, f.met, f.coverage))) {
                                        Some((a, met, coverage)) => {
                                            span class=(if met == Some(true) { "met" } else { "missed" }) { (format!("{:.3}%", a * 100.0)) }
                                            @if coverage < 0.99 { br; small { (format!("coverage {:.1}%", coverage * 100.0)) } }
                                        }
                                        None => "—",
                                    }
                                }
                            }
                        }
                    }
                }
            }
            }
        },
    );
    Ok(body.into_string())
}
