//! `/admin/audit` (administrators only): every write, who, what, when, from where; read-only
//! here and append-only in the store. `/admin/notifications`: deliveries, failures first.

use super::{render, when, Page, Session};
use crate::store::DeliveryStatus;
use crate::web::auth::Role;
use crate::web::AppState;
use axum::extract::State;
use maud::html;

/// Entries shown; the full log stays in the database.
const AUDIT_ROWS: u32 = 500;
const DELIVERY_ROWS: usize = 200;

pub(super) async fn audit(State(app): State<AppState>, session: Session) -> Page {
    session.require(Role::Admin)?;
    let entries = app.store.audit_log(AUDIT_ROWS).await?;
    let body = html! {
        p { "The latest " (entries.len()) " entries, newest first. Nothing here can be edited or deleted." }
        div class="scroll" tabindex="0" role="region" aria-label="Audit log" {
            table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Target" } th scope="col" { "Detail" } th scope="col" { "From" } } }
                tbody {
                    @for e in &entries {
                        tr { td { (when(e.at)) } td { (e.actor) } td { (e.action) } td { (e.target) } td { (e.detail) } td { (e.source) } }
                    }
                }
            }
        }
    };
    Ok(render(&session, "Audit log", body))
}

pub(super) async fn notifications(State(app): State<AppState>, session: Session) -> Page {
    let mut deliveries = app.store.notify_deliveries(DELIVERY_ROWS).await?;
    // Failures first: they are what someone has to act on.
    deliveries.sort_by_key(|d| (d.status != DeliveryStatus::Failed, std::cmp::Reverse(d.id)));
    let failed = deliveries
        .iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .count();
    let body = html! {
        p { (failed) " failed after every retry; the latest " (deliveries.len()) " notifications are listed." }
        div class="scroll" tabindex="0" role="region" aria-label="Notifications" {
            table {
                thead { tr { th scope="col" { "Id" } th scope="col" { "Webhook" } th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Last error" } th scope="col" { "Created" } th scope="col" { "Delivered" } } }
                tbody {
                    @for d in &deliveries {
                        tr class=[(d.status == DeliveryStatus::Failed).then_some("failed")] {
                            td { (d.id) } td { (d.webhook) } td { (d.event) } td { (d.status.as_str()) }
                            td { (d.attempts) } td { (d.last_error.clone().unwrap_or_default()) }
                            td { (when(d.created_at)) } td { @if let Some(t) = d.delivered_at { (when(t)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(render(&session, "Notifications", body))
}
