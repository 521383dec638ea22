//! The scheduled job that writes last month's report files (`report_schedule`, `report_dir`).

use super::{build, Format};
use crate::config::parse_cron;
use crate::domain::{Clock, Config, Timestamp};
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Runs until `stop`: at each fire of the configured schedule, writes the previous month's
/// report as `YYYY-MM.html`, `.csv` and `.json` into `report_dir`. Follows config reloads.
pub async fn run(
    mut config: watch::Receiver<Arc<Config>>,
    store: Store,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    loop {
        let current = config.borrow_and_update().clone();
        let wait = next_fire(&current, clock.now()).map(|fire| {
            let ms = fire.millis().saturating_sub(clock.now().millis()).max(0);
            (fire, Duration::from_millis(ms as u64))
        });
        let Some((fire, wait)) = wait else {
            // No directory configured: nothing to do until the config changes.
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = config.changed() => if changed.is_err() { return } else { continue },
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = config.changed() => if changed.is_err() { return } else { continue },
            _ = tokio::time::sleep(wait) => {}
        }
        if let Some(dir) = &current.service.report_dir {
            let month = previous_month(fire);
            match write(&store, &current, dir, &month, clock.now()).await {
                Ok(()) => {
                    tracing::info!(month = %month, dir = %dir.display(), "wrote the monthly report")
                }
                Err(e) => tracing::error!(month = %month, error = %e, "scheduled report failed"),
            }
        }
    }
}

fn next_fire(config: &Config, now: Timestamp) -> Option<Timestamp> {
    config.service.report_dir.as_ref()?;
    let schedule = parse_cron(&config.service.report_schedule).ok()?;
    let after = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now.millis())?;
    schedule
        .after(&after)
        .next()
        .map(|t| Timestamp(t.timestamp_millis()))
}

/// `YYYY-MM` of the month before the one `t` is in.
fn previous_month(t: Timestamp) -> String {
    let text = t.to_rfc3339();
    let year: i32 = text.get(..4).and_then(|y| y.parse().ok()).unwrap_or(1970);
    let month: u32 = text.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    if month == 1 {
        format!("{:04}-12", year - 1)
    } else {
        format!("{year:04}-{:02}", month - 1)
    }
}

/// The job only logs its errors, so a message is all it needs.
async fn write(
    store: &Store,
    config: &Config,
    dir: &Path,
    month: &str,
    now: Timestamp,
) -> Result<(), String> {
    let report = build(store, config, month, now)
        .await
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (format, extension) in [
        (Format::Html, "html"),
        (Format::Csv, "csv"),
        (Format::Json, "json"),
    ] {
        let path = dir.join(format!("{month}.{extension}"));
        let partial = dir.join(format!(".{month}.{extension}.partial"));
        // Written aside then renamed, so a reader never sees half a report.
        std::fs::write(&partial, report.render(format))
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_month_wraps_the_year() {
        let at = |text: &str| Timestamp::parse(text).unwrap();
        assert_eq!(previous_month(at("2026-11-01T06:00:00Z")), "2026-10");
        assert_eq!(previous_month(at("2027-01-01T06:00:00Z")), "2026-12");
    }
}
