//! The page cache over real HTTP: precompressed variants that decode to the same bytes, a
//! strong ETag per variant with `If-None-Match` (lists, weak tags, `*`, garbage), the
//! headers every cached answer keeps, and a published incident on the page promptly.

mod common;

use common::{api, api_token, fast_config, wait_for, Beacon, Upstream};
use reqwest::header::HeaderMap;
use std::io::Read;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// A client that shows bodies exactly as sent (no transparent decompression).
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_deflate()
        .build()
        .expect("client")
}

async fn fetch(beacon: &Beacon, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = raw_client().get(beacon.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("GET");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        None => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .expect("valid gzip");
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .expect("valid brotli");
        }
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    }
    out
}

/// The three variants of `path` from one render (retried if a render fell between them):
/// (Accept-Encoding sent, headers, decoded body).
async fn variants(beacon: &Beacon, path: &str) -> Vec<(&'static str, HeaderMap, Vec<u8>)> {
    wait_for(WITHIN, "three variants from one render", || async {
        let mut out = Vec::new();
        for accept in ["identity", "gzip", "gzip, deflate, br"] {
            let (status, headers, body) = fetch(beacon, path, &[("accept-encoding", accept)]).await;
            assert_eq!(status, 200, "{path} with {accept}");
            let encoding = headers
                .get("content-encoding")
                .map(|v| v.to_str().expect("ascii").to_owned());
            let decoded = decode(encoding.as_deref(), &body);
            out.push((accept, headers, decoded));
        }
        let same_render = out.windows(2).all(|w| w[0].2 == w[1].2);
        same_render.then_some(out)
    })
    .await
}

#[tokio::test]
async fn every_encoding_decodes_to_the_identity_bytes() {
    let upstream = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &upstream.url())], 1, 1)).await;
    for path in [
        "/",
        "/history",
        "/uptime",
        "/api/v2/summary.json",
        "/history.atom",
    ] {
        let found = variants(&beacon, path).await;
        let encodings: Vec<Option<&str>> = found
            .iter()
            .map(|(_, h, _)| h.get("content-encoding").map(|v| v.to_str().unwrap()))
            .collect();
        assert_eq!(encodings, [None, Some("gzip"), Some("br")], "{path}");
        let etags: Vec<&str> = found.iter().map(|(_, h, _)| header(h, "etag")).collect();
        assert!(
            etags[0].starts_with('"') && etags[0].ends_with('"'),
            "strong: {etags:?}"
        );
        assert!(
            etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2],
            "one ETag per variant: {etags:?}"
        );
        for (accept, headers, _) in &found {
            assert_eq!(
                header(headers, "vary"),
                "accept-encoding",
                "{path} {accept}"
            );
            assert_eq!(header(headers, "x-content-type-options"), "nosniff");
            assert!(header(headers, "content-security-policy").contains("default-src 'none'"));
            assert!(header(headers, "cache-control").starts_with("public, max-age="));
        }
    }
    let (_, headers, _) = fetch(&beacon, "/", &[]).await;
    assert_eq!(header(&headers, "cache-control"), "public, max-age=10");
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert!(
        headers.get("content-encoding").is_none(),
        "no Accept-Encoding: identity"
    );
    let (_, headers, _) = fetch(&beacon, "/", &[("accept-encoding", "br;q=0.5, gzip;q=0.9")]).await;
    assert_eq!(
        header(&headers, "content-encoding"),
        "gzip",
        "q-values respected"
    );
    let (_, headers, _) = fetch(&beacon, "/api/v2/status.json", &[]).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert_eq!(header(&headers, "content-type"), "application/json");
    beacon.stop().await;
}

#[tokio::test]
async fn if_none_match_answers_304_and_ignores_garbage() {
    let upstream = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &upstream.url())], 1, 1)).await;
    // Ask for the page until two fetches agree, so no render falls between the checks.
    let (etag, gzip_etag) = wait_for(WITHIN, "a stable page", || async {
        let (_, plain, _) = fetch(&beacon, "/api/v2/components.json", &[]).await;
        let (_, gzip, _) = fetch(
            &beacon,
            "/api/v2/components.json",
            &[("accept-encoding", "gzip")],
        )
        .await;
        let (etag, gzip_etag) = (
            header(&plain, "etag").to_owned(),
            header(&gzip, "etag").to_owned(),
        );
        let (status, _, _) = fetch(
            &beacon,
            "/api/v2/components.json",
            &[("if-none-match", etag.as_str())],
        )
        .await;
        (status == 304).then_some((etag, gzip_etag))
    })
    .await;
    let path = "/api/v2/components.json";
    let weak = format!("W/{etag}");
    let listed = format!("\"other\", {etag}");
    for (value, accept, expected) in [
        (etag.as_str(), "identity", 304),
        (weak.as_str(), "identity", 304),
        (listed.as_str(), "identity", 304),
        ("*", "identity", 304),
        (gzip_etag.as_str(), "gzip", 304),
        (gzip_etag.as_str(), "identity", 200),
        (etag.as_str(), "gzip", 200),
        ("\"other\"", "identity", 200),
        ("garbage", "identity", 200),
        ("\"unterminated", "identity", 200),
        (&format!("{etag} garbage"), "identity", 200),
    ] {
        let (status, headers, body) = fetch(
            &beacon,
            path,
            &[("if-none-match", value), ("accept-encoding", accept)],
        )
        .await;
        assert_eq!(status, expected, "If-None-Match: {value} with {accept}");
        if status == 304 {
            assert!(body.is_empty());
            assert!(headers.get("etag").is_some(), "a 304 names its ETag");
            assert_eq!(header(&headers, "access-control-allow-origin"), "*");
            assert_eq!(header(&headers, "vary"), "accept-encoding");
            assert!(headers.get("content-type").is_none());
            assert!(
                headers.get("content-length").is_none(),
                "a 304 states no length: {headers:?}"
            );
            assert!(headers.get("transfer-encoding").is_none());
        } else {
            assert!(!body.is_empty());
        }
    }
    beacon.stop().await;
}

#[tokio::test]
async fn a_published_incident_is_on_the_cached_pages_promptly() {
    let upstream = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("chat", &upstream.url())], 1, 1)).await;
    let token = api_token(&beacon, "operator").await;
    let (_, before, _) = fetch(&beacon, "/", &[]).await;
    let (code, draft) = api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(
            serde_json::json!({"title": "Chat answers slowly", "impact": "minor",
            "message": "Looking into it.", "channels": {"chat": "degraded_performance"},
            "publish": false}),
        ),
    )
    .await;
    assert_eq!(code, 201, "{draft}");
    let page = String::from_utf8(fetch(&beacon, "/", &[]).await.2).expect("utf-8");
    assert!(!page.contains("Chat answers slowly"), "a draft is internal");

    let id = draft["id"].as_str().expect("id");
    let (code, _) = api(
        reqwest::Method::POST,
        beacon.url(&format!("/api/v1/incidents/{id}/publish")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 200);
    for path in ["/", "/history", "/api/v2/summary.json", "/history.atom"] {
        beacon
            .wait_for_page(path, &["Chat answers slowly"], Duration::from_secs(2))
            .await;
    }
    let (_, after, _) = fetch(&beacon, "/", &[]).await;
    assert_ne!(header(&before, "etag"), header(&after, "etag"));

    // Hiding it takes it off again.
    let (code, _) = api(
        reqwest::Method::DELETE,
        beacon.url(&format!("/api/v1/incidents/{id}")),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(code, 204);
    wait_for(
        Duration::from_secs(2),
        "hidden incident gone from the page",
        || async {
            let page = String::from_utf8(fetch(&beacon, "/", &[]).await.2).ok()?;
            (!page.contains("Chat answers slowly")).then_some(())
        },
    )
    .await;
    beacon.stop().await;
}

#[tokio::test]
async fn older_history_pages_still_come_from_the_store() {
    let beacon = Beacon::start("[service]\nname = \"Quiet\"\nallow_empty = true\n").await;
    let (status, _, body) = fetch(&beacon, "/history?page=2", &[]).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("Page 2 of 1"));
    let (status, headers, _) = fetch(&beacon, "/history?page=1", &[]).await;
    assert_eq!(status, 200);
    assert!(
        headers.get("etag").is_some(),
        "the first page is the cached one"
    );
    let (status, _, _) = fetch(&beacon, "/history?page=abc", &[]).await;
    assert_eq!(status, 400);
    beacon.stop().await;
}
