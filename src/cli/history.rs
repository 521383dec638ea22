//! History commands: `beacon report` and `beacon import observations`.

use super::{report, runtime};
use crate::domain::{Config, SystemClock};
use crate::store;
use crate::store::Database;
use anyhow::Context;
use std::path::Path;
use std::process::ExitCode;

/// Builds and writes one month's report; exit 2 for a malformed or future month.
pub(super) fn report_month(
    config: &Config,
    db: &Database,
    month: &str,
    format: crate::report::Format,
    out: Option<&Path>,
) -> ExitCode {
    use crate::report::{build_with_tickets, period, ReportError};
    let now = crate::domain::Clock::now(&SystemClock);
    if let Err(e) = period(month, now) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return report(Err(e)),
    };
    let built = rt.block_on(async {
        let store = store::Store::connect(db)?;
        let result = build_with_tickets(&store, config, month, now).await;
        store.close().await?;
        Ok::<_, anyhow::Error>(result)
    });
    let monthly = match built {
        Err(e) => return report(Err(e)),
        Ok(Err(e @ (ReportError::BadMonth(_) | ReportError::FutureMonth(_)))) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Ok(Err(e)) => return report(Err(e.into())),
        Ok(Ok(r)) => r,
    };
    let text = monthly.render(format);
    report(match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    })
}

/// Exit 2 when the file is refused (bad lines: nothing imported), 1 on runtime failures.
pub(super) fn import_observations(file: &Path, config: &Config, db: &Database) -> ExitCode {
    use crate::probe::import;
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let observations = match import::parse(&file.display().to_string(), &text, config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\nnothing imported");
            return ExitCode::from(2);
        }
    };
    let total = observations.len();
    report(runtime().and_then(|rt| {
        rt.block_on(async {
            let store = store::Store::connect(db)?;
            let result = import::import(&store, config, observations).await;
            store.close().await?;
            let inserted = result?;
            println!(
                "imported {inserted} new observations from {} ({} already present)",
                file.display(),
                total - inserted
            );
            Ok(())
        })
    }))
}
