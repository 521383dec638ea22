//! The real `beacon` binary: exit codes, messages, signals, backups.

mod common;

use common::{fast_config, open_db, Upstream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

fn beacon(args: &[&str]) -> Output {
    Command::new(BEACON)
        .args(args)
        .env_remove("BEACON_CONFIG")
        .env_remove("BEACON_DB")
        .env_remove("BEACON_LISTEN")
        .output()
        .expect("run beacon")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_accepts_the_shipped_config_with_a_line_per_channel() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/probes.toml");
    let out = beacon(&["check", "--config", shipped]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let config = beacon::config::load(Path::new(shipped)).unwrap();
    for channel in &config.channels {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{} \"", channel.id))),
            "no line for {}:\n{stdout}",
            channel.id
        );
    }
    assert!(stdout.contains("declared only (no probes)"));
}

#[test]
fn check_refuses_a_bad_config_with_exit_2_and_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    std::fs::write(
        &path,
        "[service]\nname = \"S\"\n\n[[channel]]\nid = \"a\"\nname = \"A\"\nbogus_key = 1\n",
    )
    .unwrap();
    let out = beacon(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        format!(
            "error: {}:7:1: unknown key \"bogus_key\" in [[channel]] (expected one of: id, name, group, in_commitment, probe)",
            path.display()
        )
    );
    // serve refuses the same file the same way, before opening anything.
    let db = dir.path().join("never.db");
    let out = beacon(&[
        "serve",
        "--config",
        path.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!db.exists(), "no database created for a bad config");
}

#[test]
fn check_and_serve_refuse_a_config_without_channels_unless_it_allows_that() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    let db = dir.path().join("never.db");
    let serve = |path: &Path| {
        beacon(&[
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
    };
    for content in ["", "[service]\nname = \"S\"\n"] {
        std::fs::write(&path, content).unwrap();
        let out = beacon(&["check", "--config", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{content:?}");
        assert_eq!(
            text(&out.stderr).trim(),
            format!(
                "error: {}:1:1: no channels: add a [[channel]] table with an id and a name, or set allow_empty = true in [service] to run without any",
                path.display()
            )
        );
        assert_eq!(serve(&path).status.code(), Some(2));
        assert!(!db.exists(), "serve refused before opening anything");
    }
    std::fs::write(&path, "[service]\nallow_empty = true\n").unwrap();
    let out = beacon(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_missing_config_file_is_exit_2_with_its_path() {
    let out = beacon(&["check", "--config", "/nonexistent/probes.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/probes.toml: cannot read"));
}

#[test]
fn version_prints_the_crate_version() {
    let out = beacon(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("beacon {}", env!("CARGO_PKG_VERSION"))
    );
}

fn minimal_config(dir: &Path) -> String {
    let path = dir.join("probes.toml");
    std::fs::write(&path, "[[channel]]\nid = \"product\"\nname = \"Product\"\n").unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_port_in_use_is_a_one_line_error_and_exit_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let db = dir.path().join("b.db");
    let out = beacon(&[
        "serve",
        "--config",
        &config,
        "--db",
        db.to_str().unwrap(),
        "--listen",
        &addr,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(error_lines.len(), 1, "{stderr}");
    assert!(
        error_lines[0].contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn an_unwritable_database_path_is_a_one_line_error_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let out = beacon(&[
        "serve",
        "--config",
        &config,
        "--db",
        "/nonexistent/dir/b.db",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: database /nonexistent/dir/b.db: cannot open its lock file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_database_from_a_newer_beacon_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let db = dir.path().join("future.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let out = beacon(&[
        "serve",
        "--config",
        &config,
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    // One schema version per migration file.
    let supported = std::fs::read_dir("src/store/sqlite/migrations")
        .unwrap()
        .count();
    assert!(
        stderr.contains(&format!(
            "has schema version 999, newer than this Beacon supports ({supported})"
        )),
        "{stderr}"
    );
}

/// The whole life of a real process: serve, answer health checks, back up while running,
/// stop on SIGTERM within 5 s, leave a consistent database.
#[tokio::test]
async fn serve_backs_up_while_running_and_stops_cleanly_on_sigterm() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(&config, fast_config(&[("chat", &upstream.url())], 2, 1)).unwrap();
    let db = dir.path().join("beacon.db");
    let listen = common::free_listen();
    let mut child = Command::new(BEACON)
        .args(["--log-format", "json", "serve"])
        .env("BEACON_CONFIG", &config)
        .env("BEACON_DB", &db)
        .env("BEACON_LISTEN", &listen)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let status_url = format!("http://{listen}/api/v1/status");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = reqwest::get(&status_url).await {
            let body: serde_json::Value = r.json().await.unwrap();
            if body["channels"][0]["state"] == "up" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "beacon never reported the channel up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let health = Command::new(BEACON)
        .args(["healthcheck", "--listen", &listen])
        .output()
        .unwrap();
    assert_eq!(health.status.code(), Some(0), "{}", text(&health.stderr));

    let backup = dir.path().join("copy.db");
    let out = Command::new(BEACON)
        .args([
            "backup",
            backup.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let copied: i64 = open_db(&backup)
        .query_row("SELECT count(*) FROM observations", [], |r| r.get(0))
        .unwrap();
    assert!(copied > 0, "the backup holds the observations so far");
    let again = Command::new(BEACON)
        .args([
            "backup",
            backup.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "never overwrites a file");

    let pid = child.id().to_string();
    let stopped_at = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(5),
            "not stopped within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    for line in stderr.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(entry["level"].is_string(), "{line}");
    }
    assert!(stderr.contains("stopped cleanly"), "{stderr}");

    let conn = open_db(&db);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (observations, transitions): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM channel_transitions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(observations >= copied && transitions >= 1);
    let wal = dir.path().join("beacon.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL checkpointed into the database on shutdown"
    );
}

/// The shipped configuration's self-probe (`self:/healthz`) follows `--listen`: on any port the
/// "Status page" channel turns up, instead of a false outage of 127.0.0.1:8080.
#[tokio::test]
async fn the_shipped_self_probe_follows_listen() {
    let dir = tempfile::tempdir().unwrap();
    let listen = common::free_listen();
    let mut child = Command::new(BEACON)
        .args(["serve", "--listen", &listen])
        .env(
            "BEACON_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/probes.toml"),
        )
        .env("BEACON_DB", dir.path().join("beacon.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_url = format!("http://{listen}/api/v1/status");
    let state = common::wait_for(Duration::from_secs(20), "the self-probe to run", || {
        let url = status_url.clone();
        async move {
            let body: serde_json::Value = reqwest::get(url).await.ok()?.json().await.ok()?;
            let channel = body["channels"]
                .as_array()?
                .iter()
                .find(|c| c["id"] == "status-page")?
                .clone();
            (channel["state"] != "unknown").then_some(channel)
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(state["state"], "up", "{state}");
}

#[test]
fn init_writes_a_starter_config_that_checks_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    let path_text = path.to_str().unwrap();
    let out = beacon(&["init", "--config", path_text]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        written.contains("[[channel]]") && written.contains("# "),
        "commented"
    );
    let checked = beacon(&["check", "--config", path_text]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stderr));

    std::fs::write(&path, "# mine\n").unwrap();
    let again = beacon(&["init", "--config", path_text]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# mine\n",
        "not overwritten"
    );
}
