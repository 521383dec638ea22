//! The public status page, rendered with maud. No JavaScript; absolute UTC times only.

use super::seen_from::SeenAt;
use super::AppState;
use crate::domain::{Incident, Indicator, State as ChannelState, Timestamp, UpdateStatus};
use crate::probe::ChannelStatus;
use crate::report::recent::{recent_days, RecentHistory};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};

/// Days of history bars per channel.
const HISTORY_DAYS: i64 = 90;

const STYLESHEET: &str = include_str!("style.css");

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/static/style.css", get(stylesheet))
}

/// What the page template needs; built from the live view, never from the request.
struct PageView {
    /// `[page]`: name, logo and links for the header.
    page: crate::domain::PageSettings,
    indicator: Indicator,
    generated_at: Timestamp,
    groups: Vec<(String, String, Vec<ChannelStatus>)>,
    incidents: Vec<Incident>,
    /// Channel ids to names, for the affected lists.
    names: Vec<(String, String)>,
    /// The last 90 days of each channel.
    history: std::collections::HashMap<String, RecentHistory>,
    /// Channel ids to the line saying how each location sees them (`seen_from`), for the
    /// channels probed from several places that some location does not see up.
    seen_from: std::collections::HashMap<String, String>,
}

/// The page at `/`, rendered for the page cache (which serves it; see `cache`).
pub(super) async fn index(app: &AppState) -> Result<String, super::Error> {
    let now = app.clock.now();
    let public = super::live::live(app).await?;
    let indicator = public.indicator();
    let incidents = public.incidents;
    let channels = public.channels;
    let names = channels
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let history = recent_days(&app.store, &app.config(), HISTORY_DAYS, now)
        .await
        .map_err(|e| match e {
            crate::report::ReportError::Store(s) => super::Error::Store(s),
            other => super::Error::Unavailable(other.to_string()),
        })?;
    let config = app.config();
    let seen_from = channels
        .iter()
        .filter_map(|c| {
            let at: Vec<SeenAt> = c
                .locations
                .iter()
                .map(|l| SeenAt::from_status(l, &config))
                .collect();
            super::seen_from::seen_from(&at).map(|line| (c.id.clone(), line))
        })
        .collect();
    let mut groups: Vec<(String, String, Vec<ChannelStatus>)> = Vec::new();
    for channel in channels {
        match groups.iter_mut().find(|(id, _, _)| *id == channel.group_id) {
            Some((_, _, members)) => members.push(channel),
            None => groups.push((
                channel.group_id.clone(),
                channel.group.clone(),
                vec![channel],
            )),
        }
    }
    let page = config.page.clone();
    let view = PageView {
        page,
        indicator,
        generated_at: now,
        groups,
        incidents,
        names,
        history,
        seen_from,
    };
    Ok(render(&view).into_string())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// The 404 page for paths outside `/api/`.
pub(super) fn not_found(path: &str) -> impl IntoResponse {
    let body = layout(
        "Not found",
        html! {
            h1 { "Not found" }
            p { "There is no page at " code { (path) } "." }
            p { a href="/" { "Back to the status page" } }
        },
    );
    (StatusCode::NOT_FOUND, Html(body.into_string()))
}

pub(super) fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                main { (body) }
            }
        }
    }
}

fn render(view: &PageView) -> Markup {
    let banner_class = format!("banner banner-{}", view.indicator.as_str());
    layout(
        &format!("{} status", view.page.name),
        html! {
            (super::branding::header(&view.page))
            section class=(banner_class) aria-label="Overall status" {
                p { (banner_text(view)) }
            }
            @if !view.incidents.is_empty() {
                section class="incidents" aria-labelledby="incidents-heading" {
                    h2 id="incidents-heading" { "Current incidents and maintenance" }
                    @for incident in &view.incidents {
                        (incident_card(incident, &view.names))
                    }
                }
            }
            @for (group_id, group, channels) in &view.groups {
                section class="group" aria-labelledby=(format!("group-{group_id}")) {
                    h2 id=(format!("group-{group_id}")) { (group) }
                    ul class="channels" {
                        @for c in channels {
                            li class="channel" id=(format!("channel-{}", c.id)) {
                                (channel_row(c, view.seen_from.get(&c.id)))
                                @if let Some(h) = view.history.get(&c.id) {
                                    (history_bars(&c.name, h))
                                }
                            }
                        }
                    }
                }
            }
            footer {
                p {
                    "All times are UTC. Page generated at "
                    time datetime=(view.generated_at.to_rfc3339()) { (view.generated_at.to_display()) }
                    ". " a href="/history" { "Incident history" } ", " a href="/uptime" { "monthly uptime" } ". Also as JSON: " a href="/api/v1/status" { "/api/v1/status" } "."
                }
            }
        },
    )
}

/// An incident with its latest public update on top, then the earlier ones.
pub(super) fn incident_card(incident: &Incident, names: &[(String, String)]) -> Markup {
    let mut updates: Vec<_> = incident
        .updates
        .iter()
        .filter(|u| u.published_at.is_some())
        .collect();
    updates.sort_by_key(|u| std::cmp::Reverse((u.published_at, u.id)));
    let affected: Vec<String> = incident
        .updates
        .iter()
        .rev()
        .find_map(|u| u.affected.as_ref())
        .map(|a| {
            a.keys()
                .map(|k| {
                    names
                        .iter()
                        .find(|(id, _)| id == k)
                        .map_or(k.clone(), |(_, n)| n.clone())
                })
                .collect()
        })
        .unwrap_or_default();
    html! {
        article class=(format!("incident impact-{}", incident.impact.as_str())) {
            h3 { a href=(format!("/incidents/{}", incident.id)) { (incident.title) } }
            @if !affected.is_empty() {
                p class="affected" { "Affects: " (affected.join(", ")) }
            }
            @if let (Some(from), Some(until)) = (incident.scheduled_for, incident.scheduled_until) {
                p class="window" {
                    "Scheduled "
                    time datetime=(from.to_rfc3339()) { (from.to_display()) }
                    " to "
                    time datetime=(until.to_rfc3339()) { (until.to_display()) }
                }
                @if let Some(note) = super::incident_view::announcement_note(incident, Timestamp::to_display) {
                    p class="window-note" { (note) }
                }
            }
            ol class="updates" {
                @for u in updates {
                    li {
                        strong { (status_label(u.status)) }
                        " — "
                        @if let Some(at) = u.published_at {
                            time datetime=(at.to_rfc3339()) { (at.to_display()) }
                        }
                        div class="message" { (super::markdown::render(&u.message)) }
                    }
                }
            }
        }
    }
}

pub(super) fn status_label(status: UpdateStatus) -> &'static str {
    use UpdateStatus::*;
    match status {
        Investigating => "Investigating",
        Identified => "Identified",
        Monitoring => "Monitoring",
        Resolved => "Resolved",
        Postmortem => "Postmortem",
        Scheduled => "Scheduled",
        InProgress => "In progress",
        Verifying => "Verifying",
        Completed => "Completed",
    }
}

fn banner_text(view: &PageView) -> &'static str {
    let all_unknown = view
        .groups
        .iter()
        .flat_map(|(_, _, cs)| cs)
        .all(|c| c.state == ChannelState::Unknown);
    if all_unknown && view.incidents.is_empty() {
        "Status unknown: no confirmed checks yet"
    } else {
        view.indicator.description()
    }
}

fn channel_row(c: &ChannelStatus, seen_from: Option<&String>) -> Markup {
    html! {
        div class="channel-head" {
            span class="channel-name" { (c.name) }
            span class=(format!("state state-{}", c.state.as_str())) { (state_label(c.state)) }
        }
        @if let Some(line) = seen_from {
            p class="seen-from" { (line) }
        }
        dl class="details" {
            @if let Some(since) = c.since {
                div { dt { "Since" } dd { time datetime=(since.to_rfc3339()) { (since.to_display()) } } }
            }
            @if c.probes == 0 {
                div { dt { "Source" } dd { "Declared by operators (not probed)" } }
            } @else {
                div {
                    dt { "Last check" }
                    dd {
                        @match c.last_checked_at {
                            Some(at) => time datetime=(at.to_rfc3339()) { (at.to_display()) },
                            None => "not yet",
                        }
                    }
                }
            }
            @if let Some(ms) = c.response_time_ms {
                div { dt { "Response time" } dd { (ms) " ms" } }
            }
            @if let Some(reason) = &c.reason {
                div { dt { "Reason" } dd class="reason" { (reason) } }
            }
        }
    }
}

/// 90 daily bars, each with a text title (date, availability, downtime), no JavaScript.
fn history_bars(name: &str, h: &RecentHistory) -> Markup {
    let width = 4;
    let total = h.days.len() * width;
    let uptime = match h.availability {
        Some(a) => format!(
            "{:.3}% uptime over the last {} days",
            a * 100.0,
            h.days.len()
        ),
        None => format!("No measurements in the last {} days", h.days.len()),
    };
    html! {
        div class="bars" {
            svg width=(total) height="24" viewBox=(format!("0 0 {total} 24")) role="img"
                aria-label=(format!("{name}: daily availability, {uptime}")) xmlns="http://www.w3.org/2000/svg" {
                @for (i, d) in h.days.iter().enumerate() {
                    rect x=(i * width) width=(width - 1) height="24" fill=(bar_colour(d)) {
                        title { (bar_title(d)) }
                    }
                }
            }
            p class="uptime" { (uptime) }
        }
    }
}

/// The bar's accessible text: date, availability and downtime minutes; partial and
/// maintenance minutes only on days that had some (a screen reader reads 90 of these).
fn bar_title(d: &crate::report::DayFigures) -> String {
    let minutes = |ms: i64| format!("{:.1}", ms as f64 / 60_000.0);
    let Some(a) = d.availability else {
        return format!("{}: not measured", d.date);
    };
    let mut text = format!(
        "{}: {:.3}% available, {} min down",
        d.date,
        a * 100.0,
        minutes(d.down_ms)
    );
    for (ms, what) in [(d.partial_ms, "partial"), (d.maintenance_ms, "maintenance")] {
        if ms > 0 {
            text.push_str(&format!(", {} min {what}", minutes(ms)));
        }
    }
    text
}

fn bar_colour(d: &crate::report::DayFigures) -> &'static str {
    match d.availability {
        None if d.maintenance_ms > 0 => "#0969da",
        None => "#8c959f",
        Some(a) if a >= 1.0 && d.maintenance_ms == 0 => "#1a7f37",
        Some(_) if d.down_ms == 0 && d.partial_ms == 0 && d.maintenance_ms > 0 => "#0969da",
        Some(a) if a >= 0.995 => "#4ac26b",
        Some(a) if a >= 0.95 => "#bf8700",
        Some(_) => "#cf222e",
    }
}

fn state_label(state: ChannelState) -> &'static str {
    match state {
        ChannelState::Up => "Operational",
        ChannelState::Degraded => "Degraded performance",
        ChannelState::Partial => "Partial outage",
        ChannelState::Down => "Major outage",
        ChannelState::Maintenance => "Under maintenance",
        ChannelState::Unknown => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::bar_title;
    use crate::report::DayFigures;

    fn day(availability: Option<f64>, down: i64, partial: i64, maintenance: i64) -> DayFigures {
        DayFigures {
            date: "2026-11-02".into(),
            availability,
            down_ms: down * 60_000,
            partial_ms: partial * 60_000,
            maintenance_ms: maintenance * 60_000,
            unknown_ms: 0,
        }
    }

    #[test]
    fn a_bar_says_date_availability_and_downtime_and_only_the_other_minutes_it_had() {
        let rows = [
            (
                day(Some(1.0), 0, 0, 0),
                "2026-11-02: 100.000% available, 0.0 min down",
            ),
            (
                day(Some(0.99), 12, 10, 0),
                "2026-11-02: 99.000% available, 12.0 min down, 10.0 min partial",
            ),
            (
                day(Some(0.9), 0, 0, 144),
                "2026-11-02: 90.000% available, 0.0 min down, 144.0 min maintenance",
            ),
            (day(None, 0, 0, 0), "2026-11-02: not measured"),
        ];
        for (d, expected) in rows {
            assert_eq!(bar_title(&d), expected);
        }
    }
}
