//! The OpenAPI document at `/api/v1/openapi.json` against the real router: what it documents
//! is served, what it does not is refused, and (with `BEACON_EXTERNAL_TESTS`) schemathesis
//! finds no server error or schema mismatch.

mod common;

use common::{api, api_token, fast_config, Beacon, Upstream};
use reqwest::Method;
use serde_json::{json, Value};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(beacon: &Beacon) -> Value {
    let response = reqwest::get(beacon.url("/api/v1/openapi.json"))
        .await
        .expect("GET openapi.json");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("openapi JSON")
}

/// `(path, method)` of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                out.push((path.clone(), method.to_owned()));
            }
        }
    }
    out
}

/// A concrete URL path for a templated one (`{id}` becomes `x-0`).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x-0"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_describes_api_v1_with_errors_and_the_bearer_scheme() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("web-form", &up.url())], 2, 1)).await;
    let doc = document(&beacon).await;

    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Beacon API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["servers"][0]["url"], "/", "servers are relative");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["type"],
        "http"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]), "{error}");
    assert!(error["properties"]["field"].is_object());

    let ops = operations(&doc);
    assert!(
        ops.iter().all(|(path, _)| path.starts_with("/api/v1/")),
        "{ops:?}"
    );
    let public = [
        "/api/v1/status",
        "/api/v1/openapi.json",
        "/api/v1/push/{token}",
        "/api/v1/channels/{id}/sla",
    ];
    for (path, method) in &ops {
        let op = &doc["paths"][path][method];
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|code| code.starts_with('2')),
            "{method} {path}: no success"
        );
        if public.contains(&path.as_str()) {
            assert!(op.get("security").is_none(), "{method} {path} is public");
        } else {
            assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
            for code in ["401", "403"] {
                assert_eq!(
                    responses[code]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {code}"
                );
            }
        }
        if op.get("requestBody").is_some() {
            for code in ["400", "422"] {
                assert!(
                    responses.contains_key(code),
                    "{method} {path} with a body lacks {code}"
                );
            }
        }
        if path.contains('{') && path != "/api/v1/push/{token}" {
            assert!(responses.contains_key("404"), "{method} {path} lacks 404");
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for target in all {
        let name = target.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {target}"
        );
    }
}

/// From the document to the router: every documented route and method reaches a handler
/// (neither the fallback's 404 nor a 405), even with nonsense ids and an empty body.
#[tokio::test]
async fn every_documented_route_and_method_is_served() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("web-form", &up.url())], 2, 1)).await;
    let token = api_token(&beacon, "operator").await;
    let ops = operations(&document(&beacon).await);
    assert!(ops.len() >= 18, "{ops:?}");
    for (path, method) in ops {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let body = (method == Method::POST).then(|| json!({}));
        let (status, answer) = api(
            method.clone(),
            beacon.url(&concrete(&path)),
            Some(&token),
            body,
        )
        .await;
        assert_ne!(status, 405, "{method} {path}: {answer}");
        let fallback = status == 404
            && answer["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("no such endpoint"));
        assert!(
            !fallback,
            "{method} {path} is documented but not served: {answer}"
        );
    }
}

/// From the router back to the document: a method the document does not list on an
/// `/api/v1` route is refused with 405 and the documented `Allow`. (A route it does not list
/// at all is refused by the same route layer; see `web::openapi` unit tests.)
#[tokio::test]
async fn undocumented_methods_on_api_routes_are_refused_with_the_documented_allow() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("web-form", &up.url())], 2, 1)).await;
    let token = api_token(&beacon, "operator").await;
    let doc = document(&beacon).await;
    let client = reqwest::Client::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let documented: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| item.get(*m).is_some())
            .collect();
        for method in METHODS.into_iter().filter(|m| !documented.contains(m)) {
            let response = client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                    beacon.url(&concrete(path)),
                )
                .bearer_auth(&token)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 405, "{method} {path}");
            let allow = response.headers()["allow"]
                .to_str()
                .expect("allow")
                .to_lowercase();
            let mut allowed: Vec<&str> = allow
                .split(',')
                .map(str::trim)
                .filter(|m| *m != "head")
                .collect();
            allowed.sort_unstable();
            let mut expected = documented.clone();
            expected.sort_unstable();
            assert_eq!(allowed, expected, "Allow on {path}");
        }
    }
}

/// schemathesis (from the CI venv) generates requests from the document, valid and invalid,
/// with an operator token, and runs all its checks: no 5xx, status codes, content types,
/// headers and bodies as documented, invalid input refused, valid input accepted, 405 with
/// `Allow` for undeclared methods. Bounded by examples per operation and a time budget.
#[cfg(external_tests)]
#[tokio::test]
async fn schemathesis_finds_no_server_error_or_mismatch_with_the_document() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(
        &[("web-form", &up.url()), ("live-chat", &up.url())],
        2,
        1,
    ))
    .await;
    let token = api_token(&beacon, "operator").await;
    let url = beacon.url("/api/v1/openapi.json");
    let report = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis");
    let report_dir = report.display().to_string();
    // Blocking: the test runtime has one thread, which the server needs meanwhile.
    let output = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new("st");
        // schemathesis keeps replay files under its working directory: keep them in target/.
        std::fs::create_dir_all(&report_dir)?;
        command
            .current_dir(&report_dir)
            .args([
                "--config-file",
                concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/schemathesis.toml"),
            ])
            .args([
                "run",
                &url,
                "--checks",
                "all",
                "--max-examples",
                "25",
                "--seed",
                "1",
            ])
            .args([
                "--max-time",
                "45",
                "--workers",
                "1",
                "--request-timeout",
                "10",
            ])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--report", "junit", "--report-dir", &report_dir])
            .args(["--output-truncate", "false"]);
        // A proxy from the environment must not stand between schemathesis and 127.0.0.1.
        for var in [
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
        ] {
            command.env_remove(var);
        }
        command.output()
    })
    .await
    .expect("join")
    .expect("st (schemathesis) from the CI venv on PATH");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
}
