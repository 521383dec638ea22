//! The HTTP(S) check: one request; the answer is judged by the default rule or conditions.

use super::certificate::expires_in_ms;
use super::reason::describe_request_error;
use super::Seen;
use crate::domain::{HttpTarget, Timestamp};
use std::time::{Duration, Instant};

/// Shared clients, one per combination of redirect policy and certificate checking, so
/// connections are reused across runs and probes.
#[derive(Clone)]
pub struct HttpChecker {
    /// Indexed by `follow_redirects as usize * 2 + insecure as usize`.
    clients: [reqwest::Client; 4],
}

impl HttpChecker {
    pub fn new() -> Result<HttpChecker, reqwest::Error> {
        let build = |follow: bool, insecure: bool| {
            reqwest::Client::builder()
                .user_agent(concat!(
                    "Beacon/",
                    env!("CARGO_PKG_VERSION"),
                    " (uptime monitor)"
                ))
                .redirect(if follow {
                    reqwest::redirect::Policy::limited(5)
                } else {
                    reqwest::redirect::Policy::none()
                })
                .danger_accept_invalid_certs(insecure)
                .tls_info(true)
                .pool_idle_timeout(Duration::from_secs(90))
                .build()
        };
        Ok(HttpChecker {
            clients: [
                build(false, false)?,
                build(false, true)?,
                build(true, false)?,
                build(true, true)?,
            ],
        })
    }

    /// Sends the request; the whole exchange (connect, headers, body up to the cap, after
    /// decompression) must finish within `timeout`. The body is kept only if `keep_body`.
    pub async fn check(
        &self,
        target: &HttpTarget,
        timeout: Duration,
        keep_body: bool,
        now: Timestamp,
    ) -> Seen {
        let client =
            &self.clients[usize::from(target.follow_redirects) * 2 + usize::from(target.insecure)];
        let method =
            reqwest::Method::from_bytes(target.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = client.request(method, &target.url);
        for (name, value) in &target.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &target.body {
            request = request.body(body.clone());
        }
        let started = Instant::now();
        let exchange = async {
            let mut response = request.send().await?;
            let mut seen = Seen {
                status: Some(response.status().as_u16()),
                connected: true,
                ip: response.remote_addr().map(|a| a.ip().to_string()),
                certificate_expiration_ms: response
                    .extensions()
                    .get::<reqwest::tls::TlsInfo>()
                    .and_then(|info| info.peer_certificate())
                    .and_then(|der| expires_in_ms(der, now)),
                ..Seen::default()
            };
            let mut body = Vec::new();
            let mut read = 0usize;
            while read < target.max_body_bytes {
                match response.chunk().await? {
                    Some(chunk) => {
                        let take = chunk.len().min(target.max_body_bytes - read);
                        read += chunk.len();
                        if keep_body {
                            body.extend_from_slice(&chunk[..take]);
                        }
                    }
                    None => break,
                }
            }
            if keep_body {
                seen.body = Some(String::from_utf8_lossy(&body).into_owned());
            }
            Ok::<_, reqwest::Error>(seen)
        };
        let result = tokio::time::timeout(timeout, exchange).await;
        let elapsed = Some(u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX));
        match result {
            Err(_) => Seen::failed(format!(
                "timeout after {}",
                humantime::format_duration(timeout)
            )),
            Ok(Err(e)) => Seen::failed(describe_request_error(&e)),
            Ok(Ok(seen)) => Seen {
                response_ms: elapsed,
                ..seen
            },
        }
    }
}
