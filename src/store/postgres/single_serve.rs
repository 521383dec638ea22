//! One `serve` per PostgreSQL database (per schema), until several nodes share one under a
//! jobs lease: two would probe and write the same probes. A session-level advisory lock on a
//! connection of its own, held for the whole serve; a second serve is refused with one line
//! naming the node that holds it. The server releases the lock when that connection ends,
//! so a node that dies (even by `kill -9`) frees the database at once.

use super::{config, connect, off_runtime, tls, OffRuntime};
use crate::store::{database, Error, Result};

/// The advisory lock's first key ("BEAC"); the second is the schema's hash, so databases
/// shared by schemas (the tests) lock each schema alone.
const LOCK_CLASS: i32 = 0x4245_4143;

/// Held while it lives; dropping it ends its connection, which releases the lock.
pub struct ServeLock {
    _client: OffRuntime<postgres::Client>,
}

/// Takes the database's serve lock, or says who holds it.
pub fn acquire(url: &str) -> Result<ServeLock> {
    off_runtime(|| acquire_here(url))
}

fn acquire_here(url: &str) -> Result<ServeLock> {
    let mut client = connect(&config(url)?, &tls(), url)?;
    let schema_key = "SELECT hashtext(current_schema())";
    let key: i32 = client.query_one(schema_key, &[])?.get(0);
    let taken: bool = client
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_CLASS, &key])?
        .get(0);
    if taken {
        return Ok(ServeLock {
            _client: OffRuntime::new(client),
        });
    }
    let holder = client.query_opt(
        "SELECT a.pid, COALESCE(a.application_name, ''), COALESCE(host(a.client_addr), 'a local socket'),
                to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid
           AND l.objid = $2::int::oid AND l.objsubid = 2",
        &[&LOCK_CLASS, &key],
    )?;
    let who = match holder {
        Some(row) => format!(
            "another Beacon ({} from {}, server process {}, connected since {})",
            row.get::<_, String>(1),
            row.get::<_, String>(2),
            row.get::<_, i32>(0),
            row.get::<_, String>(3)
        ),
        None => "another Beacon".to_owned(),
    };
    Err(Error::Open {
        database: database::redact(url),
        reason: format!(
            "{who} is serving it; one serve per database until several nodes are supported \
             (stop the other, or use another database or schema)"
        ),
    })
}
