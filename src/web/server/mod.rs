//! The HTTP server: accepts connections under [`ServerSettings`]' limits and serves the router
//! on each with hyper.
//!
//! Why not `axum::serve`: it has no header-read timeout, no idle timeout and no connection
//! limit, and it sleeps a whole second after an accept error such as "too many open files".
//! Here every connection is registered in [`Connections`] (overall and per client limits,
//! eviction of idle connections at capacity), watched for its header-read and idle deadlines,
//! and drained on shutdown. The limit leaves file descriptors to the prober and the database
//! ([`ServerSettings::reserved_fds`]), so no flood of connections can make a probe fail.

mod connections;
mod fds;
mod stats;

pub use fds::raise_fd_limit;
pub use stats::{ServerReading, ServerStats};

use crate::domain::ServerSettings;
use axum::extract::ConnectInfo;
use axum::Router;
use connections::{Connection, Connections, Held, Refusal};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How often a busy connection's deadline is looked at again.
const BUSY_RECHECK: Duration = Duration::from_secs(1);
/// Pause after an accept error (out of descriptors) before accepting again: short, so real
/// clients are not kept waiting once a descriptor is free.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);
/// What a refused client reads before the connection closes.
const FULL_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\
    retry-after: 1\r\ncontent-type: text/plain\r\ncontent-length: 28\r\n\r\ntoo many connections, retry\n";

/// Pending connections the kernel queues before Beacon accepts them (capped by
/// `net.core.somaxconn`); a burst of connections beyond this would drop new clients' SYNs,
/// which they retry only after a second.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `address` (`host:port`) with a listen queue of [`LISTEN_BACKLOG`].
pub async fn listen(address: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(address).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no address for {address}"),
        )
    }))
}

/// Serves `router` on `listener` until `shutdown`, then lets open connections finish their
/// requests for up to `drain`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerSettings,
    fd_limit: u64,
    stats: Arc<ServerStats>,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let max = settings.effective_max_connections(fd_limit);
    stats.set_limit(max);
    tracing::info!(
        max_connections = max,
        per_client = settings.max_connections_per_client,
        fd_limit,
        "accepting connections"
    );
    let registry = Connections::new(max, settings.max_connections_per_client, stats.clone());
    let settings = Arc::new(settings);
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
            // Reap finished connection tasks so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, held = registry.held(), "accept failed; retrying");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        match registry.admit(peer.ip(), settings.trusts(peer.ip())) {
            Ok(held) => {
                tasks.spawn(serve_connection(
                    stream,
                    peer,
                    held,
                    router.clone(),
                    settings.clone(),
                    stats.clone(),
                    shutdown.clone(),
                ));
            }
            Err(refusal) => {
                stats.refused();
                tracing::debug!(%peer, ?refusal, "connection refused");
                // Best effort and never blocking: a refused client learns why, or is closed.
                let _ = stream.try_write(FULL_RESPONSE);
                if refusal == Refusal::Full {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(drain, drained).await.is_err() {
        tracing::warn!("http connections still open after the drain period; closing");
    }
}

/// One connection: hyper's HTTP/1.1 on the tracked stream, closed at its deadline, when
/// evicted, or (gracefully) at shutdown.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    held: Held,
    router: Router,
    settings: Arc<ServerSettings>,
    stats: Arc<ServerStats>,
    shutdown: CancellationToken,
) {
    // No Nagle delay: a page's last partial segment goes out at once (as nginx does on
    // keep-alive connections), instead of waiting for the client's acknowledgement.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
    }
    let connection = held.connection.clone();
    let io = TokioIo::new(Tracked {
        stream,
        connection: connection.clone(),
    });
    let for_requests = connection.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        let connection = for_requests.clone();
        connection.request_started();
        async move {
            let response = router.oneshot(request).await;
            // Busy until the body is written to the end: a slow reader of a large page is
            // neither timed out as idle nor evicted mid-answer.
            response.map(|r| r.map(|inner| Answer { inner, connection }))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let deadline = connection
            .deadline(settings.header_read_timeout, settings.idle_timeout)
            .unwrap_or_else(|| tokio::time::Instant::now() + BUSY_RECHECK);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            _ = connection.changed.notified() => {
                if connection.phase() == connections::Phase::Evicted {
                    stats.evicted();
                    tracing::debug!(%peer, "idle connection closed to make room");
                    break;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                if deadline_passed(&connection, &settings) {
                    stats.timed_out();
                    tracing::debug!(%peer, phase = ?connection.phase(), "connection timed out");
                    break;
                }
            }
            _ = shutdown.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(held);
}

fn deadline_passed(connection: &Connection, settings: &ServerSettings) -> bool {
    connection
        .deadline(settings.header_read_timeout, settings.idle_timeout)
        .is_some_and(|d| d <= tokio::time::Instant::now())
}

/// A response body that marks its connection idle once hyper has written it (and dropped it).
struct Answer {
    inner: axum::body::Body,
    connection: Arc<Connection>,
}

impl http_body::Body for Answer {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.connection.request_finished();
    }
}

/// The TCP stream, telling its [`Connection`] when bytes of a new request arrive (which
/// starts the header-read timeout).
struct Tracked {
    stream: TcpStream,
    connection: Arc<Connection>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.bytes_arrived();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::connections::Phase;
    use super::*;

    #[tokio::test]
    async fn a_connection_stays_busy_until_its_answer_is_written() {
        let registry = Connections::new(4, 4, Arc::default());
        let held = registry
            .admit(std::net::Ipv4Addr::LOCALHOST.into(), false)
            .expect("admitted");
        let connection = held.connection.clone();
        connection.request_started();
        let answer = Answer {
            inner: axum::body::Body::from("a large page"),
            connection: connection.clone(),
        };
        assert_eq!(
            http_body::Body::size_hint(&answer).exact(),
            Some(12),
            "the length is kept"
        );
        assert_eq!(connection.phase(), Phase::Busy, "still being written");
        drop(answer);
        assert_eq!(connection.phase(), Phase::Idle, "written: idle again");
    }
}
