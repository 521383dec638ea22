//! Incident lifecycle rules that run by themselves: maintenance windows start and end at
//! their scheduled times unless opted out, and a channel confirmed down opens a draft
//! incident ([`auto`]); recurring maintenance rules publish their windows ahead
//! ([`recurring`]).
//!
//! Owns: when a maintenance moves on without an operator. May use: `domain`, `store`.
//! The decision ([`due`]) is pure; [`run`] applies it every second through the store, so the
//! publication times are the server's clock, like every other update.

use crate::domain::{Actor, Clock, Incident, IncidentKind, NewUpdate, Timestamp, UpdateStatus};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub mod auto;
mod changed;
pub mod recurring;
pub mod statuspage;

pub use changed::PublicChanged;

const TICK: Duration = Duration::from_secs(1);

/// The automatic updates due at `now`: `in_progress` once a scheduled window with
/// `auto_start` reaches its start, `completed` once one with `auto_end` reaches its end.
/// A window without `auto_end` that overruns stays in progress until an operator completes it.
pub fn due(incidents: &[Incident], now: Timestamp) -> Vec<(i64, UpdateStatus)> {
    incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Maintenance && i.published_at.is_some())
        .filter_map(|i| match i.status()? {
            UpdateStatus::Scheduled
                if i.auto_start && i.scheduled_for.is_some_and(|s| s <= now) =>
            {
                Some((i.id, UpdateStatus::InProgress))
            }
            UpdateStatus::InProgress | UpdateStatus::Verifying
                if i.auto_end && i.scheduled_until.is_some_and(|e| e <= now) =>
            {
                Some((i.id, UpdateStatus::Completed))
            }
            _ => None,
        })
        .collect()
}

/// Applies [`due`] every second until `stop`, poking `public` after each update so the
/// cached public pages show it at once.
pub async fn run(
    store: Store,
    clock: Arc<dyn Clock>,
    public: PublicChanged,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let incidents = match store.incidents().await {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "cannot read maintenance windows");
                continue;
            }
        };
        for (id, status) in due(&incidents, clock.now()) {
            let message = match status {
                UpdateStatus::InProgress => "Scheduled maintenance is in progress.",
                _ => "Scheduled maintenance has been completed.",
            };
            let update = NewUpdate {
                status,
                message: message.to_owned(),
                affected: None,
            };
            let actor = Actor {
                who: "system:maintenance".into(),
                source: "beacon".into(),
            };
            match store.add_update(id, update, clock.now(), actor).await {
                Ok(_) => {
                    public.poke();
                    tracing::info!(
                        maintenance = id,
                        status = status.as_str(),
                        "maintenance moved on by schedule"
                    )
                }
                Err(e) => {
                    tracing::error!(maintenance = id, error = %e, "automatic maintenance update failed")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Impact, IncidentUpdate};

    fn window(status: UpdateStatus, auto_start: bool, auto_end: bool) -> Incident {
        Incident {
            id: 7,
            kind: IncidentKind::Maintenance,
            title: "db upgrade".into(),
            impact: Impact::Maintenance,
            service_wide: false,
            started_at: None,
            created_at: Timestamp(0),
            published_at: Some(Timestamp(0)),
            hidden: false,
            origin: "beacon".into(),
            scheduled_for: Some(Timestamp(100)),
            scheduled_until: Some(Timestamp(200)),
            auto_start,
            auto_end,
            updates: vec![IncidentUpdate {
                id: 1,
                status,
                message: String::new(),
                affected: None,
                created_at: Timestamp(0),
                published_at: Some(Timestamp(0)),
                author: "t".into(),
            }],
        }
    }

    #[test]
    fn windows_start_and_end_on_schedule_unless_opted_out() {
        use UpdateStatus::*;
        for (status, auto_start, auto_end, now, expected) in [
            (Scheduled, true, true, 99, None),
            (Scheduled, true, true, 100, Some(InProgress)),
            (Scheduled, false, true, 150, None),
            (InProgress, true, true, 199, None),
            (InProgress, true, true, 200, Some(Completed)),
            (Verifying, true, true, 250, Some(Completed)),
            (InProgress, true, false, 500, None),
            (Completed, true, true, 500, None),
        ] {
            let got = due(&[window(status, auto_start, auto_end)], Timestamp(now));
            assert_eq!(
                got.first().map(|(_, s)| *s),
                expected,
                "{status:?} start={auto_start} end={auto_end} at {now}"
            );
        }
        let mut draft = window(Scheduled, true, true);
        draft.published_at = None;
        assert!(
            due(&[draft], Timestamp(150)).is_empty(),
            "drafts never move"
        );
    }
}
