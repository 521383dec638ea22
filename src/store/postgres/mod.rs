//! The PostgreSQL engine: several Beacon nodes on one database the team already runs, backs
//! up and replicates. The same store logic as on SQLite runs here through [`Db`]: one writer
//! connection per node (the writer thread) and a pool of readers, with tokio-postgres's own
//! blocking client (`postgres`), TLS by rustls when the server offers it (`sslmode=prefer`, the
//! default) or always (`sslmode=require`).

pub(crate) mod changes;
pub mod lease;
mod schema;

use super::sql::{Connection, Db, Engine, Row, Value};
use super::{database, Error, Result};
use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{GenericClient, Statement};
use r2d2_postgres::PostgresConnectionManager;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long a connection attempt may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Pool = r2d2::Pool<PostgresConnectionManager<MakeRustlsConnect>>;

/// The readers' pool (its connections are blocking clients; see [`OffRuntime`]).
#[derive(Clone)]
pub(super) struct Readers(Arc<OffRuntime<Pool>>);

/// Owns something holding blocking clients, which must not be closed on a thread that
/// drives async tasks (closing one blocks on its own runtime), where the last `Store` clone
/// or a serve's lock may well be dropped: it is dropped on a thread of its own.
pub(super) struct OffRuntime<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> OffRuntime<T> {
    pub(super) fn new(value: T) -> Self {
        OffRuntime(Some(value))
    }

    fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<T: Send + 'static> Drop for OffRuntime<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("beacon-pg-close".into())
                .spawn(move || drop(value));
        }
    }
}

/// Runs `work` (which uses the blocking client) on a thread of its own and waits for it:
/// that client runs a small runtime of its own, which cannot start on a thread that drives
/// async tasks (`serve` opens the store from one), as SQLite's open blocks on its file.
pub(super) fn off_runtime<T: Send>(work: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|scope| {
        scope.spawn(work).join().unwrap_or_else(|_| {
            Err(Error::Task(
                "a PostgreSQL connection thread panicked".into(),
            ))
        })
    })
}

/// Connects to the server `url` names, applies the migrations it has not seen and builds the
/// readers' pool; returns the writer's connection and the pool.
/// `fence` is the jobs lease's epoch while this node holds it (0 otherwise): see
/// [`Writer::fence`].
pub(super) fn open(url: &str, fence: Arc<AtomicI64>) -> Result<(Box<dyn Connection>, Readers)> {
    off_runtime(|| open_here(url, fence))
}

fn open_here(url: &str, fence: Arc<AtomicI64>) -> Result<(Box<dyn Connection>, Readers)> {
    let config = config(url)?;
    let tls = tls();
    let mut client = connect(&config, &tls, url)?;
    schema::migrate(&mut client, url)?;
    let manager = PostgresConnectionManager::new(config.clone(), tls.clone());
    let readers = r2d2::Pool::builder()
        .max_size(8)
        .min_idle(Some(0))
        .connection_timeout(CONNECT_TIMEOUT)
        .build_unchecked(manager);
    let readers = Readers(Arc::new(OffRuntime::new(readers)));
    Ok((
        Box::new(Writer {
            config,
            tls,
            url: url.to_owned(),
            client: Some(client),
            statements: HashMap::new(),
            fence,
        }),
        readers,
    ))
}

/// The URL's settings, with Beacon's default connect timeout.
pub(super) fn config(url: &str) -> Result<postgres::Config> {
    let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| Error::Open {
        database: database::redact(url),
        reason: e.to_string(),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        // What `pg_stat_activity` shows for Beacon's connections (the URL may name another).
        config.application_name("beacon");
    }
    Ok(config)
}

/// rustls with the webpki roots (the same trust as the HTTP probes).
pub(super) fn tls() -> MakeRustlsConnect {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| {
            // The ring provider supports the default versions; this branch cannot run.
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        });
    MakeRustlsConnect::new(config)
}

/// One connection, with the server's refusal as one line naming the database.
pub(super) fn connect(
    config: &postgres::Config,
    tls: &MakeRustlsConnect,
    url: &str,
) -> Result<postgres::Client> {
    config.connect(tls.clone()).map_err(|e| Error::Open {
        database: database::redact(url),
        reason: message(&e),
    })
}

/// Runs a read on a pooled connection (called on the blocking pool).
pub(super) fn read<T>(readers: &Readers, query: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
    let pool = readers.0.get().ok_or(Error::Closed)?;
    let mut conn = pool.get()?;
    let mut statements = HashMap::new();
    let db = PgDb::new(&mut *conn, &mut statements);
    query(&db)
}

/// The writer's connection; it reconnects at the next transaction after losing the server.
struct Writer {
    config: postgres::Config,
    tls: MakeRustlsConnect,
    url: String,
    client: Option<postgres::Client>,
    /// Prepared statements of this connection, by their SQL as the store writes it.
    statements: HashMap<String, Statement>,
    /// The jobs lease's epoch while this node holds it, else 0. When set, every transaction
    /// first reads the lease row `FOR SHARE` and is refused if another node has taken the
    /// lease since (its epoch is higher): a deposed leader's late writes never land. The
    /// share lock also makes a new leader's epoch bump wait for a transaction in flight.
    fence: Arc<AtomicI64>,
}

impl Connection for Writer {
    fn in_transaction(&mut self, work: &mut dyn FnMut(&dyn Db) -> Result<()>) -> Result<()> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.statements.clear();
            self.client = None;
            self.client = Some(connect(&self.config, &self.tls, &self.url)?);
        }
        let client = self.client.as_mut().ok_or(Error::Closed)?;
        let mut tx = client.transaction()?;
        let ours = self.fence.load(Ordering::Acquire);
        if ours > 0 {
            let current: i64 = tx
                .query_one(
                    "SELECT epoch FROM jobs_lease WHERE name = 'jobs' FOR SHARE",
                    &[],
                )?
                .get(0);
            if current != ours {
                return Err(Error::Deposed { ours, current });
            }
        }
        {
            let db = PgDb::new(&mut tx, &mut self.statements);
            work(&db)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn at_rest(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A PostgreSQL client or transaction seen as a [`Db`].
struct PgDb<'a, C: GenericClient> {
    client: RefCell<&'a mut C>,
    statements: RefCell<&'a mut HashMap<String, Statement>>,
}

impl<'a, C: GenericClient> PgDb<'a, C> {
    fn new(client: &'a mut C, statements: &'a mut HashMap<String, Statement>) -> Self {
        PgDb {
            client: RefCell::new(client),
            statements: RefCell::new(statements),
        }
    }

    fn prepared(&self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.borrow_mut().prepare(&placeholders(sql))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

impl<C: GenericClient> Db for PgDb<'_, C> {
    fn execute(&self, sql: &str, args: &[Value]) -> Result<usize> {
        let statement = self.prepared(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|v| v as _).collect();
        let changed = self.client.borrow_mut().execute(&statement, &params)?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let statement = self.prepared(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|v| v as _).collect();
        let rows = self.client.borrow_mut().query(&statement, &params)?;
        rows.iter().map(row).collect()
    }

    fn engine(&self) -> Engine {
        Engine::Postgres
    }
}

/// The store's `?N` parameters as PostgreSQL's `$N` (outside quoted text).
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

/// Reads one row by the columns' PostgreSQL types.
fn row(row: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = match *ty {
            Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(index)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(index)?
                .map(|v| Value::Int(v.into())),
            Type::OID => row
                .try_get::<_, Option<u32>>(index)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(index)?
                .map(|v| Value::Int(v.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(index)?.map(Value::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(index)?
                .map(|v| Value::Real(v.into())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                row.try_get::<_, Option<String>>(index)?.map(Value::Text)
            }
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(index)?.map(Value::Blob),
            _ => {
                return Err(Error::Column {
                    index,
                    expected: "a column type Beacon reads",
                    found: format!("PostgreSQL type {ty} (CAST it in the query)"),
                })
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row::new(values))
}

/// Binds by the type the server inferred for the parameter, so the one SQL text serves both
/// engines (an integer into an `INT4` context, a flag into a `BOOL` one, text anywhere).
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), &Type::TEXT | &Type::VARCHAR) => i.to_string().to_sql(ty, out),
            (Value::Real(r), &Type::FLOAT8) => r.to_sql(ty, out),
            (Value::Real(r), &Type::FLOAT4) => (*r as f32).to_sql(ty, out),
            (Value::Text(t), &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME) => {
                t.as_str().to_sql(ty, out)
            }
            (Value::Blob(b), &Type::BYTEA) => b.as_slice().to_sql(ty, out),
            (value, ty) => Err(format!("cannot bind {value:?} to a parameter of type {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Postgres(message(&e))
    }
}

/// The server's own message when it sent one (`ERROR: ...`, a trigger's refusal), else the
/// driver's.
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                text = format!("{text}: {inner}");
                source = inner.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        let cases = [
            ("SELECT ?1", "SELECT $1"),
            ("a = ?1 AND b = ?12", "a = $1 AND b = $12"),
            ("x = '?1' AND y = ?2", "x = '?1' AND y = $2"),
            ("it''s ?3", "it''s $3"),
            ("no params ? here", "no params ? here"),
        ];
        for (sql, expected) in cases {
            assert_eq!(placeholders(sql), expected, "{sql}");
        }
    }
}
