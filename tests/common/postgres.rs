//! A fresh PostgreSQL schema per test on the server `BEACON_PG_URL` names (`.ci/run` starts
//! one). Shared by the store's contract suite and the whole-Beacon tests on both engines.

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
    let mut admin = postgres::Client::connect(&url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("BEACON_PG_URL={url}: {e}"));
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("create schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    Some(scoped.parse().expect("scoped URL"))
}

static SCHEMAS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
