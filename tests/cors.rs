//! CORS as a browser exercises it: the preflight a cross-origin `fetch` with a JSON content
//! type and `If-None-Match` sends, the headers of the answers it may read, and none of it on
//! the operator API.

mod common;

use common::{fast_config, Beacon, Upstream};
use reqwest::header::HeaderMap;
use reqwest::Method;

const ORIGIN: &str = "https://widget.example";

/// A browser's preflight for a GET with `Content-Type: application/json` and `If-None-Match`.
async fn preflight(beacon: &Beacon, path: &str, method: &str) -> (u16, HeaderMap, String) {
    let response = reqwest::Client::new()
        .request(Method::OPTIONS, beacon.url(path))
        .header("origin", ORIGIN)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,if-none-match",
        )
        .send()
        .await
        .expect("preflight");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

fn listed(headers: &HeaderMap, name: &str) -> Vec<String> {
    header(headers, name)
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .collect()
}

#[tokio::test]
async fn public_json_answers_preflights_and_exposes_its_etag() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("web-form", &up.url())], 1, 1)).await;
    for path in [
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v1/status",
        "/api/v1/openapi.json",
    ] {
        let (status, headers, body) = preflight(&beacon, path, "GET").await;
        assert_eq!(status, 204, "{path}");
        assert!(body.is_empty(), "{path}");
        assert!(
            headers.get("content-length").is_none(),
            "a 204 states no length: {path}"
        );
        assert_eq!(header(&headers, "access-control-allow-origin"), "*");
        let methods = listed(&headers, "access-control-allow-methods");
        for m in ["get", "head", "options"] {
            assert!(methods.iter().any(|x| x == m), "{path}: {methods:?}");
        }
        let allowed = listed(&headers, "access-control-allow-headers");
        for h in ["content-type", "if-none-match"] {
            assert!(allowed.iter().any(|x| x == h), "{path}: {allowed:?}");
        }
        let max_age: u32 = header(&headers, "access-control-max-age")
            .parse()
            .expect("max-age");
        assert!(max_age >= 600, "{path}: {max_age}");

        // The request the preflight admitted: readable, with its ETag exposed.
        let response = reqwest::Client::new()
            .get(beacon.url(path))
            .header("origin", ORIGIN)
            .header("content-type", "application/json")
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(header(&headers, "access-control-allow-origin"), "*");
        assert!(
            listed(&headers, "access-control-expose-headers")
                .iter()
                .any(|h| h == "etag"),
            "{path}: {headers:?}"
        );
        if let Some(etag) = headers.get("etag") {
            let revalidated = reqwest::Client::new()
                .get(beacon.url(path))
                .header("origin", ORIGIN)
                .header("if-none-match", etag)
                .send()
                .await
                .expect("revalidate");
            // A render may fall between the two requests; either answer must be readable.
            let headers = revalidated.headers();
            assert_eq!(header(headers, "access-control-allow-origin"), "*");
            assert!(listed(headers, "access-control-expose-headers")
                .iter()
                .any(|h| h == "etag"));
        }
    }
    beacon.stop().await;
}

#[tokio::test]
async fn the_operator_api_and_the_admin_get_no_cross_origin_access() {
    let up = Upstream::start().await;
    let beacon = Beacon::start(&fast_config(&[("web-form", &up.url())], 1, 1)).await;
    for (path, method) in [
        ("/api/v1/incidents", "POST"),
        ("/api/v1/maintenances", "POST"),
        ("/api/v1/tickets", "POST"),
        ("/api/v1/incidents/1", "DELETE"),
        ("/admin/login", "POST"),
    ] {
        let (status, headers, _) = preflight(&beacon, path, method).await;
        assert_ne!(status / 100, 2, "{path}: no successful preflight");
        for name in [
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
        ] {
            assert!(headers.get(name).is_none(), "{path}: {name}");
        }
    }
    let response = reqwest::Client::new()
        .get(beacon.url("/api/v1/incidents"))
        .header("origin", ORIGIN)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 401);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    beacon.stop().await;
}
