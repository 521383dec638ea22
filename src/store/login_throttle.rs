//! The login throttle's counts (`account::throttle` holds its rules): per client address and
//! lower-cased account name the failures in a row, and per address its recent failures.
//! In the database so that every node sees every failure.

use super::sql::{args, Db};
use super::{Result, Store};
use crate::account::{LoginHistory, Streak};
use crate::domain::Timestamp;

impl Store {
    /// What the throttle needs for a login of `name` (lower-cased) from `address`: its streak,
    /// and the address's failures after `since`, oldest first.
    pub async fn login_history(
        &self,
        address: String,
        name: String,
        since: Timestamp,
    ) -> Result<LoginHistory> {
        self.read(move |db: &dyn Db| {
            let streak = db
                .query_opt(
                    "SELECT failures, last_ms FROM login_streaks WHERE address = ?1 AND name = ?2",
                    args![address, name],
                )?
                .map(|r| {
                    Ok::<_, super::Error>(Streak {
                        count: r.get(0)?,
                        last: Timestamp::from_millis(r.get(1)?),
                    })
                })
                .transpose()?;
            let address_failures = db.query_map(
                "SELECT at_ms FROM login_failures WHERE address = ?1 AND at_ms > ?2
                 ORDER BY at_ms, id",
                args![address, since.millis()],
                |r| Ok(Timestamp::from_millis(r.get(0)?)),
            )?;
            Ok(LoginHistory {
                streak,
                address_failures,
            })
        })
        .await
    }

    /// Counts a failed login at `now`: the streak grows by one, or starts again at one when its
    /// last failure is at or before `reset_before` (counted in the database, so two nodes
    /// failing at once both count). Rows the throttle can no longer use (failures at or
    /// before `forget_before`, streaks over) are deleted.
    pub async fn login_failed(
        &self,
        address: String,
        name: String,
        now: Timestamp,
        reset_before: Timestamp,
        forget_before: Timestamp,
    ) -> Result<()> {
        self.job(move |db: &dyn Db| {
            db.execute(
                "INSERT INTO login_streaks (address, name, failures, last_ms) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (address, name) DO UPDATE SET
                     failures = CASE WHEN login_streaks.last_ms <= ?4 THEN 1
                                     ELSE login_streaks.failures + 1 END,
                     last_ms = excluded.last_ms",
                args![address, name, now.millis(), reset_before.millis()],
            )?;
            db.execute(
                "INSERT INTO login_failures (address, at_ms) VALUES (?1, ?2)",
                args![address, now.millis()],
            )?;
            db.execute(
                "DELETE FROM login_failures WHERE at_ms <= ?1",
                args![forget_before.millis()],
            )?;
            db.execute(
                "DELETE FROM login_streaks WHERE last_ms <= ?1",
                args![reset_before.millis()],
            )?;
            Ok(())
        })
        .await
    }

    /// A successful login ends the address's streak for this name (its failures over all
    /// names stay).
    pub async fn login_succeeded(&self, address: String, name: String) -> Result<()> {
        self.job(move |db: &dyn Db| {
            db.execute(
                "DELETE FROM login_streaks WHERE address = ?1 AND name = ?2",
                args![address, name],
            )?;
            Ok(())
        })
        .await
    }
}
