//! Operator accounts and web sessions. Every change is audited in its own transaction;
//! sessions are looked up by the hash of the cookie, never by the cookie itself.

use super::incidents::audit;
use super::sql::{args, Db, Row};
use super::{Error, Result, Store};
use crate::domain::{Actor, Timestamp};

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
        self.job(move |tx: &dyn Db| {
            if tx.exists("SELECT 1 FROM users WHERE name = ?1", args![name])? {
                return Err(Error::Conflict);
            }
            let id = tx.insert_id(
                "INSERT INTO users (name, role, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4)
                 RETURNING id",
                args![name, role, password_hash, now.millis()],
            )?;
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
        self.job(move |tx: &dyn Db| {
            let id = user_id(tx, &name)?;
            tx.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                args![id, password_hash],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", args![id])?;
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
        self.job(move |tx: &dyn Db| {
            let id = user_id(tx, &name)?;
            let at = disabled.then_some(now.millis());
            tx.execute(
                "UPDATE users SET disabled_ms = ?2 WHERE id = ?1",
                args![id, at],
            )?;
            if disabled {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", args![id])?;
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
        self.read(move |db: &dyn Db| {
            user_from_row(&db.query_one(&format!("{USER_COLUMNS} WHERE name = ?1"), args![name])?)
        })
        .await
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        // Sorted here, not by `ORDER BY name`: PostgreSQL orders text by the database's
        // collation (often case-insensitive), SQLite by bytes; Rust's order is SQLite's.
        let mut users = self
            .read(|db: &dyn Db| {
                db.query_map(
                    &format!("{USER_COLUMNS} ORDER BY id"),
                    args![],
                    user_from_row,
                )
            })
            .await?;
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(users)
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
        self.job(move |tx: &dyn Db| {
            let id = user_id(tx, &user)?;
            tx.execute(
                "INSERT INTO sessions (id_hash, user_id, csrf, created_ms, expires_ms, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![id_hash, id, csrf, now.millis(), expires_at.millis(), source],
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
        self.read(move |db: &dyn Db| {
            let r = db.query_one(
                "SELECT u.name, u.role, s.csrf, s.expires_ms FROM sessions s
                 JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = ?1 AND s.expires_ms > ?2 AND u.disabled_ms IS NULL",
                args![id_hash, now.millis()],
            )?;
            Ok(SessionRecord {
                user: r.get(0)?,
                role: r.get(1)?,
                csrf: r.get(2)?,
                expires_at: Timestamp::from_millis(r.get(3)?),
            })
        })
        .await
    }

    /// Ends a session (audited as a logout); ending an unknown one is not an error.
    pub async fn end_session(&self, id_hash: String, now: Timestamp, actor: Actor) -> Result<()> {
        self.job(move |tx: &dyn Db| {
            if tx.execute("DELETE FROM sessions WHERE id_hash = ?1", args![id_hash])? > 0 {
                audit(tx, now, &actor, "log out", &actor.who.clone(), "")?;
            }
            Ok(())
        })
        .await
    }

    /// Forgets expired sessions; returns how many.
    pub async fn prune_sessions(&self, now: Timestamp) -> Result<usize> {
        self.job(move |tx: &dyn Db| {
            tx.execute(
                "DELETE FROM sessions WHERE expires_ms <= ?1",
                args![now.millis()],
            )
        })
        .await
    }
}

const USER_COLUMNS: &str =
    "SELECT id, name, role, password_hash, created_ms, disabled_ms FROM users";

fn user_from_row(r: &Row) -> Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        password_hash: r.get(3)?,
        created_at: Timestamp::from_millis(r.get(4)?),
        disabled_at: r.get::<Option<i64>>(5)?.map(Timestamp::from_millis),
    })
}

/// The id of the account `name`; [`Error::NotFound`] if there is none.
fn user_id(tx: &dyn Db, name: &str) -> Result<i64> {
    tx.query_one("SELECT id FROM users WHERE name = ?1", args![name])?
        .get(0)
}
