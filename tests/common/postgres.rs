//! A fresh PostgreSQL schema per test on the server `BEACON_PG_URL` names (`.ci/run` starts
//! one). Shared by the store's contract suite and the whole-Beacon tests on both engines.
#![allow(dead_code)] // each test binary uses a different part

use beacon::store::Database;

/// A new, empty schema on the `BEACON_PG_URL` server, as a URL whose `search_path` is that
/// schema, so each test starts from nothing and tests run in parallel. `None` without
/// `BEACON_PG_URL`.
pub fn fresh_postgres() -> Option<Database> {
    let url = std::env::var("BEACON_PG_URL").ok()?;
    let schema = format!(
        "t_{}_{}",
        std::process::id(),
        SCHEMAS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    // The blocking client cannot run on an async test's thread: a thread of its own.
    let create = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
    let admin_url = url.clone();
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("BEACON_PG_URL={admin_url}: {e}"));
        admin.batch_execute(&create).expect("create schema");
    })
    .join()
    .expect("schema thread");
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    Some(scoped.parse().expect("scoped URL"))
}

static SCHEMAS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Ends every connection whose `application_name` is `name` on the `BEACON_PG_URL` server,
/// as a failover or a restart of the database would; returns how many.
pub fn terminate(name: &str) -> i64 {
    let url = std::env::var("BEACON_PG_URL").expect("BEACON_PG_URL");
    let name = name.to_owned();
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let row = admin
            .query_one(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1) AS cut",
                &[&name],
            )
            .expect("terminate");
        row.get::<_, i64>(0)
    })
    .join()
    .expect("terminate thread")
}

/// Runs `sql` on `database` beside a running Beacon (a test's schema, through its URL), as
/// an operator with `psql` would.
pub fn execute(database: &str, sql: &str) {
    let (url, sql) = (database.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client.batch_execute(&sql).expect("execute");
    })
    .join()
    .expect("execute thread");
}

/// The rows `sql` returns on `database` (a test's schema, through its URL), every value as
/// text (`NULL` as an empty string), as `psql` would show them.
pub fn query(database: &str, sql: &str) -> Vec<Vec<String>> {
    let (url, sql) = (database.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client
            .simple_query(&sql)
            .expect("query")
            .into_iter()
            .filter_map(|message| match message {
                postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or_default().to_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    })
    .join()
    .expect("query thread")
}
