//! Operator accounts and web sessions. Every change is audited in its own transaction;
//! sessions are looked up by the hash of the cookie, never by the cookie itself.

use super::incidents::audit;
use super::{Error, Result, Store};
use crate::domain::{Actor, Timestamp};
use rusqlite::{params, OptionalExtension, Row};

/// An account as stored. `password_hash` is an argon2id PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// By hand so the hash never lands in a log line.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// A live session with the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub role: String,
    /// The token every form posted in this session must carry.
    pub csrf: String,
    pub expires_at: Timestamp,
}

impl Store {
    /// Adds an account; `Error::Conflict` when the name is taken.
    pub async fn create_user(
        &self,
        name: String,
        role: String,
        password_hash: String,
        now: Timestamp,
        actor: Actor,
    ) -> Result<i64> {
        self.job_sqlite(move |tx| {
            let taken: bool = tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", [&name], |_| Ok(true))
                .optional()?
                .unwrap_or(false);
            if taken {
                return Err(Error::Conflict);
            }
            tx.execute(
                "INSERT INTO users (name, role, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![name, role, password_hash, now.millis()],
            )?;
            let id = tx.last_insert_rowid();
            audit(
                tx,
                now,
                &actor,
                "create account",
                &format!("user {name}"),
                &role,
            )?;
            Ok(id)
        })
        .await
    }

    /// Replaces an account's password hash and ends its sessions.
    pub async fn set_password(
        &self,
        name: String,
        password_hash: String,
        now: Timestamp,
        actor: Actor,
    ) -> Result<()> {
        self.job_sqlite(move |tx| {
            let id = user_id(tx, &name)?;
            tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![id, password_hash],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            audit(
                tx,
                now,
                &actor,
                "change password",
                &format!("user {name}"),
                "",
            )
        })
        .await
    }

    /// Disables (or enables again) an account; disabling ends its sessions at once.
    pub async fn set_user_disabled(
        &self,
        name: String,
        disabled: bool,
        now: Timestamp,
        actor: Actor,
    ) -> Result<()> {
        self.job_sqlite(move |tx| {
            let id = user_id(tx, &name)?;
            let at = disabled.then_some(now.millis());
            tx.execute(
                "UPDATE users SET disabled_ms = ?2 WHERE id = ?1",
                params![id, at],
            )?;
            if disabled {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            }
            let action = if disabled {
                "disable account"
            } else {
                "enable account"
            };
            audit(tx, now, &actor, action, &format!("user {name}"), "")
        })
        .await
    }

    /// The account with this name, enabled or not.
    pub async fn user(&self, name: String) -> Result<UserRecord> {
        self.read_sqlite(move |conn| {
            Ok(conn
                .prepare_cached(&format!("{USER_COLUMNS} WHERE name = ?1"))?
                .query_row([name], user_from_row)?)
        })
        .await
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        self.read_sqlite(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{USER_COLUMNS} ORDER BY name"))?;
            let rows = stmt.query_map([], user_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Opens a session for an account (audited as a login).
    pub async fn create_session(
        &self,
        id_hash: String,
        user: String,
        csrf: String,
        now: Timestamp,
        expires_at: Timestamp,
        source: String,
    ) -> Result<()> {
        self.job_sqlite(move |tx| {
            let id = user_id(tx, &user)?;
            tx.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf, created_ms, expires_ms, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id_hash, id, csrf, now.millis(), expires_at.millis(), source],
            )?;
            let actor = Actor {
                who: format!("user:{user}"),
                source,
            };
            audit(tx, now, &actor, "log in", &format!("user {user}"), "")
        })
        .await
    }

    /// The unexpired session with this hash, of an enabled account.
    pub async fn session(&self, id_hash: String, now: Timestamp) -> Result<SessionRecord> {
        self.read_sqlite(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT u.name, u.role, s.csrf, s.expires_ms FROM sessions s
                     JOIN users u ON u.id = s.user_id
                     WHERE s.id_hash = ?1 AND s.expires_ms > ?2 AND u.disabled_ms IS NULL",
                )?
                .query_row(params![id_hash, now.millis()], |r| {
                    Ok(SessionRecord {
                        user: r.get(0)?,
                        role: r.get(1)?,
                        csrf: r.get(2)?,
                        expires_at: Timestamp(r.get(3)?),
                    })
                })?)
        })
        .await
    }

    /// Ends a session (audited as a logout); ending an unknown one is not an error.
    pub async fn end_session(&self, id_hash: String, now: Timestamp, actor: Actor) -> Result<()> {
        self.job_sqlite(move |tx| {
            if tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])? > 0 {
                audit(tx, now, &actor, "log out", &actor.who.clone(), "")?;
            }
            Ok(())
        })
        .await
    }

    /// Forgets expired sessions; returns how many.
    pub async fn prune_sessions(&self, now: Timestamp) -> Result<usize> {
        self.job_sqlite(move |tx| {
            Ok(tx.execute(
                "DELETE FROM sessions WHERE expires_ms <= ?1",
                [now.millis()],
            )?)
        })
        .await
    }
}

const USER_COLUMNS: &str =
    "SELECT id, name, role, password_hash, created_ms, disabled_ms FROM users";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        password_hash: r.get(3)?,
        created_at: Timestamp(r.get(4)?),
        disabled_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
    })
}

fn user_id(tx: &rusqlite::Connection, name: &str) -> Result<i64> {
    tx.query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound)
}
