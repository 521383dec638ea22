//! `beacon import incidents`: Statuspage history keeps its publication times, is marked
//! imported, is all or nothing and never imported twice.

mod common;

use std::path::Path;
use std::process::Command;

const BEACON: &str = env!("CARGO_BIN_EXE_beacon");
const SAMPLE: &str = include_str!("data/statuspage_incidents.json");
const CONFIG: &str = r#"
[[channel]]
id = "live-chat"
name = "Live chat"

[[channel]]
id = "helpdesk"
name = "Helpdesk portal"
"#;

fn import(dir: &Path, file: &Path, map: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(BEACON);
    command.args(["import", "incidents"]).arg(file);
    for m in map {
        command.args(["--map", m]);
    }
    let out = command
        .arg("--config")
        .arg(dir.join("probes.toml"))
        .arg("--db")
        .arg(dir.join("beacon.db"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn statuspage_history_keeps_its_publication_times() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let file = dir.path().join("incidents.json");
    std::fs::write(&file, SAMPLE).unwrap();

    // "Knowledge base" is no channel's name: refused, nothing imported, the fix suggested.
    let (code, _, stderr) = import(dir.path(), &file, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("incidents[1]: component \"Knowledge base\" matches no channel (use --map \"Knowledge base=CHANNEL_ID\")"), "{stderr}");
    assert!(stderr.contains("nothing imported"));

    let (code, stdout, stderr) = import(dir.path(), &file, &["Knowledge base=helpdesk"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "imported 2 new incidents (0 already present)"
    );
    let (_, stdout, _) = import(dir.path(), &file, &["Knowledge base=helpdesk"]);
    assert_eq!(
        stdout.trim(),
        "imported 0 new incidents (2 already present)"
    );

    let store = beacon::store::Store::open(&dir.path().join("beacon.db")).unwrap();
    let incidents = store.incidents().await.unwrap();
    let audit = store.audit_log(10).await.unwrap();
    store.close().await.unwrap();
    assert_eq!(incidents.len(), 2);
    let chat = incidents
        .iter()
        .find(|i| i.title == "Live chat unavailable")
        .unwrap();
    assert_eq!(chat.origin, "imported");
    assert_eq!(
        chat.published_at.unwrap().to_rfc3339(),
        "2026-10-01T10:02:11.000Z",
        "the first public update's time"
    );
    assert_eq!(
        chat.started_at.unwrap().to_rfc3339(),
        "2026-10-01T09:50:00.000Z"
    );
    let statuses: Vec<&str> = chat.updates.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(statuses, ["investigating", "resolved"], "oldest first");
    assert_eq!(
        chat.updates[0].affected.as_ref().unwrap()["live-chat"],
        beacon::domain::DeclaredStatus::MajorOutage
    );
    assert!(
        chat.updates[1].affected.as_ref().unwrap().is_empty(),
        "operational again"
    );
    let search = incidents
        .iter()
        .find(|i| i.title == "Slow helpdesk search")
        .unwrap();
    assert_eq!(
        search.updates[0].affected.as_ref().unwrap()["helpdesk"],
        beacon::domain::DeclaredStatus::PartialOutage
    );
    assert!(
        audit.iter().any(|a| a.action == "import incidents"),
        "imports are audited"
    );
}

#[test]
fn a_malformed_file_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    for (text, expected) in [
        ("{\"incidents\": [{\"id\": \"a\", \"impact\": \"major\", \"created_at\": \"2026-10-01T00:00:00Z\", \"incident_updates\": []}]}", "incidents[0]: missing name"),
        ("{\"incidents\": [{\"id\": \"a\", \"name\": \"x\", \"impact\": \"huge\"}]}", "incidents[0]: impact \"huge\" is not none, minor, major or critical"),
        ("{\"incidents\": [{\"id\": \"a\", \"name\": \"x\", \"impact\": \"minor\", \"created_at\": \"2026-10-01T00:00:00Z\", \"incident_updates\": [{\"status\": \"investigating\", \"created_at\": \"yesterday\"}]}]}", "incidents[0]: incident_updates[0]: created_at \"yesterday\" is not an RFC 3339 time"),
        ("[1, 2]", "not a Statuspage incidents.json"),
    ] {
        let file = dir.path().join("bad.json");
        std::fs::write(&file, text).unwrap();
        let (code, _, stderr) = import(dir.path(), &file, &[]);
        assert_eq!(code, 2, "{text}");
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
    }
    assert!(
        !dir.path().join("beacon.db").exists(),
        "nothing written for a bad file"
    );
}
