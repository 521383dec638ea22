//! The TCP check: connect, optionally send a line and expect a text in the answer.

use super::reason::{describe_io_error, describe_own_failure};
use super::Seen;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most bytes read while waiting for a banner line.
const MAX_BANNER: usize = 4096;

pub(super) async fn check(
    host: &str,
    port: u16,
    send: Option<&str>,
    expect: Option<&str>,
    timeout: Duration,
) -> Seen {
    let started = Instant::now();
    let exchange = async {
        let mut stream = connect(host, port).await?;
        let mut seen = Seen {
            connected: true,
            ip: stream.peer_addr().ok().map(|a| a.ip().to_string()),
            ..Seen::default()
        };
        if let Some(line) = send {
            if let Err(e) = stream.write_all(line.as_bytes()).await {
                seen.error = Some(describe_io_error("send", &e));
                return Ok(seen);
            }
        }
        if send.is_some() || expect.is_some() {
            match read_line(&mut stream).await {
                Ok(banner) => seen.body = Some(banner),
                Err(e) => {
                    seen.error = Some(describe_io_error("read", &e));
                    return Ok(seen);
                }
            }
        }
        if let (Some(expect), Some(banner)) = (expect, &seen.body) {
            if !banner.contains(expect) {
                seen.error = Some(format!("expect: {expect:?} not in {:?}", truncate(banner)));
            }
        }
        Ok::<_, String>(seen)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Seen::failed(format!(
            "timeout after {}",
            humantime::format_duration(timeout)
        )),
        Ok(Err(reason)) => Seen::failed(reason),
        Ok(Ok(seen)) => Seen {
            response_ms: Some(u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX)),
            ..seen
        },
    }
}

/// Resolves (reported as `dns: ...`) then connects (reported as `connect: ...`).
pub(super) async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| describe_own_failure("dns", &e).unwrap_or_else(|| format!("dns: {e}")))?
        .collect();
    let mut last = format!("dns: no address for {host}");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = describe_io_error("connect", &e),
        }
    }
    Err(last)
}

/// Reads until a newline, end of stream or [`MAX_BANNER`] bytes.
async fn read_line(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while buf.len() < MAX_BANNER && !buf.contains(&b'\n') {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.truncate(MAX_BANNER);
    let line = buf.split(|b| *b == b'\n').next().unwrap_or(&[]);
    Ok(String::from_utf8_lossy(line)
        .trim_end_matches('\r')
        .to_owned())
}

fn truncate(text: &str) -> String {
    text.chars().take(60).collect()
}
