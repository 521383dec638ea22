//! Durable state: schema and migrations, the single batched writer, read queries, backups;
//! on SQLite (the default, one file) or PostgreSQL (several nodes on one database).
//!
//! Owns: every line of SQL in Beacon. May use: `domain`. The rest of the code sees only
//! [`Store`] methods whose types carry nothing engine-specific. The SQL is written once
//! against [`sql::Db`]; `sqlite` and `postgres` each implement it and keep their migrations.
//! Writes go through one writer thread that batches them into transactions; reads run on
//! their own pooled connections on the blocking thread pool, never on the async runtime.

mod accounts;
mod bulk;
pub mod copy;
mod database;
mod history;
mod incident_rows;
mod incidents;
mod jobs;
mod locations;
pub mod lock_file;
mod login_throttle;
mod outbox;
pub mod postgres;
mod read;
mod recurring;
pub(crate) mod sql;
pub mod sqlite;
mod tickets;
mod writer;

pub use accounts::{SessionRecord, UserRecord};
pub use database::Database;
pub use history::{ChannelRecord, ProbeHistory};
pub use incidents::{AuditEntry, ImportedIncident, ImportedUpdate, ImportedWindow, TokenRecord};
pub use jobs::{JobsLease, LeaseHolder, QueuedIngest};
pub use locations::{LocatedWrite, LocationRestore};
pub use outbox::{
    DeliveryAttempt, DeliveryStatus, NotifyDelivery, OutboxEntry, PendingNotification,
};
pub use postgres::lease::LeaseEvent;
pub use read::{LiveRestore, ProbeRestore};
pub use recurring::Occurrence;
pub use tickets::{request_id, NewTicket, TicketRecord};
pub use writer::{ImportBatch, LocationRecompute, ObservationRecord, ProbeRecompute};

use crate::domain::{Config, ProbeKey, Timestamp, Transition};
use sql::Db;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use writer::WriteOp;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database {database}: {reason}")]
    Open { database: String, reason: String },
    #[error(
        "database {database} has schema version {found}, newer than this Beacon supports ({supported}); \
         upgrade Beacon or use another database"
    )]
    TooNew {
        database: String,
        found: i64,
        supported: i64,
    },
    #[error("not found")]
    NotFound,
    /// A unique name (account, token) is already taken.
    #[error("already exists")]
    Conflict,
    #[error("the store is closed")]
    Closed,
    #[error("backup to {path}: {reason}")]
    Backup { path: String, reason: String },
    #[error("write failed: {0}")]
    Write(String),
    #[error("background task failed: {0}")]
    Task(String),
    #[error("copy: {0}")]
    Copy(String),
    #[error("database: {0}")]
    Sql(rusqlite::Error),
    #[error("database: {0}")]
    Postgres(String),
    #[error("column {index}: expected {expected}, found {found}")]
    Column {
        index: usize,
        expected: &'static str,
        found: String,
    },
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// This node held the jobs lease and another node has taken it since.
    #[error("refused: this node's jobs lease (epoch {ours}) was taken over by another node (epoch {current})")]
    Deposed { ours: i64, current: i64 },
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NotFound,
            other => Error::Sql(other),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Cloneable handle to the database: a queue to the writer thread and a pool of readers.
#[derive(Clone)]
pub struct Store {
    writes: mpsc::Sender<WriteOp>,
    readers: Readers,
    /// False once a write transaction failed; `/healthz` reports it.
    writable: Arc<AtomicBool>,
    /// Read queries started, so tests can prove a path never reads (the cached pages).
    reads: Arc<AtomicU64>,
    database: Database,
    /// PostgreSQL: grows with every change notice from any node (see `postgres::changes`).
    changes: Option<tokio::sync::watch::Receiver<u64>>,
    /// The jobs lease's epoch while this node holds it, else 0 (`jobs.rs`; the PostgreSQL
    /// writer refuses a deposed holder's writes).
    fence: Arc<AtomicI64>,
}

/// The readers' pool of the engine in use.
#[derive(Clone)]
enum Readers {
    Sqlite(sqlite::Readers),
    Postgres(postgres::Readers),
}

impl Readers {
    /// Runs `query` on a pooled connection, blocking the calling thread.
    fn read<T>(&self, query: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        match self {
            Readers::Sqlite(pool) => sqlite::read(pool, query),
            Readers::Postgres(pool) => postgres::read(pool, query),
        }
    }
}

/// Opens `database` on its engine, migrated: the writer's connection and the readers' pool.
fn engine(
    database: &Database,
    fence: Arc<AtomicI64>,
) -> Result<(Box<dyn sql::Connection>, Readers)> {
    Ok(match database {
        Database::Sqlite(path) => {
            let (conn, readers) = sqlite::open(path)?;
            (conn, Readers::Sqlite(readers))
        }
        Database::Postgres(url) => {
            let (conn, readers) = postgres::open(url, fence)?;
            (conn, Readers::Postgres(readers))
        }
    })
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`, applies migrations and starts
    /// the writer thread. Refuses a database written by a newer Beacon.
    pub fn open(path: &Path) -> Result<Store> {
        Store::connect(&Database::Sqlite(path.to_owned()))
    }

    /// Opens the database `--db` names, SQLite file or PostgreSQL server, applies migrations
    /// and starts the writer thread. Refuses a database written by a newer Beacon.
    pub fn connect(database: &Database) -> Result<Store> {
        let fence = Arc::new(AtomicI64::new(0));
        let (conn, readers) = engine(database, fence.clone())?;
        let writable = Arc::new(AtomicBool::new(true));
        let writes = writer::spawn(conn, writable.clone())?;
        Ok(Store {
            writes,
            readers,
            writable,
            reads: Arc::new(AtomicU64::new(0)),
            database: database.clone(),
            changes: match database {
                Database::Sqlite(_) => None,
                Database::Postgres(url) => Some(postgres::changes::listen(url)),
            },
            fence,
        })
    }

    /// On PostgreSQL, a receiver whose number grows whenever any node commits a change the
    /// public pages show (`None` on SQLite, where this node makes every change itself).
    pub fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.changes.clone()
    }

    /// The database this store writes.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Makes the channels and probes tables match the configuration: new ones are added,
    /// missing ones kept (their history stays) but marked inactive. A new channel is stamped
    /// with `now` as its creation (the v2 components' `created_at`).
    pub async fn sync_config(&self, config: &Config, now: Timestamp) -> Result<()> {
        let channels = config.channels.clone();
        let created_at = now;
        self.request(|ack| WriteOp::SyncConfig {
            channels,
            created_at,
            ack,
        })
        .await?
    }

    /// Queues an observation with the state changes it caused. Returns once queued; the
    /// writer commits it with the next batch.
    pub async fn record(&self, record: ObservationRecord) -> Result<()> {
        self.writes
            .send(WriteOp::Record(Box::new(record)))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Queues a multi-location probe's change that no observation caused (a location went
    /// silent, or its rule changed), with the channel's change, for the next batch.
    pub async fn record_located(
        &self,
        probe: ProbeKey,
        at: Timestamp,
        write: LocatedWrite,
        channel_update: Option<(Timestamp, Vec<Transition>)>,
    ) -> Result<()> {
        self.writes
            .send(WriteOp::Located {
                probe,
                at,
                write: Box::new(write),
                channel_update,
            })
            .await
            .map_err(|_| Error::Closed)
    }

    /// Replaces a channel's transitions at or after `from` (a change not caused by an
    /// observation, e.g. a probe removed by a reload).
    pub async fn replace_channel_transitions(
        &self,
        channel: String,
        from: Timestamp,
        transitions: Vec<Transition>,
    ) -> Result<()> {
        self.writes
            .send(WriteOp::ChannelTimeline {
                channel,
                from,
                transitions,
            })
            .await
            .map_err(|_| Error::Closed)
    }

    /// Stores the hash of a push probe's new token, replacing the previous one.
    pub async fn set_push_token(
        &self,
        probe: ProbeKey,
        token_hash: String,
        at: Timestamp,
    ) -> Result<()> {
        self.request(|ack| WriteOp::PushToken {
            probe,
            token_hash,
            at,
            ack,
        })
        .await?
    }

    /// Imports history in one transaction; returns how many observations were new.
    pub async fn import(&self, batch: ImportBatch) -> Result<usize> {
        self.request(|ack| WriteOp::Import {
            batch: Box::new(batch),
            ack,
        })
        .await?
    }

    /// Deletes raw observations older than `before`; returns how many. State intervals
    /// (probe and channel transitions) are kept for ever.
    pub async fn prune_observations(&self, before: Timestamp) -> Result<usize> {
        self.request(|ack| WriteOp::Prune { before, ack }).await?
    }

    /// Proves the database takes writes now: the writer opens and commits a write transaction.
    pub async fn ping(&self) -> Result<()> {
        self.request(|ack| WriteOp::Ping { ack }).await?
    }

    /// True unless a write transaction has failed since start.
    pub fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }

    /// Commits everything queued so far, checkpoints the WAL and stops the writer. Later
    /// writes fail with [`Error::Closed`].
    pub async fn close(&self) -> Result<()> {
        self.request(|ack| WriteOp::Shutdown { ack }).await?
    }

    /// How many read queries this store (and its clones) started since it was opened.
    pub fn reads_started(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    async fn request<T>(&self, op: impl FnOnce(oneshot::Sender<T>) -> WriteOp) -> Result<T> {
        let (ack, done) = oneshot::channel();
        self.writes.send(op(ack)).await.map_err(|_| Error::Closed)?;
        done.await.map_err(|_| Error::Closed)
    }

    /// Runs a read query on a pooled connection off the async runtime.
    async fn read<T, F>(&self, query: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.read(query))
            .await
            .unwrap_or_else(|join| Err(Error::Task(join.to_string())))
    }

    /// Runs `work` on the writer thread in a transaction of its own, after every write queued
    /// before it, and answers with its result (incidents, tokens, audit: rare writes that need
    /// no batching).
    async fn job<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        self.job_telling(work, true).await
    }

    /// [`Store::job`] that tells the other nodes only if `notice` (a write the public pages
    /// do not show, such as a queued batch, need not re-render them).
    async fn job_telling<T, F>(&self, work: F, notice: bool) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Db) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        // Every job (incidents, maintenance, accounts: rare writes) tells the other nodes.
        let job = Box::new(move |conn: &mut dyn sql::Connection| {
            let _ = reply.send(sql::transaction(conn, |db| {
                let value = work(db)?;
                if notice {
                    postgres::changes::notify(db)?;
                }
                Ok(value)
            }));
        });
        self.writes
            .send(WriteOp::Job(job))
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }
}

/// Writes a consistent copy of `db` to the SQLite file `dest` (which must not exist), safe
/// while Beacon runs: SQLite's `VACUUM INTO` reads one snapshot; a PostgreSQL database is
/// copied table by table into a new file (`copy`), which `--db` can open as it is.
pub fn backup(db: &Database, dest: &Path) -> Result<()> {
    match db {
        Database::Sqlite(path) => sqlite::backup(path, dest),
        Database::Postgres(_) => {
            if dest.exists() {
                return Err(Error::Backup {
                    path: dest.display().to_string(),
                    reason: "file exists; choose a new name".into(),
                });
            }
            copy::copy(db, &Database::Sqlite(dest.to_owned()), false, &mut |_| {}).map(drop)
        }
    }
}
