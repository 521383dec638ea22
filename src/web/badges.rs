//! Shields-style SVG badges for READMEs and intranet pages: the page indicator
//! (`/badge/status.svg`), a channel's state (`/badge/{channel}/status.svg`) and its uptime over
//! a recent window (`/badge/{channel}/uptime/{24h,7d,30d,90d}.svg`).
//!
//! The state is the one the page shows (declarations and maintenance applied) and the uptime
//! comes from the report's timelines, so a badge never contradicts the page or the report.

use super::feeds::xml_escape;
use super::{AppState, Error};
use crate::domain::{Indicator, State as ChannelState};
use crate::report::{self, ReportError};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Badges are embedded in other sites' pages; a minute keeps them fresh without making every
/// page view a query.
pub(super) const CACHE: &str = "public, max-age=60";

const GREEN: &str = "#4c1";
const YELLOW: &str = "#dfb317";
const ORANGE: &str = "#fe7d37";
const RED: &str = "#e05d44";
const BLUE: &str = "#007ec6";
const GREY: &str = "#9f9f9f";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/badge/{channel}/status.svg", get(channel_status))
        .route("/badge/{channel}/uptime/{window}", get(channel_uptime))
}

/// `/badge/status.svg`: the page indicator, rendered for the page cache.
pub(super) async fn overall(app: &AppState) -> Result<String, Error> {
    let view = super::live::live(app).await?;
    let indicator = view.indicator();
    let colour = match indicator {
        Indicator::None => GREEN,
        Indicator::Minor => YELLOW,
        Indicator::Major => ORANGE,
        Indicator::Critical => RED,
    };
    Ok(svg_text("status", indicator.description(), colour))
}

/// `GET /badge/{channel}/status.svg`: the channel's state as the page shows it now.
async fn channel_status(
    State(app): State<AppState>,
    Path(channel): Path<String>,
) -> Result<Response, Error> {
    let view = super::live::live(&app).await?;
    let status = view
        .channels
        .into_iter()
        .find(|c| c.id == channel)
        .ok_or_else(|| Error::NotFound(format!("no channel {channel:?}")))?;
    let (message, colour) = match status.state {
        ChannelState::Up => ("Operational", GREEN),
        ChannelState::Degraded => ("Degraded", YELLOW),
        ChannelState::Partial => ("Partial outage", ORANGE),
        ChannelState::Down => ("Major outage", RED),
        ChannelState::Maintenance => ("Maintenance", BLUE),
        ChannelState::Unknown => ("Unknown", GREY),
    };
    Ok(svg(&status.name, message, colour))
}

/// `GET /badge/{channel}/uptime/{window}.svg`: availability over the window ending now, green
/// when it meets the commitment (the exact integer decision, not a float comparison).
async fn channel_uptime(
    State(app): State<AppState>,
    Path((channel, file)): Path<(String, String)>,
) -> Result<Response, Error> {
    let (window, window_ms) = file
        .strip_suffix(".svg")
        .and_then(|w| window_ms(w).map(|ms| (w, ms)))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no uptime window {file:?}: use 24h, 7d, 30d or 90d"
            ))
        })?;
    let config = app.config();
    let name = config
        .channels
        .iter()
        .find(|c| c.id == channel)
        .map(|c| c.name.clone())
        .ok_or_else(|| Error::NotFound(format!("no channel {channel:?}")))?;
    let now = app.clock.now();
    let figures =
        report::channel_availability(&app.store, &config, &channel, now.plus_ms(-window_ms), now)
            .await
            .map_err(|e| match e {
                ReportError::Store(s) => Error::Store(s),
                other => Error::NotFound(other.to_string()),
            })?;
    let (message, colour) = match (figures.availability, figures.met) {
        (Some(a), Some(true)) => (percent(a), GREEN),
        (Some(a), _) => (percent(a), RED),
        (None, _) => ("no data".to_owned(), GREY),
    };
    Ok(svg(&format!("{name} uptime {window}"), &message, colour))
}

/// The windows a badge may show, in milliseconds.
fn window_ms(window: &str) -> Option<i64> {
    const HOUR: i64 = 3_600_000;
    match window {
        "24h" => Some(24 * HOUR),
        "7d" => Some(7 * 24 * HOUR),
        "30d" => Some(30 * 24 * HOUR),
        "90d" => Some(90 * 24 * HOUR),
        _ => None,
    }
}

/// `99.95%`: floored to two decimals, so an outage never displays as `100.00%`.
fn percent(availability: f64) -> String {
    if availability >= 1.0 {
        return "100%".to_owned();
    }
    // The epsilon absorbs binary rounding (0.9995 * 10_000 is 9994.999...); the cap keeps
    // anything short of 1 below `100.00%`.
    let hundredths = ((availability.max(0.0) * 10_000.0 + 1e-6).floor()).min(9_999.0) / 100.0;
    format!("{hundredths:.2}%")
}

/// Rough Verdana 11px advance: badges must size themselves without a font at hand;
/// `textLength` then makes the text fit the box exactly whatever font the viewer has.
fn text_width(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '!' | '|' | '\'' | ' ' => 4,
            'm' | 'w' | 'M' | 'W' | '%' => 10,
            c if c.is_uppercase() => 8,
            _ => 7,
        })
        .sum()
}

/// A two-part badge as an answer.
fn svg(label: &str, message: &str, colour: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        svg_text(label, message, colour),
    )
        .into_response()
}

/// A two-part badge: grey `label`, coloured `message`, with a title and an ARIA label for
/// screen readers. Every piece of text is escaped (channel names come from the config).
fn svg_text(label: &str, message: &str, colour: &str) -> String {
    let label_width = text_width(label) + 10;
    let message_width = text_width(message) + 10;
    let width = label_width + message_width;
    let accessible = xml_escape(&format!("{label}: {message}"));
    let label_text = xml_escape(label);
    let message_text = xml_escape(message);
    let label_x = label_width / 2;
    let message_x = label_width + message_width / 2;
    let label_len = label_width - 10;
    let message_len = message_width - 10;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{accessible}"><title>{accessible}</title><rect width="{label_width}" height="20" fill="#555"/><rect x="{label_width}" width="{message_width}" height="20" fill="{colour}"/><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{label_x}" y="14" textLength="{label_len}" lengthAdjust="spacingAndGlyphs">{label_text}</text><text x="{message_x}" y="14" textLength="{message_len}" lengthAdjust="spacingAndGlyphs">{message_text}</text></g></svg>
"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_floored_to_two_decimals() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.999_999_9), "99.99%");
        assert_eq!(percent(0.9995), "99.95%");
        assert_eq!(percent(0.0), "0.00%");
    }

    #[test]
    fn only_the_four_windows_exist() {
        assert_eq!(window_ms("24h"), Some(86_400_000));
        assert_eq!(window_ms("90d"), Some(90 * 86_400_000));
        assert_eq!(window_ms("1y"), None);
        assert_eq!(window_ms(""), None);
    }
}
