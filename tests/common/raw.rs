//! Raw TCP upstreams for servers that misbehave on purpose (drip-fed headers, endless bodies,
//! resets...) and for line protocols (a banner server). Each connection runs a behaviour the
//! test writes against [`Conn`], which counts every byte the kernel accepted from it, so a
//! test can prove how much a probe let a server push at it.
//!
//! Every behaviour is bounded: a write that stalls for [`STALL`] ends the connection, so no
//! server outlives its test by more than that.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A write or read that makes no progress for this long ends the connection.
pub const STALL: Duration = Duration::from_secs(2);
/// SO_SNDBUF of accepted connections.
pub const SEND_BUFFER: u32 = 64 * 1024;
/// Most bytes of a request head read before giving up on it.
const MAX_HEAD: usize = 64 * 1024;

/// What a [`RawServer`] did, across connections.
#[derive(Debug, Default)]
pub struct Stats {
    /// Bytes sent over all connections.
    pub sent: AtomicUsize,
    /// Most bytes sent on a single connection.
    pub most_on_one: AtomicUsize,
    pub accepted: AtomicUsize,
    /// Longest time a connection lasted, from accept until its behaviour ended, in ms.
    pub longest_ms: AtomicUsize,
    /// Connections whose behaviour has ended (the counts above include them).
    pub finished: AtomicUsize,
}

/// One accepted connection, as its behaviour sees it.
pub struct Conn {
    opened: Instant,
    stream: Option<TcpStream>,
    sent_here: usize,
    stats: Arc<Stats>,
}

impl Conn {
    fn stream(&mut self) -> &mut TcpStream {
        self.stream.as_mut().expect("connection still open")
    }

    /// Reads a request head (up to the blank line); `None` if the peer closed or stalled first.
    pub async fn read_head(&mut self) -> Option<String> {
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if head.len() > MAX_HEAD {
                return None;
            }
            match tokio::time::timeout(STALL, self.stream().read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
                _ => return None,
            }
        }
        Some(String::from_utf8_lossy(&head).into_owned())
    }

    /// Reads whatever the peer sends until it closes (or stalls, or 64 KiB).
    pub async fn read_rest(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while out.len() < MAX_HEAD {
            match tokio::time::timeout(STALL, self.stream().read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        out
    }

    /// Writes all of `bytes`, counting what the kernel accepts; false once the peer is gone
    /// or stopped reading for [`STALL`].
    pub async fn send(&mut self, bytes: &[u8]) -> bool {
        let mut rest = bytes;
        while !rest.is_empty() {
            match tokio::time::timeout(STALL, self.stream().write(rest)).await {
                Ok(Ok(n)) if n > 0 => {
                    self.sent_here += n;
                    self.stats.sent.fetch_add(n, Ordering::SeqCst);
                    rest = &rest[n..];
                }
                _ => return false,
            }
        }
        true
    }

    /// True if the peer closes (or resets) the connection within `wait`; data it sends
    /// meanwhile is discarded.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout_at(deadline, self.stream().read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Time since the connection was accepted.
    pub fn age(&self) -> Duration {
        self.opened.elapsed()
    }

    /// Aborts the connection: SO_LINGER 0 then close, so the peer gets a RST, not a FIN.
    pub fn reset(mut self) {
        if let Some(stream) = self.stream.take() {
            stream.set_zero_linger().expect("SO_LINGER 0");
            drop(stream);
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.stats
            .most_on_one
            .fetch_max(self.sent_here, Ordering::SeqCst);
        let lasted = usize::try_from(self.opened.elapsed().as_millis()).unwrap_or(usize::MAX);
        self.stats.longest_ms.fetch_max(lasted, Ordering::SeqCst);
        self.stats.finished.fetch_add(1, Ordering::SeqCst);
    }
}

/// A listener on 127.0.0.1 running one behaviour per connection.
pub struct RawServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl RawServer {
    pub async fn start<F, Fut>(behaviour: F) -> RawServer
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // A small, fixed send buffer (inherited by accepted sockets; the kernel doubles it):
        // what the server counts as sent is then what the peer took, not what we queued.
        let socket = TcpSocket::new_v4().expect("raw socket");
        socket.set_send_buffer_size(SEND_BUFFER).expect("SO_SNDBUF");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind raw");
        let listener = socket.listen(64).expect("listen raw");
        let addr = listener.local_addr().expect("raw addr");
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counters.accepted.fetch_add(1, Ordering::SeqCst);
                let conn = Conn {
                    opened: Instant::now(),
                    stream: Some(stream),
                    sent_here: 0,
                    stats: counters.clone(),
                };
                tokio::spawn(behaviour(conn));
            }
        });
        RawServer { addr, stats, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn finished(&self) -> usize {
        self.stats.finished.load(Ordering::SeqCst)
    }

    pub fn longest(&self) -> Duration {
        Duration::from_millis(self.stats.longest_ms.load(Ordering::SeqCst) as u64)
    }

    pub fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }

    pub fn most_on_one(&self) -> usize {
        self.stats.most_on_one.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}
