//! One `beacon serve` per SQLite file: a second one on the same database is refused at start
//! (exit 1, one line naming the first process), and the file is free again once the first
//! stops.

mod common;

use common::{fast_config, free_listen, wait_for, Upstream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

/// A running `beacon serve`, killed if the test ends before [`Serving::stop`].
struct Serving {
    child: Child,
    listen: String,
}

impl Serving {
    async fn start(config: &Path, db: &Path) -> Serving {
        let listen = free_listen();
        let child = Command::new(BEACON)
            .args(["serve", "--listen", &listen, "--config"])
            .arg(config)
            .arg("--db")
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start beacon serve");
        let serving = Serving { child, listen };
        let url = format!("http://{}/healthz", serving.listen);
        wait_for(Duration::from_secs(10), "beacon serve answers", || async {
            reqwest::get(&url)
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
        serving
    }

    /// SIGTERM, then waits (at most 5 s) for the exit.
    async fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "not stopped within 5 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `serve` that must be refused: its output, or a failure (after killing it) if it is
/// still running after 10 s, as it would be if nothing refused it.
async fn refused_serve(config: &Path, db: &Path) -> Output {
    let mut child = Command::new(BEACON)
        .args(["serve", "--listen", &free_listen(), "--config"])
        .arg(config)
        .arg("--db")
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a second beacon serve");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a second serve on the same database kept running");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
        .wait_with_output()
        .expect("output of the second serve")
}

#[tokio::test]
async fn a_second_serve_on_the_same_database_is_refused_until_the_first_stops() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("probes.toml");
    std::fs::write(&config, fast_config(&[("chat", &upstream.url())], 2, 1)).expect("config");
    let db = dir.path().join("beacon.db");

    let first = Serving::start(&config, &db).await;
    let first_pid = first.child.id();

    let second = refused_serve(&config, &db).await;
    assert_eq!(second.status.code(), Some(1), "refused with exit 1");
    let stderr = String::from_utf8_lossy(&second.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    let expected = format!("error: another Beacon (pid {first_pid}, started ");
    assert!(errors[0].starts_with(&expected), "{stderr}");
    assert!(
        errors[0].ends_with(&format!(
            ") is using {} (lock file {}.lock); stop it or use another --db",
            db.display(),
            db.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The first one was not disturbed by the refused start.
    let health = reqwest::get(format!("http://{}/healthz", first.listen))
        .await
        .expect("first still answers");
    assert!(health.status().is_success());

    assert_eq!(first.stop().await.code(), Some(0));
    let third = Serving::start(&config, &db).await;
    assert_eq!(
        third.stop().await.code(),
        Some(0),
        "the database is free once the first stops"
    );
}
