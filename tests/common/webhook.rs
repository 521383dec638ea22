//! A webhook receiver for notification tests: a small axum app on 127.0.0.1 that records
//! every POST to `/hook` (headers and exact body bytes) and answers scripted statuses.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub content_type: Option<String>,
    pub event: Option<String>,
    pub delivery: Option<String>,
    pub signature: Option<String>,
    pub body: Bytes,
    /// The status the receiver answered.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }
}

/// A webhook receiver: records every POST to `/hook`, answers the scripted statuses first,
/// then 200.
pub struct Receiver {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    /// While set, every request is answered 503 (after the scripted answers).
    failing: Arc<std::sync::atomic::AtomicBool>,
    server: JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0".parse().expect("addr")).await
    }

    pub async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = TcpListener::bind(addr).await.expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let answers: Arc<Mutex<VecDeque<u16>>> = Arc::default();
        let failing: Arc<std::sync::atomic::AtomicBool> = Arc::default();
        let (log, script, down) = (seen.clone(), answers.clone(), failing.clone());
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let scripted = script.lock().expect("script").pop_front();
                let status = scripted.unwrap_or_else(|| {
                    if down.load(std::sync::atomic::Ordering::SeqCst) {
                        503
                    } else {
                        200
                    }
                });
                log.lock().expect("log").push(Received {
                    at: Instant::now(),
                    content_type: header("content-type"),
                    event: header("x-beacon-event"),
                    delivery: header("x-beacon-delivery"),
                    signature: header("x-beacon-signature"),
                    body,
                    answered: status,
                });
                async move {
                    let status = StatusCode::from_u16(status).expect("status");
                    (
                        status,
                        if status.is_success() {
                            "ok"
                        } else {
                            "try later"
                        },
                    )
                }
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            seen,
            answers,
            failing,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The next requests get these statuses (then 200 again).
    pub fn answer_first(&self, statuses: &[u16]) {
        self.answers.lock().expect("script").extend(statuses);
    }

    /// While `on`, every request (past the scripted ones) is answered 503.
    pub fn fail_all(&self, on: bool) {
        self.failing.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.seen.lock().expect("log").clone()
    }

    /// Waits up to `within` for a request whose JSON body matches `wanted`.
    pub async fn wait_for(
        &self,
        within: Duration,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> Received {
        super::wait_for(within, what, || {
            let found = self.requests().into_iter().find(|r| wanted(&r.json()));
            async move { found }
        })
        .await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}
