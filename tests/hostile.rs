//! Hostile upstreams: raw TCP servers that drip, flood, bomb, loop and reset. Each probe must
//! end within its timeout, give a precise reason, and read no more than its body cap (the
//! servers count what the kernel accepted from them: the cap plus socket buffers at most).

mod common;

use common::raw::{closed_port, Conn, RawServer};
use common::{probes_config, wait_for, Beacon};
use std::io::Write;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(5);
/// `max_body_bytes` of every probe here.
const CAP: usize = 64 * 1024;
/// What may be in flight beyond the cap: the servers' send buffer (fixed, 2 x 64 KiB), the
/// kernel's receive buffer on Beacon's side and hyper's read buffer (at most 400 KiB). About
/// 200 KiB in practice; a probe draining a 50 MB body would blow far past it.
const BUFFERS: usize = 2 * 1024 * 1024;
/// Timeout of every probe here; they run every 500 ms.
const TIMEOUT: Duration = Duration::from_millis(400);
/// Scheduling slack on a busy machine when comparing a connection's life with the timeout.
const SLACK: Duration = Duration::from_millis(300);
/// Servers stop on their own after this much per connection.
const MAX_SEND: usize = 256 * 1024 * 1024;

fn probe(url: &str, extra: &str) -> String {
    format!(
        "url = \"{url}\"\nevery = \"500ms\"\ntimeout = \"{}ms\"\nmax_body_bytes = {CAP}\n\
         failure_threshold = 1\nsuccess_threshold = 1\n{extra}",
        TIMEOUT.as_millis()
    )
}

async fn start(url: &str, extra: &str) -> Beacon {
    Beacon::start(&probes_config("", &[("hostile", probe(url, extra))])).await
}

/// Waits until the server has seen at least one connection end.
async fn one_finished(server: &RawServer) {
    wait_for(WITHIN, "a connection to end", || async {
        (server.finished() >= 1).then_some(())
    })
    .await;
}

fn reason(channel: &serde_json::Value) -> String {
    channel["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason in {channel}"))
        .to_owned()
}

/// Sends 200 OK with a chunked body that never ends (16 KiB chunks of `x`).
async fn endless(mut conn: Conn) {
    if conn.read_head().await.is_none() {
        return;
    }
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
    if !conn.send(head).await {
        return;
    }
    let mut chunk = b"4000\r\n".to_vec();
    chunk.extend(std::iter::repeat_n(b'x', 0x4000));
    chunk.extend_from_slice(b"\r\n");
    let mut sent = 0;
    while sent < MAX_SEND && conn.send(&chunk).await {
        sent += chunk.len();
    }
}

#[tokio::test]
async fn headers_dripped_one_byte_at_a_time_time_out() {
    let server = RawServer::start(|mut conn| async move {
        if conn.read_head().await.is_none() {
            return;
        }
        // One byte every 100 ms; stops as soon as the probe hangs up.
        for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" {
            if !conn.send(&[*byte]).await || conn.closed_within(Duration::from_millis(100)).await {
                return;
            }
        }
    })
    .await;
    let beacon = start(&server.url("/"), "").await;
    let down = beacon.wait_for_state("hostile", "down", WITHIN).await;
    assert_eq!(reason(&down), "timeout after 400ms");
    one_finished(&server).await;
    // The probe hung up at its timeout (the server's clock starts after the connect).
    let lasted = server.longest();
    assert!(
        lasted <= TIMEOUT + SLACK,
        "connection lasted {lasted:?} for a {TIMEOUT:?} timeout"
    );
    beacon.stop().await;
}

#[tokio::test]
async fn an_endless_body_is_read_up_to_the_cap_and_judged_on_what_was_read() {
    let server = RawServer::start(endless).await;
    // A body condition sees exactly the first CAP bytes.
    let beacon = start(
        &server.url("/"),
        &format!("conditions = [\"[STATUS] == 200\", \"len([BODY]) == {CAP}\"]"),
    )
    .await;
    beacon.wait_for_state("hostile", "up", WITHIN).await;
    one_finished(&server).await;
    beacon.stop().await;
    let sent = server.most_on_one();
    assert!(
        (CAP..=CAP + BUFFERS).contains(&sent),
        "server pushed {sent} bytes at a {CAP}-byte cap"
    );
    assert!(
        server.longest() <= TIMEOUT + SLACK,
        "{:?}",
        server.longest()
    );
}

#[tokio::test]
async fn an_endless_body_without_conditions_is_up_once_the_cap_is_read() {
    let server = RawServer::start(endless).await;
    let beacon = start(&server.url("/"), "").await;
    // The status decides; the body is read up to the cap (not kept), then the connection
    // is dropped rather than drained.
    beacon.wait_for_state("hostile", "up", WITHIN).await;
    one_finished(&server).await;
    beacon.stop().await;
    let sent = server.most_on_one();
    assert!(
        (CAP..=CAP + BUFFERS).contains(&sent),
        "server pushed {sent} bytes at a {CAP}-byte cap"
    );
    assert!(
        server.longest() <= TIMEOUT + SLACK,
        "{:?}",
        server.longest()
    );
}

#[tokio::test]
async fn a_50_mb_body_with_content_length_is_read_only_up_to_the_cap() {
    const SIZE: usize = 50 * 1024 * 1024;
    let server = RawServer::start(|mut conn| async move {
        if conn.read_head().await.is_none() {
            return;
        }
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {SIZE}\r\n\r\n");
        if !conn.send(head.as_bytes()).await {
            return;
        }
        let block = vec![b'y'; 64 * 1024];
        let mut sent = 0;
        while sent < SIZE && conn.send(&block).await {
            sent += block.len();
        }
    })
    .await;
    let beacon = start(
        &server.url("/"),
        &format!("conditions = [\"len([BODY]) == {CAP}\"]"),
    )
    .await;
    beacon.wait_for_state("hostile", "up", WITHIN).await;
    one_finished(&server).await;
    beacon.stop().await;
    let sent = server.most_on_one();
    assert!(
        (CAP..=CAP + BUFFERS).contains(&sent),
        "server pushed {sent} of {SIZE} bytes at a {CAP}-byte cap"
    );
    assert!(
        server.longest() <= TIMEOUT + SLACK,
        "{:?}",
        server.longest()
    );
}

#[tokio::test]
async fn a_gzip_bomb_is_decompressed_only_up_to_the_cap() {
    // 10 MiB of zeros in about 10 KiB.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 10 * 1024 * 1024]).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 64 * 1024, "bomb is {} bytes", bomb.len());
    let server = RawServer::start(move |mut conn| {
        let bomb = bomb.clone();
        async move {
            if conn.read_head().await.is_none() {
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n",
                bomb.len()
            );
            if conn.send(head.as_bytes()).await {
                conn.send(&bomb).await;
            }
        }
    })
    .await;
    // The body kept is exactly the cap, after decompression; up means within the timeout.
    let beacon = start(
        &server.url("/"),
        &format!("conditions = [\"len([BODY]) == {CAP}\"]"),
    )
    .await;
    beacon.wait_for_state("hostile", "up", WITHIN).await;
    beacon.stop().await;
}

#[tokio::test]
async fn a_redirect_loop_ends_after_five_hops() {
    let server = RawServer::start(|mut conn| async move {
        if conn.read_head().await.is_some() {
            conn.send(b"HTTP/1.1 302 Found\r\nlocation: /loop\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    })
    .await;
    let beacon = start(&server.url("/loop"), "").await;
    let down = beacon.wait_for_state("hostile", "down", WITHIN).await;
    assert_eq!(reason(&down), "redirect: too many redirects");
    beacon.stop().await;
    // The first request and five redirects per run, nothing more.
    let accepted = server.accepted();
    assert!(
        accepted >= 6 && accepted % 6 == 0,
        "{accepted} requests for whole runs"
    );
}

#[tokio::test]
async fn a_connection_reset_mid_body_is_a_body_failure() {
    let server = RawServer::start(|mut conn| async move {
        if conn.read_head().await.is_none() {
            return;
        }
        let mut response = b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n".to_vec();
        response.extend_from_slice(&[b'z'; 100]);
        if conn.send(&response).await {
            conn.reset();
        }
    })
    .await;
    let beacon = start(&server.url("/"), "").await;
    let down = beacon.wait_for_state("hostile", "down", WITHIN).await;
    assert_eq!(reason(&down), "body: reset by peer");
    beacon.stop().await;
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let port = closed_port().await;
    let beacon = start(&format!("http://127.0.0.1:{port}/"), "").await;
    let down = beacon.wait_for_state("hostile", "down", WITHIN).await;
    assert_eq!(reason(&down), "connect: refused");
    beacon.stop().await;
}
