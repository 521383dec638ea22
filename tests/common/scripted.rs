//! A scripted HTTP upstream: each path answers with a [`Reply`] (status, headers, body, delay)
//! that the test switches while Beacon probes it, and every request received is kept so a
//! test can assert what the probe really sent.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How one path answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Waited before answering.
    pub delay: Duration,
}

impl Reply {
    /// 200 with a text body.
    pub fn ok(body: &str) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// 200 with a JSON body.
    pub fn json(body: &str) -> Reply {
        Reply {
            headers: vec![("content-type".into(), "application/json".into())],
            ..Reply::ok(body)
        }
    }

    /// 302 to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply {
            status: 302,
            headers: vec![("location".into(), location.to_owned())],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    /// The same answer after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        Reply { delay, ..self }
    }
}

/// One request as the upstream received it; header names are lowercase.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// A running scripted upstream on 127.0.0.1.
pub struct Scripted {
    pub addr: SocketAddr,
    replies: Arc<Mutex<HashMap<String, Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
    server: JoinHandle<()>,
}

impl Scripted {
    pub async fn start() -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind scripted upstream");
        let addr = listener.local_addr().expect("scripted upstream addr");
        let replies: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let (r, seen) = (replies.clone(), received.clone());
        let app = Router::new().fallback(move |request: Request<Body>| {
            let (replies, received) = (r.clone(), seen.clone());
            async move { answer(request, &replies, &received).await }
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Scripted {
            addr,
            replies,
            received,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// From now on `path` answers `reply`; paths never set answer 404.
    pub fn set(&self, path: &str, reply: Reply) {
        self.replies
            .lock()
            .expect("replies lock")
            .insert(path.to_owned(), reply);
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received lock").clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    request: Request<Body>,
    replies: &Mutex<HashMap<String, Reply>>,
    received: &Mutex<Vec<Received>>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    received.lock().expect("received lock").push(Received {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let reply = replies.lock().expect("replies lock").get(&path).cloned();
    let Some(reply) = reply else {
        let mut response = Response::new(Body::from("no such path"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).expect("status code");
    for (name, value) in reply.headers {
        response.headers_mut().insert(
            HeaderName::try_from(name).expect("header name"),
            HeaderValue::try_from(value).expect("header value"),
        );
    }
    response
}
