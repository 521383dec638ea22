//! `beacon store copy`: move a history between databases (see `store::copy`).

use crate::store::copy::{self, Progress};
use crate::store::Database;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum StoreCommand {
    /// Copy every table (observations, transitions, incidents with their immutable times,
    /// tickets, accounts, tokens, outbox, audit log) into another database, in batches.
    #[command(after_help = "Examples:
  beacon store copy --from beacon.db --to postgres://beacon@db.internal/beacon
  beacon store copy --from postgres://beacon@db.internal/beacon --to backup-2026-12.db")]
    Copy {
        /// The database to read: a SQLite file or a `postgres://` URL.
        #[arg(long)]
        from: Database,
        /// The database to write, created and migrated if needed; it must be empty unless
        /// --append.
        #[arg(long)]
        to: Database,
        /// Add to a target that already holds rows: rows whose key is there are kept as they
        /// are (resumes a copy cut short).
        #[arg(long)]
        append: bool,
    },
}

pub(super) fn store(command: StoreCommand) -> ExitCode {
    match command {
        StoreCommand::Copy { from, to, append } => run_copy(&from, &to, append),
    }
}

fn run_copy(from: &Database, to: &Database, append: bool) -> ExitCode {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} rows ({eta})")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut current = "";
    let mut show = |p: Progress| {
        if p.table != current {
            current = p.table;
            bar.set_message(p.table);
            bar.set_length(p.total);
        }
        bar.set_position(p.done);
    };
    match copy::copy(from, to, append, &mut show) {
        Ok(tables) => {
            bar.finish_and_clear();
            println!("copied {from} to {to}");
            for t in &tables {
                println!("{:<24} {:>10} of {:>10}", t.table, t.copied, t.source_rows);
            }
            let total: u64 = tables.iter().map(|t| t.copied).sum();
            println!("{:<24} {:>10}", "total rows", total);
            ExitCode::SUCCESS
        }
        Err(e) => {
            bar.abandon();
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
