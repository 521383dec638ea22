//! The HTTP(S) check: one request, a 2xx answer is a success.

use super::CheckResult;
use crate::domain::Outcome;
use std::time::{Duration, Instant};

/// Body bytes read (and discarded) at most, so a huge or endless body cannot hold a probe.
const MAX_BODY: usize = 1024 * 1024;

/// Shared HTTP client: rustls, connection reuse across runs, at most 5 redirects.
#[derive(Clone)]
pub struct HttpChecker {
    client: reqwest::Client,
}

impl HttpChecker {
    pub fn new() -> Result<HttpChecker, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Beacon/",
                env!("CARGO_PKG_VERSION"),
                " (uptime monitor)"
            ))
            .redirect(reqwest::redirect::Policy::limited(5))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()?;
        Ok(HttpChecker { client })
    }

    /// GETs `url`; the whole exchange (connect, headers, body up to 1 MiB) must finish
    /// within `timeout`.
    pub async fn check(&self, url: &str, timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let exchange = async {
            let mut response = self.client.get(url).send().await?;
            let status = response.status();
            let mut read = 0usize;
            while read < MAX_BODY {
                match response.chunk().await? {
                    Some(chunk) => read += chunk.len(),
                    None => break,
                }
            }
            Ok::<_, reqwest::Error>(status)
        };
        let result = tokio::time::timeout(timeout, exchange).await;
        let response_ms = Some(u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX));
        match result {
            Err(_) => CheckResult::failed(
                format!("timeout after {}", humantime::format_duration(timeout)),
                None,
            ),
            Ok(Err(e)) => CheckResult::failed(describe_error(&e), None),
            Ok(Ok(status)) if status.is_success() => CheckResult {
                outcome: Outcome::Up,
                status_code: Some(status.as_u16()),
                response_ms,
                reason: None,
            },
            Ok(Ok(status)) => CheckResult {
                outcome: Outcome::Down,
                status_code: Some(status.as_u16()),
                response_ms,
                reason: Some(format!("HTTP {}", status.as_u16())),
            },
        }
    }
}

/// A short reason from a request error: `dns: ...`, `connect: refused`, `tls: ...`,
/// `timeout`, `redirect: ...`, `body: ...`.
fn describe_error(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    let innermost = chain.last().cloned().unwrap_or_default();
    let mut io_kind = None;
    let mut tls = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        let mut io = err.downcast_ref::<std::io::Error>();
        // rustls reports through io::Errors (sometimes nested) around the rustls::Error,
        // and io::Error's `source` skips its payload, so unwrap them by hand.
        while let Some(e) = io {
            io_kind.get_or_insert(e.kind());
            let inner = e.get_ref();
            if let Some(t) = inner.and_then(|i| i.downcast_ref::<rustls::Error>()) {
                tls = Some(t.to_string());
            }
            io = inner.and_then(|i| i.downcast_ref::<std::io::Error>());
        }
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            tls = Some(t.to_string());
        }
        source = err.source();
    }
    let text = chain.join(": ").to_lowercase();
    if e.is_timeout() {
        "timeout".to_owned()
    } else if e.is_redirect() {
        format!("redirect: {innermost}")
    } else if text.contains("dns error") || text.contains("failed to lookup") {
        format!("dns: {innermost}")
    } else if let Some(tls) = tls {
        format!("tls: {tls}")
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        format!("tls: {innermost}")
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        "connect: refused".to_owned()
    } else if io_kind == Some(std::io::ErrorKind::ConnectionReset) {
        "connect: reset by peer".to_owned()
    } else if e.is_connect() {
        format!("connect: {innermost}")
    } else if e.is_body() || e.is_decode() {
        format!("body: {innermost}")
    } else {
        format!("request: {innermost}")
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut source = Some(e);
    while let Some(err) = source {
        out.push(err.to_string());
        source = err.source();
    }
    out
}
