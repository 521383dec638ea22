//! The real binary with `--db postgres://...`: bad URLs, unreachable servers, refused roles
//! and newer schemas are one line and an exit code, never a panic; `beacon store copy` moves
//! a history and refuses a full target. The cases that need a server run when
//! `BEACON_PG_URL` is set (`.ci/run` starts one); the others always.

mod common;

use beacon::store::Database;
use std::process::{Command, Output};

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

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn config(dir: &std::path::Path) -> String {
    let path = dir.join("probes.toml");
    std::fs::write(&path, "[[channel]]\nid = \"product\"\nname = \"Product\"\n").expect("write");
    path.to_str().expect("utf-8").to_owned()
}

/// `beacon serve` on `db` with the configuration `config`, as far as it gets.
fn serve(config: &str, db: &str) -> Output {
    beacon(&[
        "serve",
        "--config",
        config,
        "--db",
        db,
        "--listen",
        "127.0.0.1:0",
    ])
}

/// One line on stderr, starting `error:`, and no panic.
fn one_line_error(out: &Output, code: i32, needle: &str) {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("error:"), "{text}");
    assert!(text.contains(needle), "{needle:?} in {text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn a_malformed_url_is_exit_2_and_an_unreachable_server_exit_1() {
    let dir = tempfile::tempdir().expect("dir");
    let config = config(dir.path());
    let serve = |db: &str| serve(&config, db);
    let out = serve("postgres://beacon@127.0.0.1:notaport/beacon");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("malformed PostgreSQL URL"),
        "{}",
        stderr(&out)
    );
    let out = serve("postgres://beacon:s3cret@127.0.0.1:1/beacon");
    one_line_error(&out, 1, "127.0.0.1:1");
    assert!(
        !stderr(&out).contains("s3cret"),
        "no password in {}",
        stderr(&out)
    );
}

#[test]
fn a_refused_role_and_a_newer_schema_are_one_line_and_exit_1() {
    let Some(Database::Postgres(url)) = common::postgres::fresh_postgres() else {
        return; // needs a server: BEACON_PG_URL
    };
    let dir = tempfile::tempdir().expect("dir");
    let config = config(dir.path());
    let serve = |db: &str| serve(&config, db);

    let stranger = url.replacen("://beacon@", "://no_such_role@", 1);
    one_line_error(&serve(&stranger), 1, "no_such_role");

    // A schema a newer Beacon wrote.
    common::postgres::execute(
        &url,
        "CREATE TABLE beacon_schema (version BIGINT NOT NULL); INSERT INTO beacon_schema VALUES (999)",
    );
    one_line_error(
        &serve(&url),
        1,
        "has schema version 999, newer than this Beacon supports",
    );
}

#[test]
fn store_copy_moves_a_history_and_refuses_a_full_target() {
    let dir = tempfile::tempdir().expect("dir");
    let source = dir.path().join("source.db");
    let source = source.to_str().expect("utf-8");
    let out = beacon(&[
        "token", "create", "--name", "ci", "--role", "operator", "--db", source,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let file_target = dir.path().join("copy.db");
    let mut targets = vec![file_target.to_str().expect("utf-8").to_owned()];
    if let Some(Database::Postgres(url)) = common::postgres::fresh_postgres() {
        targets.push(url);
    }
    for target in targets {
        let out = beacon(&["store", "copy", "--from", source, "--to", &target]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let tokens = stdout
            .lines()
            .find(|l| l.starts_with("api_tokens"))
            .expect("a count for api_tokens");
        assert!(
            tokens.split_whitespace().collect::<Vec<_>>() == ["api_tokens", "1", "of", "1"],
            "{tokens}"
        );
        assert!(stdout.contains("audit_log"), "{stdout}");

        let again = beacon(&["store", "copy", "--from", source, "--to", &target]);
        one_line_error(&again, 1, "is not empty (table audit_log has rows)");
        let appended = beacon(&[
            "store", "copy", "--from", source, "--to", &target, "--append",
        ]);
        assert_eq!(appended.status.code(), Some(0), "{}", stderr(&appended));

        // The copied token lists from the target as from the source.
        let list = |db: &str| {
            let out = beacon(&["token", "list", "--db", db]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(list(&target), list(source));
    }
}
