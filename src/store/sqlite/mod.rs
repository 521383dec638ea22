//! The SQLite engine: one file beside Beacon, WAL mode, one read-write connection for the
//! writer thread and a pool of read-only ones for readers (rusqlite, bundled SQLite).

pub(super) mod schema;

use super::sql::{Connection, Db, Engine, Row, Value};
use super::{Error, Result};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, TransactionBehavior};
use std::path::Path;

/// Prepared statements kept per connection: the store has about a hundred; the hot ones
/// (observations, transitions, checkpoints) must never be evicted by the rare ones.
const STATEMENT_CACHE: usize = 256;

pub(super) type Readers = r2d2::Pool<SqliteConnectionManager>;

/// Opens (creating if needed) the database at `path` and applies its migrations; returns the
/// writer's connection and the readers' pool.
pub(super) fn open(path: &Path) -> Result<(Box<dyn Connection>, Readers)> {
    let open_err = |source: rusqlite::Error| Error::Open {
        database: path.display().to_string(),
        reason: source.to_string(),
    };
    let mut conn = rusqlite::Connection::open(path).map_err(open_err)?;
    schema::configure_writer(&conn).map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    schema::migrate(&mut conn, path)?;

    let manager = SqliteConnectionManager::file(path)
        .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_init(|c| {
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            c.busy_timeout(std::time::Duration::from_secs(5))
        });
    let readers = r2d2::Pool::builder()
        .max_size(4)
        .min_idle(Some(0))
        .build(manager)?;
    Ok((Box::new(Writer(conn)), readers))
}

/// Runs a read on a pooled connection (called on the blocking pool).
pub(super) fn read<T>(readers: &Readers, query: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
    let conn = readers.get()?;
    query(&*conn)
}

struct Writer(rusqlite::Connection);

impl Connection for Writer {
    fn in_transaction(&mut self, work: &mut dyn FnMut(&dyn Db) -> Result<()>) -> Result<()> {
        let tx = self
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        work(&*tx)?;
        tx.commit()?;
        Ok(())
    }

    fn at_rest(&mut self) -> Result<()> {
        self.0.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        Ok(())
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl Db for rusqlite::Connection {
    fn execute(&self, sql: &str, args: &[Value]) -> Result<usize> {
        Ok(self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(args))?)
    }

    fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let mut statement = self.prepare_cached(sql)?;
        let columns = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for index in 0..columns {
                values.push(match row.get_ref(index)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => Value::Int(i),
                    ValueRef::Real(r) => Value::Real(r),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.push(Row::new(values));
        }
        Ok(out)
    }

    fn engine(&self) -> Engine {
        Engine::Sqlite
    }
}

/// Writes a consistent copy of the database at `db` to `dest` (which must not exist), safe
/// while Beacon runs: SQLite's `VACUUM INTO` reads one snapshot.
pub fn backup(db: &Path, dest: &Path) -> Result<()> {
    let fail = |reason: String| Error::Backup {
        path: dest.display().to_string(),
        reason,
    };
    if dest.exists() {
        return Err(fail("file exists; choose a new name".into()));
    }
    let conn = rusqlite::Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|source| Error::Open {
            database: db.display().to_string(),
            reason: source.to_string(),
        })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let dest_text = dest
        .to_str()
        .ok_or_else(|| fail("path is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [dest_text])
        .map_err(|e| fail(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::args;

    #[test]
    fn sqlite_reads_back_what_it_binds() {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        let db: &dyn Db = &conn;
        db.execute(
            "CREATE TABLE t (a INTEGER, b TEXT, c REAL, d BLOB)",
            args![],
        )
        .expect("create");
        let none: Option<String> = None;
        let n = db
            .execute(
                "INSERT INTO t (a, b, c, d) VALUES (?1, ?2, ?3, ?4), (?5, ?6, NULL, NULL)",
                args![i64::MAX, "é", 0.25, vec![0_u8, 1], -1_i64, none],
            )
            .expect("insert");
        assert_eq!(n, 2);
        let rows = db
            .query("SELECT a, b, c, d FROM t ORDER BY a", args![])
            .expect("query");
        assert_eq!(rows[0].get::<i64>(0).expect("a"), -1);
        assert_eq!(rows[0].get::<Option<String>>(1).expect("b"), None);
        assert_eq!(rows[1].get::<i64>(0).expect("a"), i64::MAX);
        assert_eq!(rows[1].get::<String>(1).expect("b"), "é");
        assert_eq!(rows[1].get::<f64>(2).expect("c"), 0.25);
        assert_eq!(rows[1].get::<Vec<u8>>(3).expect("d"), vec![0, 1]);
        let id = db
            .insert_id(
                "INSERT INTO t (a) VALUES (?1) RETURNING rowid",
                args![5_i64],
            )
            .expect("returning");
        assert_eq!(id, 3);
    }
}
