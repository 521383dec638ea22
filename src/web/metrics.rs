//! `GET /metrics`: Prometheus text exposition format 0.0.4.
//!
//! Written by hand rather than with a metrics crate: the handful of families here are
//! snapshots of state Beacon already keeps (the live view, the prober's counters, the month's
//! report), so a registry would only duplicate them. [`Exposition`] is the one place that
//! knows the format's escaping rules.

use super::{AppState, Error};
use crate::domain::State as ChannelState;
use crate::probe::Histogram;
use crate::report::{self, ReportError};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::fmt::Write as _;

/// The content type Prometheus expects for the text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Everything is computed at scrape time from the same sources as the page and the reports,
/// so `/metrics` can never disagree with them.
async fn metrics(State(app): State<AppState>) -> Result<Response, Error> {
    let now = app.clock.now();
    let config = app.config();
    let mut out = Exposition::default();

    out.family("beacon_build_info", "Beacon's version; always 1.", "gauge");
    out.sample(
        "beacon_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );

    let server = app.server.read();
    for (name, help, kind, value) in [
        ("beacon_http_connections", "HTTP connections held now.", "gauge", server.held as f64),
        (
            "beacon_http_connections_limit",
            "Most HTTP connections held at once (a quarter of the file limit kept for the prober and the store).",
            "gauge",
            server.limit as f64,
        ),
        (
            "beacon_http_connections_refused_total",
            "Connections refused because their client or the server was full.",
            "counter",
            server.refused as f64,
        ),
        (
            "beacon_http_connections_evicted_total",
            "Idle connections closed to let a new client in.",
            "counter",
            server.evicted as f64,
        ),
        (
            "beacon_http_connections_timed_out_total",
            "Connections closed at their header-read or idle deadline.",
            "counter",
            server.timed_out as f64,
        ),
    ] {
        out.family(name, help, kind);
        out.sample(name, &[], value);
    }

    // As shown publicly: declarations and maintenance applied to the measured state.
    let public = super::live::live(&app).await?;
    out.family(
        "beacon_channel_state",
        "Channel state as shown on the status page: 1 for the current state, 0 for the others.",
        "gauge",
    );
    for channel in &public.channels {
        for state in ChannelState::ALL {
            let value = if state == channel.state { 1.0 } else { 0.0 };
            out.sample(
                "beacon_channel_state",
                &[("channel", &channel.id), ("state", state.as_str())],
                value,
            );
        }
    }

    // As each location measures it (rule 4 over its probes), before any declaration: the
    // per-channel series above is what a quorum of these decides (rule 10).
    out.family(
        "beacon_channel_location_state",
        "Channel state as one location measures it: 1 for the current state, 0 for the others; one series per location that probes the channel.",
        "gauge",
    );
    for channel in &public.channels {
        for location in &channel.locations {
            for state in ChannelState::ALL {
                let value = if state == location.state { 1.0 } else { 0.0 };
                out.sample(
                    "beacon_channel_location_state",
                    &[
                        ("channel", &channel.id),
                        ("location", &location.id),
                        ("state", state.as_str()),
                    ],
                    value,
                );
            }
        }
    }

    let configured = config.channels.iter().flat_map(|c| {
        c.probes.iter().map(|p| {
            let key = crate::domain::ProbeKey {
                channel: c.id.clone(),
                probe: p.name.clone(),
            };
            (key, p.locations.clone())
        })
    });
    let probes = app.metrics.snapshot().with_probes(configured);
    out.family(
        "beacon_observations_total",
        "Probe runs recorded since Beacon started, by the location that ran them and outcome; every configured probe, location and outcome from zero.",
        "counter",
    );
    for ((key, location, outcome), count) in &probes.observations {
        out.sample(
            "beacon_observations_total",
            &[
                ("channel", &key.channel),
                ("probe", &key.probe),
                ("location", location),
                ("outcome", outcome),
            ],
            *count as f64,
        );
    }
    out.family(
        "beacon_probe_response_seconds",
        "Response time of probe runs that measured one.",
        "histogram",
    );
    for (key, histogram) in &probes.response {
        out.histogram(
            "beacon_probe_response_seconds",
            &[("channel", &key.channel), ("probe", &key.probe)],
            histogram,
        );
    }
    out.family(
        "beacon_probe_lateness_seconds",
        "How long after its scheduled time each probe run started.",
        "histogram",
    );
    for (key, histogram) in &probes.lateness {
        out.histogram(
            "beacon_probe_lateness_seconds",
            &[("channel", &key.channel), ("probe", &key.probe)],
            histogram,
        );
    }

    out.family(
        "beacon_ingest_latency_seconds",
        "From an observation's start at a prober node to its commit on this server, per location.",
        "histogram",
    );
    for (location, histogram) in &app.ingest.latency() {
        out.histogram(
            "beacon_ingest_latency_seconds",
            &[("location", location)],
            histogram,
        );
    }

    // The current month's figures, exactly as the report and the SLA endpoint compute them.
    let month = now.to_rfc3339().get(..7).unwrap_or_default().to_owned();
    match report::build(&app.store, &config, &month, now).await {
        Ok(month_report) => {
            out.family(
                "beacon_availability_month_to_date",
                "Availability of the channel this calendar month (UTC) so far, as a fraction; absent while nothing was measured.",
                "gauge",
            );
            for figures in &month_report.channels {
                if let Some(availability) = figures.availability {
                    out.sample(
                        "beacon_availability_month_to_date",
                        &[("channel", &figures.id)],
                        availability,
                    );
                }
            }
            out.family(
                "beacon_error_budget_remaining_seconds",
                "Downtime the channel may still have this month and meet the commitment; negative once exceeded.",
                "gauge",
            );
            for figures in &month_report.channels {
                out.sample(
                    "beacon_error_budget_remaining_seconds",
                    &[("channel", &figures.id)],
                    figures.budget_remaining_ms as f64 / 1000.0,
                );
            }
        }
        Err(ReportError::Store(e)) => return Err(Error::Store(e)),
        // Cannot happen for the current month; the other families are still worth serving.
        Err(e) => tracing::warn!(error = %e, "month figures left out of /metrics"),
    }

    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], out.finish()).into_response())
}

/// A text exposition being written: families in order, each with its `HELP` and `TYPE`.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a metric family; its samples must follow before the next family.
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample line: `name{label="value",...} value`.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, raw)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(label);
                self.text.push_str("=\"");
                escape_label_value(&mut self.text, raw);
                self.text.push('"');
            }
            self.text.push('}');
        }
        self.text.push(' ');
        self.text.push_str(&format_value(value));
        self.text.push('\n');
    }

    /// The `_bucket` (with `le`, ending with `+Inf`), `_sum` and `_count` lines of a histogram.
    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], histogram: &Histogram) {
        let bucket = format!("{name}_bucket");
        let bounds = histogram
            .cumulative()
            .map(|(bound, count)| (format_value(bound), count))
            .chain(std::iter::once(("+Inf".to_owned(), histogram.count())));
        for (le, count) in bounds {
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, count as f64);
        }
        self.sample(&format!("{name}_sum"), labels, histogram.sum());
        self.sample(&format!("{name}_count"), labels, histogram.count() as f64);
    }

    fn finish(self) -> String {
        self.text
    }
}

/// Label values escape exactly backslash, double quote and line feed (format 0.0.4).
fn escape_label_value(out: &mut String, raw: &str) {
    for c in raw.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
}

/// Go's `ParseFloat` syntax, which Prometheus reads: Rust's `Display` never uses exponents,
/// and the special values have their own spelling.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_and_type_precede_samples() {
        let mut out = Exposition::default();
        out.family("x_total", "Things\\counted\nhere.", "counter");
        out.sample("x_total", &[], 3.0);
        assert_eq!(
            out.finish(),
            "# HELP x_total Things\\\\counted\\nhere.\n# TYPE x_total counter\nx_total 3\n"
        );
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut out = Exposition::default();
        out.sample(
            "m",
            &[("a", "back\\slash \"quoted\"\nnext"), ("b", "é")],
            0.5,
        );
        assert_eq!(
            out.finish(),
            "m{a=\"back\\\\slash \\\"quoted\\\"\\nnext\",b=\"é\"} 0.5\n"
        );
    }

    #[test]
    fn special_values_are_spelled_as_prometheus_reads_them() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.001), "0.001");
        assert_eq!(format_value(1e-7), "0.0000001");
    }
}
