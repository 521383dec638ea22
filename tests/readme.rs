//! The README's examples work as written: every ```` ```sh ```` block of README.md runs, in
//! order, in one bash session (so `TOKEN=...` carries over) against the real binary serving
//! the shipped `probes.toml`, with `beacon` on the PATH as `cargo install` would put it.
//! Blocks fenced ```` ```shell ```` are shown but not run (they build, start a server or need
//! Docker). The only changes to the text: the server's port replaces 8080, and `curl` fails on
//! an HTTP error (`--fail-with-body`), so an example the server refuses fails the test.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");

/// The ```` ```sh ```` blocks of `markdown`, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == "```sh" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

#[test]
fn the_readme_finds_its_blocks() {
    let blocks = shell_blocks("a\n```sh\necho 1\n```\n```shell\nno\n```\n```sh\necho 2\n```\n");
    assert_eq!(blocks, vec!["echo 1\n".to_owned(), "echo 2\n".to_owned()]);
}

#[tokio::test]
async fn the_readme_examples_work_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = shell_blocks(&readme);
    assert!(blocks.len() >= 4, "the README has its runnable examples");

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/probes.toml"),
        dir.path().join("probes.toml"),
    )
    .unwrap();
    let listen = common::free_listen();
    // As the README says: `beacon serve` in the directory of probes.toml and beacon.db.
    let mut server = Command::new(BEACON)
        .args(["serve", "--listen", &listen])
        .current_dir(dir.path())
        .env_remove("BEACON_CONFIG")
        .env_remove("BEACON_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for(Duration::from_secs(15), "beacon to answer", || {
        let url = format!("http://{listen}/healthz");
        async move { reqwest::get(url).await.ok().filter(|r| r.status() == 200) }
    })
    .await;

    let bin_dir = std::path::Path::new(BEACON).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut script = String::from(
        "set -euo pipefail\ncurl() { command curl --silent --show-error --fail-with-body \"$@\"; echo; }\n",
    );
    for block in &blocks {
        script.push_str(&block.replace("127.0.0.1:8080", &listen));
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("BEACON_CONFIG")
        .env_remove("BEACON_DB")
        .env_remove("BEACON_URL")
        .env_remove("BEACON_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's examples failed:\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // What the examples did is really there: the incident, the met ticket, the account.
    assert!(stdout.contains("Live chat unavailable"), "{stdout}");
    assert!(stdout.contains("\"state\":\"met\""), "{stdout}");
    let db = common::open_db(&dir.path().join("beacon.db"));
    let accounts: i64 = db
        .query_row("SELECT count(*) FROM users WHERE name = 'ada'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(accounts, 1, "the admin account was created");
}
