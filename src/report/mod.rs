//! Monthly uptime reports: one model ([`MonthReport`]), built from the store with the `sla`
//! functions, rendered as JSON, CSV or printable HTML.
//!
//! Owns: what a manager reads. May use: `domain`, `store`, `sla` (and `ticket` once tickets
//! exist). Figures are exact integer milliseconds and unrounded fractions in the model; only
//! the renderers round, for display (percent to 3 decimals, minutes to 1 decimal).

mod build;
mod csv;
mod html;
mod model;
pub mod overlays;
pub mod recent;
pub mod schedule;
mod tickets;

pub use build::{
    build, build_with_tickets, channel_availability, channel_sla, period, ChannelSla, ReportError,
};
pub use model::{
    ChannelFigures, DayFigures, MonthReport, ReportSettings, TicketLine, TicketSection,
};

/// The output formats of `beacon report` and `/reports/YYYY-MM.{html,csv,json}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Json,
}

impl MonthReport {
    /// Renders the report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
            Format::Csv => csv::render(self),
            Format::Html => html::render(self),
        }
    }
}

/// Percent with 3 decimals, or an em dash when nothing was measured.
fn percent(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| "—".to_owned(), |f| format!("{:.3}", f * 100.0))
}

/// Milliseconds as minutes with 1 decimal.
fn minutes(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 60_000.0)
}
