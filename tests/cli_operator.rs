//! The real `beacon` binary's incident and maintenance commands, on the database directly and
//! against a running Beacon (`--url`, `--token`): same output, same exit codes.

mod common;

use common::{api_token, open_db, Beacon};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");
const CONFIG: &str = r#"
[service]
name = "CLI test"

[[channel]]
id = "chat"
name = "Live chat"
group = "Support channels"
"#;

/// How a command reaches Beacon.
#[derive(Clone, Debug)]
enum Mode {
    Db { db: PathBuf, config: PathBuf },
    Remote { url: String, token: String },
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs `beacon ARGS` in `mode` (the remote one through BEACON_URL and BEACON_TOKEN), off the
/// runtime so the in-process Beacon keeps answering.
async fn beacon(mode: &Mode, args: &[&str]) -> Run {
    let mut command = Command::new(BEACON);
    command.args(args);
    for var in ["BEACON_CONFIG", "BEACON_DB", "BEACON_URL", "BEACON_TOKEN"] {
        command.env_remove(var);
    }
    match mode {
        Mode::Db { db, config } => {
            command.arg("--db").arg(db);
            if matches!(args.get(1), Some(&"create")) {
                command.arg("--config").arg(config);
            }
        }
        Mode::Remote { url, token } => {
            command.env("BEACON_URL", url).env("BEACON_TOKEN", token);
        }
    }
    let out = tokio::task::spawn_blocking(move || command.output().expect("run beacon"))
        .await
        .expect("join");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The same session of commands in one mode; returns the JSON of the incident list and of
/// the maintenance list for comparison across modes.
async fn session(mode: &Mode, db: &Path) -> (Value, Value) {
    let created = beacon(
        mode,
        &[
            "incident",
            "create",
            "--title",
            "Chat <b>down</b>",
            "--impact",
            "major",
            "--channel",
            "chat=major_outage",
            "--message",
            "Chats fail.",
        ],
    )
    .await;
    assert_eq!(created.code, 0, "{mode:?}: {}", created.stderr);
    let line = created.stdout.trim();
    let id = line
        .strip_prefix("incident ")
        .and_then(|rest| rest.split(" published at ").next())
        .unwrap_or_else(|| panic!("{mode:?}: {line}"))
        .to_owned();
    assert!(line.ends_with('Z'), "{line}");

    let updated = beacon(
        mode,
        &[
            "incident",
            "update",
            &id,
            "--status",
            "identified",
            "--json",
        ],
    )
    .await;
    assert_eq!(updated.code, 0, "{mode:?}: {}", updated.stderr);
    let json = updated.json();
    assert_eq!(json["status"], "identified");
    assert_eq!(json["updates"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["updates"][0]["channels"]["chat"], "major_outage");

    let resolved = beacon(mode, &["incident", "resolve", &id]).await;
    assert_eq!(resolved.code, 0, "{}", resolved.stderr);
    assert_eq!(
        resolved.stdout.trim(),
        format!("incident {id} is now resolved")
    );

    let listed = beacon(mode, &["incident", "list"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let fields: Vec<&str> = listed.stdout.trim().split('\t').collect();
    assert_eq!(fields.len(), 4, "{}", listed.stdout);
    assert_eq!(
        (fields[0], fields[1], fields[3]),
        (id.as_str(), "resolved", "Chat <b>down</b>")
    );

    let window = beacon(
        mode,
        &[
            "maintenance",
            "create",
            "--title",
            "Chat upgrade",
            "--channel",
            "chat",
            "--from",
            "2030-01-05T02:00:00Z",
            "--until",
            "2030-01-05T04:00:00.5Z",
            "--no-auto-end",
        ],
    )
    .await;
    assert_eq!(window.code, 0, "{mode:?}: {}", window.stderr);
    let line = window.stdout.trim().to_owned();
    assert!(
        line.ends_with(" scheduled from 2030-01-05T02:00:00.000Z to 2030-01-05T04:00:00.500Z"),
        "{line}"
    );
    let window_id: i64 = line
        .split(' ')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("id");
    let (auto_start, auto_end): (bool, bool) = open_db(db)
        .query_row(
            "SELECT auto_start, auto_end FROM incidents WHERE id = ?1",
            [window_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("window stored");
    assert!(auto_start && !auto_end, "--no-auto-end kept");
    let windows = beacon(mode, &["maintenance", "list"]).await;
    assert_eq!(
        windows.stdout.trim(),
        format!("{window_id}\tscheduled\t2030-01-05T02:00:00.000Z to 2030-01-05T04:00:00.500Z\tChat upgrade")
    );

    // Bad input is exit 2 with the reason, whether the CLI or the server refuses it.
    for args in [
        &[
            "incident",
            "create",
            "--title",
            "x",
            "--channel",
            "nope=major_outage",
        ][..],
        &[
            "incident",
            "create",
            "--title",
            "x",
            "--channel",
            "chat=on_fire",
        ],
        &["incident", "create", "--title", "x", "--channel", "chat"],
        &["incident", "update", &id, "--status", "sleeping"],
        &[
            "maintenance",
            "create",
            "--title",
            "x",
            "--from",
            "yesterday",
            "--until",
            "2030-01-01T00:00:00Z",
        ],
        &[
            "maintenance",
            "create",
            "--title",
            "x",
            "--from",
            "2030-01-02T00:00:00Z",
            "--until",
            "2030-01-01T00:00:00Z",
        ],
        &[
            "maintenance",
            "create",
            "--title",
            "x",
            "--channel",
            "nope",
            "--from",
            "2030-01-01T00:00:00Z",
            "--until",
            "2030-01-02T00:00:00Z",
        ],
    ] {
        let refused = beacon(mode, args).await;
        assert_eq!(
            refused.code, 2,
            "{mode:?} {args:?}: {}{}",
            refused.stdout, refused.stderr
        );
        assert!(refused.stderr.starts_with("error: "), "{}", refused.stderr);
    }
    let missing = beacon(mode, &["incident", "resolve", "999"]).await;
    assert_eq!(missing.code, 1, "{mode:?}: {}", missing.stderr);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);

    let incidents = beacon(mode, &["incident", "list", "--json"]).await.json();
    let maintenances = beacon(mode, &["maintenance", "list", "--json"])
        .await
        .json();
    (incidents, maintenances)
}

/// The JSON with ids and times blanked, to compare the two modes.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let blank = k == "id" || k.ends_with("_at");
                    (
                        k.clone(),
                        if blank && !v.is_null() {
                            Value::from("*")
                        } else {
                            shape(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn incident_and_maintenance_commands_give_the_same_answers_on_the_database_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let local_db = dir.path().join("local.db");
    let local = Mode::Db {
        db: local_db.clone(),
        config,
    };
    let on_database = session(&local, &local_db).await;

    let server = Beacon::start(CONFIG).await;
    let token = api_token(&server, "operator").await;
    let remote = Mode::Remote {
        url: server.url(""),
        token: token.clone(),
    };
    let through_api = session(&remote, &server.db).await;
    assert_eq!(shape(&on_database.0), shape(&through_api.0));
    assert_eq!(shape(&on_database.1), shape(&through_api.1));

    // The server's audit log names the token; the file's names the CLI user.
    let actor_of = |db: &Path| -> String {
        open_db(db)
            .query_row("SELECT actor FROM audit_log WHERE action = 'create and publish' ORDER BY id LIMIT 1", [], |r| r.get(0))
            .unwrap()
    };
    assert!(actor_of(&server.db).starts_with("token:operator-"));
    assert!(actor_of(&local_db).starts_with("cli:"));

    // A wrong token: exit 1 with the server's message; --url without a token: exit 2.
    let wrong = Mode::Remote {
        url: server.url(""),
        token: "not-a-token".into(),
    };
    for args in [
        &["incident", "list"][..],
        &[
            "maintenance",
            "create",
            "--title",
            "x",
            "--from",
            "2030-01-01T00:00:00Z",
            "--until",
            "2030-01-02T00:00:00Z",
        ],
    ] {
        let refused = beacon(&wrong, args).await;
        assert_eq!(refused.code, 1, "{}", refused.stderr);
        assert_eq!(
            refused.stderr.trim(),
            "error: invalid or revoked token [HTTP 401]"
        );
        assert!(refused.stdout.is_empty());
    }
    let no_token = Command::new(BEACON)
        .args(["incident", "list", "--url", &server.url("")])
        .env_remove("BEACON_TOKEN")
        .output()
        .unwrap();
    assert_eq!(no_token.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("--url needs --token"));
    // Nothing listens there: a runtime failure, exit 1.
    let gone = Mode::Remote {
        url: "http://127.0.0.1:9".into(),
        token,
    };
    assert_eq!(beacon(&gone, &["incident", "list"]).await.code, 1);
    server.stop().await;
}
