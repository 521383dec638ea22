//! `beacon user add|list|disable|enable|password`: operator accounts for the web admin.
//! Passwords come from a prompt without echo, or from standard input when it is not a
//! terminal (for scripts); they never appear in arguments, where `ps` would show them.

use super::operator::{cli_actor, with_store};
use super::with_config;
use crate::account;
use crate::domain::{AuthSettings, Clock, SystemClock};
use crate::store::Database;
use anyhow::Context;
use clap::Subcommand;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(super) enum UserCommand {
    /// Create an account; asks for its password (or reads one line from stdin).
    #[command(after_help = "Examples:
  beacon user add alice --role admin
  printf '%s\\n' \"$PASSWORD\" | beacon user add bob    # from a script")]
    Add {
        /// Login name, 1 to 64 printable characters.
        name: String,
        /// `operator`: incidents, maintenance, tickets; `admin`: also accounts, tokens, settings.
        #[arg(long, default_value = "operator", value_parser = ["operator", "admin"])]
        role: String,
        /// For the password hashing cost (`[auth]`).
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// List accounts.
    #[command(after_help = "Example:\n  beacon user list --db beacon.db")]
    List {
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Set a new password (ends the account's sessions).
    #[command(after_help = "Example:\n  beacon user password alice")]
    Password {
        /// The account's login name.
        name: String,
        /// For the password hashing cost (`[auth]`).
        #[arg(long, env = "BEACON_CONFIG", default_value = "probes.toml")]
        config: PathBuf,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Disable an account (ends its sessions at once); `enable` undoes it.
    #[command(after_help = "Example:\n  beacon user disable bob")]
    Disable {
        /// The account's login name.
        name: String,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
    /// Enable a disabled account again; it logs in with its old password.
    #[command(after_help = "Example:\n  beacon user enable bob")]
    Enable {
        /// The account's login name.
        name: String,
        /// The database: a SQLite file (created if missing) or a `postgres://` URL.
        #[arg(long, env = "BEACON_DB", default_value = "beacon.db")]
        db: Database,
    },
}

pub(super) fn user(command: UserCommand) -> ExitCode {
    let now = SystemClock.now();
    match command {
        UserCommand::Add {
            name,
            role,
            config,
            db,
        } => with_config(&config, |config| {
            let hash = match new_password_hash(&name, &config.auth) {
                Ok(hash) => hash,
                Err(e) => return bad_input(e),
            };
            with_store(&db, |store| async move {
                store
                    .create_user(name.clone(), role.clone(), hash, now, cli_actor())
                    .await
                    .map_err(|e| match e {
                        crate::store::Error::Conflict => {
                            anyhow::anyhow!("an account named {name:?} already exists")
                        }
                        other => other.into(),
                    })?;
                println!("created {role} account {name}; log in at /admin/login");
                Ok(())
            })
        }),
        UserCommand::List { db } => with_store(&db, |store| async move {
            for u in store.users().await? {
                let state = u
                    .disabled_at
                    .map_or("active".to_owned(), |t| format!("disabled {t}"));
                println!("{}\t{}\tcreated {}\t{state}", u.name, u.role, u.created_at);
            }
            Ok(())
        }),
        UserCommand::Password { name, config, db } => with_config(&config, |config| {
            let hash = match new_password_hash(&name, &config.auth) {
                Ok(hash) => hash,
                Err(e) => return bad_input(e),
            };
            with_store(&db, |store| async move {
                store
                    .set_password(name.clone(), hash, now, cli_actor())
                    .await
                    .with_context(|| format!("no account named {name:?}"))?;
                println!("password of {name} changed; its sessions have ended");
                Ok(())
            })
        }),
        UserCommand::Disable { name, db } => set_disabled(name, true, db),
        UserCommand::Enable { name, db } => set_disabled(name, false, db),
    }
}

fn set_disabled(name: String, disabled: bool, db: Database) -> ExitCode {
    let now = SystemClock.now();
    with_store(&db, |store| async move {
        store
            .set_user_disabled(name.clone(), disabled, now, cli_actor())
            .await
            .with_context(|| format!("no account named {name:?}"))?;
        println!("{name} {}", if disabled { "disabled" } else { "enabled" });
        Ok(())
    })
}

fn bad_input(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::from(2)
}

/// Reads the password (twice on a terminal) and hashes it at the configured cost.
fn new_password_hash(name: &str, auth: &AuthSettings) -> anyhow::Result<String> {
    if !account::is_valid_name(name) {
        anyhow::bail!("account names are 1 to 64 printable characters");
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(account::hash_password(&password, auth)?)
}
