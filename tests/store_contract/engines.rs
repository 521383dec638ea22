//! The engines every contract test runs on: SQLite always, PostgreSQL when `BEACON_PG_URL`
//! names a server (set by `.ci/run`, which starts one). With `BEACON_PG_URL` set, a server
//! that cannot be reached fails the tests; it is never skipped.

use beacon::store::{Database, Store};

/// One fresh, empty store on one engine.
pub struct Engine {
    pub name: &'static str,
    pub store: Store,
    /// Keeps the SQLite file's directory for the test's life.
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite store, and a fresh PostgreSQL one (its own schema) when configured.
pub fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = Store::open(&dir.path().join("contract.db")).expect("open SQLite");
    let mut engines = vec![Engine {
        name: "sqlite",
        store: sqlite,
        _dir: Some(dir),
    }];
    if let Some(database) = fresh_postgres() {
        let store = Store::connect(&database)
            .unwrap_or_else(|e| panic!("BEACON_PG_URL is set but PostgreSQL failed: {e}"));
        engines.push(Engine {
            name: "postgres",
            store,
            _dir: None,
        });
    }
    engines
}

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

/// Runs `test` once per engine, naming the engine in any failure.
pub async fn on_each_engine<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for engine in engines() {
        eprintln!("contract on {}", engine.name);
        test(engine.store.clone()).await;
        engine.store.close().await.expect("close");
    }
}
