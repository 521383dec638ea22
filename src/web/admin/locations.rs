//! `/admin/locations`: every place probes run from. For each prober node what `/healthz`
//! says (last seen, lag, clock offset, version, spool backlog and drops) and the probes
//! assigned to it; the server's own location first.

use super::{render, when, Page, Session};
use crate::domain::Timestamp;
use crate::web::probers::{health, ProberHealth, ProberStatus};
use crate::web::AppState;
use axum::extract::State;
use maud::{html, Markup};

pub(super) async fn show(State(app): State<AppState>, session: Session) -> Page {
    let config = app.config();
    let now = app.clock.now();
    let nodes = health(&app.probers, &config, now);
    let body = html! {
        p { "A probe run from several places is down only while its quorum of places sees it down; a place that stops reporting is unknown, never up." }
        div class="scroll" tabindex="0" role="region" aria-label="Locations" {
            table {
                thead { tr {
                    th scope="col" { "Location" } th scope="col" { "Prober" } th scope="col" { "Last seen" }
                    th scope="col" { "Lag" } th scope="col" { "Clock offset" } th scope="col" { "Version" }
                    th scope="col" { "Spool" } th scope="col" { "Probes" }
                } }
                tbody {
                    @for location in &config.locations {
                        @let assigned: Vec<String> = config
                            .probes_at(&location.id)
                            .map(|(c, p)| format!("{}/{}", c.id, p.name))
                            .collect();
                        tr {
                            th scope="row" {
                                (location.name)
                                @if let Some(region) = &location.region { " (" (region) ")" }
                                br; code { (location.id) }
                            }
                            @if location.id == config.service.location {
                                td { "this server" } td {} td {} td {} td {} td {}
                            } @else {
                                (node_cells(nodes.iter().find(|n| n.location == location.id), now))
                            }
                            td {
                                (assigned.len())
                                @if !assigned.is_empty() {
                                    details { summary { "list" } ul { @for p in &assigned { li { code { (p) } } } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render(&session, "Locations", body))
}

/// The node's cells: its status and what it last said of itself.
fn node_cells(node: Option<&ProberHealth>, now: Timestamp) -> Markup {
    let Some(node) = node else {
        return html! { td class="failed" { "silent" } td { "never" } td {} td {} td {} td {} };
    };
    let status = match node.status {
        ProberStatus::Ok => "reporting",
        ProberStatus::Silent => "silent",
        ProberStatus::ClockSkew => "clock skew",
    };
    let seen = node.last_seen.as_deref().and_then(Timestamp::parse);
    html! {
        td class=[(node.status != ProberStatus::Ok).then_some("failed")] { (status) }
        td { @if let Some(t) = seen { (when(t)) " (" (seconds(now.millis() - t.millis())) " ago)" } @else { "never" } }
        td { @if let Some(lag) = node.lag_ms { (seconds(lag)) } }
        td { @if let Some(offset) = node.clock_offset_ms { (offset) " ms" } }
        td { @if let Some(v) = &node.version { (v) } }
        td { @if let Some(b) = node.spool_backlog { (b) " waiting" @if let Some(d) = node.spool_dropped { @if d > 0 { ", " (d) " dropped" } } } }
    }
}

fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}
