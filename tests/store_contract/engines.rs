//! The engines every contract test runs on: SQLite always, PostgreSQL when `BEACON_PG_URL`
//! names a server (set by `.ci/run`, which starts one). With `BEACON_PG_URL` set, a server
//! that cannot be reached fails the tests; it is never skipped.

pub use crate::postgres::fresh_postgres;
use beacon::store::Store;

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
