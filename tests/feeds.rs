//! Feeds and badges: `/history.atom` and `/history.rss` list exactly the public updates,
//! newest first, as well-formed XML that keeps hostile text as text; SVG badges follow a
//! channel's state and uptime and escape channel names.

mod common;

use common::{Beacon, Mode, Upstream};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Everything an attacker with an operator token (or a pasted message) might try.
const HOSTILE: &str = "<script>alert(1)</script> ]]> & \"quotes\" \u{202E}";

const CONFIG: &str = r#"
[service]
name = "Feed test & co"

[[channel]]
id = "chat"
name = "Live chat"
group = "Support channels"
"#;

/// Creates an API token on the running Beacon's database.
async fn send(
    beacon: &Beacon,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut request = reqwest::Client::new()
        .request(method.clone(), beacon.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.expect("send");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// GET `path`: status, headers and body.
async fn get(beacon: &Beacon, path: &str) -> (u16, HashMap<String, String>, String) {
    let response = reqwest::get(beacon.url(path)).await.expect("GET");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    (status, headers, response.text().await.expect("body"))
}

/// A parsed XML element: name, attributes, decoded text, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attributes: HashMap<String, String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> &Node {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:?}", self.name))
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Parses `xml` with a real parser, failing the test on anything not well-formed.
fn parse(xml: &str) -> Node {
    fn start(e: &quick_xml::events::BytesStart<'_>) -> Node {
        let attributes = e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .expect("attribute value")
                        .into_owned(),
                )
            })
            .collect();
        Node {
            name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
            attributes,
            ..Node::default()
        }
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack = vec![Node::default()];
    loop {
        let event = reader.read_event().unwrap_or_else(|e| {
            panic!(
                "not well-formed at {}: {e}\n{xml}",
                reader.buffer_position()
            )
        });
        let top = stack.last_mut().expect("open element");
        match event {
            Event::Start(e) => {
                let node = start(&e);
                stack.push(node);
            }
            Event::Empty(e) => top.children.push(start(&e)),
            Event::End(_) => {
                let done = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(done);
            }
            Event::Text(t) => top.text.push_str(&t.decode().expect("UTF-8 text")),
            Event::CData(c) => top.text.push_str(&String::from_utf8_lossy(&c)),
            Event::GeneralRef(r) => match r.resolve_char_ref().expect("valid reference") {
                Some(c) => top.text.push(c),
                None => {
                    let name = r.decode().expect("entity name");
                    let value = quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("undeclared entity &{name};"));
                    top.text.push_str(value);
                }
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut document = stack.pop().expect("document");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.remove(0)
}

/// The raw text must hold no live markup and no bidi control a reader of the source could
/// be fooled by.
fn assert_escaped(raw: &str) {
    assert!(!raw.contains("<script"), "{raw}");
    assert!(!raw.contains("]]>"), "{raw}");
    assert!(!raw.contains('\u{202E}'), "{raw}");
}

#[tokio::test]
async fn feeds_list_public_updates_newest_first_and_escape_hostile_text() {
    let beacon = Beacon::start(CONFIG).await;
    let token = common::api_token(&beacon, "operator").await;
    let post = reqwest::Method::POST;

    let hostile = send(
        &beacon,
        post.clone(),
        "/api/v1/incidents",
        &token,
        Some(json!({"title": HOSTILE, "impact": "minor", "message": format!("first: {HOSTILE}"), "channels": {"chat": "partial_outage"}})),
    )
    .await;
    let hostile_id = hostile["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(5)).await;
    send(
        &beacon,
        post.clone(),
        &format!("/api/v1/incidents/{hostile_id}/updates"),
        &token,
        Some(json!({"status": "identified", "message": "found ]]> it & fixed <b>it</b>"})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    send(
        &beacon,
        post.clone(),
        "/api/v1/maintenances",
        &token,
        Some(json!({"title": "Chat upgrade", "message": "new version", "scheduled_for": "2030-01-01T00:00:00Z", "scheduled_until": "2030-01-01T01:00:00Z", "channels": ["chat"]})),
    )
    .await;
    // Neither a draft nor a hidden incident may reach a feed.
    send(
        &beacon,
        post.clone(),
        "/api/v1/incidents",
        &token,
        Some(json!({"title": "Secret draft", "impact": "minor", "publish": false})),
    )
    .await;
    let hidden = send(
        &beacon,
        post.clone(),
        "/api/v1/incidents",
        &token,
        Some(json!({"title": "Hidden one", "impact": "minor"})),
    )
    .await;
    let hidden_id = hidden["id"].as_str().expect("id").to_owned();
    send(
        &beacon,
        reqwest::Method::DELETE,
        &format!("/api/v1/incidents/{hidden_id}"),
        &token,
        None,
    )
    .await;

    let expected_titles = [
        "Chat upgrade: Scheduled".to_owned(),
        format!("{HOSTILE}: Identified"),
        format!("{HOSTILE}: Investigating"),
    ];
    let expected_contents = [
        "new version".to_owned(),
        "found ]]> it & fixed <b>it</b>".to_owned(),
        format!("first: {HOSTILE}"),
    ];

    // Atom.
    let (code, headers, raw) = get(&beacon, "/history.atom").await;
    assert_eq!(code, 200, "{raw}");
    assert_eq!(
        headers["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(headers["cache-control"], "public, max-age=60");
    assert_escaped(&raw);
    let feed = parse(&raw);
    assert_eq!(feed.name, "feed");
    assert_eq!(feed.attributes["xmlns"], "http://www.w3.org/2005/Atom");
    assert_eq!(feed.child("title").text, "Feed test & co: incident history");
    let entries: Vec<&Node> = feed.all("entry").collect();
    let titles: Vec<&str> = entries
        .iter()
        .map(|e| e.child("title").text.as_str())
        .collect();
    assert_eq!(titles, expected_titles);
    let contents: Vec<&str> = entries
        .iter()
        .map(|e| e.child("content").text.as_str())
        .collect();
    assert_eq!(contents, expected_contents);
    let atom_ids: Vec<String> = entries.iter().map(|e| e.child("id").text.clone()).collect();
    for id in &atom_ids {
        assert!(id.starts_with("tag:beacon,2026:incident-"), "{id}");
    }
    assert!(atom_ids[1].starts_with(&format!("tag:beacon,2026:incident-{hostile_id}-update-")));
    let updated: Vec<beacon::domain::Timestamp> = entries
        .iter()
        .map(|e| beacon::domain::Timestamp::parse(&e.child("updated").text).expect("RFC 3339"))
        .collect();
    assert!(
        updated.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {updated:?}"
    );
    assert_eq!(feed.child("updated").text, entries[0].child("updated").text);

    // The same entries, with the same ids, in RSS.
    let (code, headers, raw) = get(&beacon, "/history.rss").await;
    assert_eq!(code, 200, "{raw}");
    assert_eq!(
        headers["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    assert_eq!(headers["cache-control"], "public, max-age=60");
    assert_escaped(&raw);
    let rss = parse(&raw);
    assert_eq!(rss.name, "rss");
    assert_eq!(rss.attributes["version"], "2.0");
    let channel = rss.child("channel");
    let items: Vec<&Node> = channel.all("item").collect();
    let titles: Vec<&str> = items
        .iter()
        .map(|i| i.child("title").text.as_str())
        .collect();
    assert_eq!(titles, expected_titles);
    let descriptions: Vec<&str> = items
        .iter()
        .map(|i| i.child("description").text.as_str())
        .collect();
    assert_eq!(descriptions, expected_contents);
    let guids: Vec<String> = items.iter().map(|i| i.child("guid").text.clone()).collect();
    assert_eq!(guids, atom_ids);
    for (item, atom_time) in items.iter().zip(&updated) {
        let date = time::OffsetDateTime::parse(
            &item.child("pubDate").text,
            &time::format_description::well_known::Rfc2822,
        )
        .expect("RFC 2822 pubDate");
        // RFC 2822 has whole seconds.
        assert_eq!(date.unix_timestamp(), atom_time.millis().div_euclid(1000));
    }
    beacon.stop().await;
}

#[tokio::test]
async fn feeds_of_a_quiet_page_are_valid_and_empty() {
    let beacon = Beacon::start(CONFIG).await;
    for path in ["/history.atom", "/history.rss"] {
        let (code, _, raw) = get(&beacon, path).await;
        assert_eq!(code, 200);
        let root = parse(&raw);
        assert!(root.all("entry").next().is_none(), "{raw}");
    }
    beacon.stop().await;
}

/// The SVG's accessible title, its message (the last text) and the raw document.
async fn badge(beacon: &Beacon, path: &str) -> (String, String, String) {
    let (code, headers, raw) = get(beacon, path).await;
    assert_eq!(code, 200, "{path}: {raw}");
    assert_eq!(headers["content-type"], "image/svg+xml; charset=utf-8");
    assert_eq!(headers["cache-control"], "public, max-age=60");
    let svg = parse(&raw);
    assert_eq!(svg.name, "svg");
    assert_eq!(svg.attributes["role"], "img");
    let title = svg.child("title").text.clone();
    assert_eq!(svg.attributes["aria-label"], title);
    let texts: Vec<&Node> = svg.child("g").all("text").collect();
    assert_eq!(texts.len(), 2, "{raw}");
    (title, texts[1].text.clone(), raw)
}

#[tokio::test]
async fn badges_follow_state_and_uptime_and_escape_names() {
    let upstream = Upstream::start().await;
    let config = format!(
        r#"[service]
name = "Badge test"
allow_fast_probes = true

[[channel]]
id = "chat"
name = "<b>Chat</b> & \"co\" \u202E"
group = "Support channels"

[[channel.probe]]
name = "health"
url = "{}"
every = "100ms"
timeout = "80ms"
failure_threshold = 1
success_threshold = 1
"#,
        upstream.url()
    );
    let beacon = Beacon::start(&config).await;
    let name = "<b>Chat</b> & \"co\" \u{202E}";
    beacon
        .wait_for_state("chat", "up", Duration::from_secs(5))
        .await;

    let (title, message, raw) = badge(&beacon, "/badge/chat/status.svg").await;
    assert_eq!(message, "Operational");
    assert_eq!(title, format!("{name}: Operational"));
    assert!(!raw.contains("<b>") && !raw.contains('\u{202E}'), "{raw}");
    common::wait_for(
        Duration::from_secs(5),
        "overall badge operational",
        || async {
            let (_, overall, _) = badge(&beacon, "/badge/status.svg").await;
            (overall == "All Systems Operational").then_some(())
        },
    )
    .await;

    tokio::time::sleep(Duration::from_millis(300)).await;
    for window in ["24h", "7d", "30d", "90d"] {
        let (title, message, _) = badge(&beacon, &format!("/badge/chat/uptime/{window}.svg")).await;
        assert_eq!(title, format!("{name} uptime {window}: {message}"));
        assert_eq!(message, "100%", "{window}");
    }

    upstream.set(Mode::Down);
    beacon
        .wait_for_state("chat", "down", Duration::from_secs(5))
        .await;
    let (_, message, _) = badge(&beacon, "/badge/chat/status.svg").await;
    assert_eq!(message, "Major outage");
    // The overall badge is served from the page cache, which renders a state change a
    // moment after the live view has it: poll.
    common::wait_for(
        Duration::from_secs(5),
        "overall badge not operational",
        || async {
            let (_, overall, _) = badge(&beacon, "/badge/status.svg").await;
            (overall != "All Systems Operational").then_some(())
        },
    )
    .await;
    // Stored transitions trail the live state by the writer's batching: poll.
    let percent = common::wait_for(Duration::from_secs(5), "uptime below 100%", || async {
        let (_, message, _) = badge(&beacon, "/badge/chat/uptime/24h.svg").await;
        (message != "100%").then_some(message)
    })
    .await;
    let number = percent.strip_suffix('%').expect("a percentage");
    let value: f64 = number.parse().expect("a number");
    assert!((0.0..100.0).contains(&value), "{percent}");
    assert_eq!(number.split('.').nth(1).map(str::len), Some(2), "{percent}");

    for path in [
        "/badge/nope/status.svg",
        "/badge/nope/uptime/24h.svg",
        "/badge/chat/uptime/1y.svg",
        "/badge/chat/uptime/24h",
        "/badge/chat/uptime/24h.png",
    ] {
        let (code, _, body) = get(&beacon, path).await;
        assert_eq!(code, 404, "{path}: {body}");
    }
    beacon.stop().await;
}

/// The feeds as the most used feed library reads them: no bozo bit, the right version.
#[cfg(external_tests)]
#[tokio::test]
async fn feedparser_accepts_both_feeds() {
    let beacon = Beacon::start(CONFIG).await;
    let token = common::api_token(&beacon, "operator").await;
    send(
        &beacon,
        reqwest::Method::POST,
        "/api/v1/incidents",
        &token,
        Some(json!({"title": HOSTILE, "impact": "minor", "message": HOSTILE})),
    )
    .await;
    for (path, version) in [("/history.atom", "atom10"), ("/history.rss", "rss20")] {
        // The test fetches the feed and pipes it in, so a proxy setting in the CI
        // environment cannot stand between feedparser and 127.0.0.1.
        let (code, _, raw) = get(&beacon, path).await;
        assert_eq!(code, 200, "{raw}");
        let check = format!(
            "import feedparser,sys; d=feedparser.parse(sys.stdin.buffer.read()); \
             print(d.version, d.get('bozo_exception', ''), len(d.entries)); \
             sys.exit(1 if d.bozo or d.version!='{version}' or len(d.entries)!=1 else 0)"
        );
        // Blocking: the test runtime has one thread, which the server needs meanwhile.
        let output = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new("python3")
                .args(["-c", &check])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(raw.as_bytes())?;
            }
            child.wait_with_output()
        })
        .await
        .expect("join")
        .expect("python3 from the CI venv on PATH");
        assert!(
            output.status.success(),
            "feedparser rejected {path}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    beacon.stop().await;
}
