//! The HTTP server's own limits (`[server]`), each on a small in-process Beacon: a request
//! head that never ends and an idle connection are closed at their deadlines, one client
//! cannot hold more than its share, a full server lets a new client in by closing an idle
//! connection, and a body over the limit is 413 with a JSON error under `/api/`.

mod common;

use common::{api_token, Beacon, Upstream};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn beacon_with(server: &str) -> (Beacon, Upstream) {
    let upstream = Upstream::start().await;
    let mut config = common::fast_config(&[("chat", &upstream.url())], 2, 1);
    config.push_str(&format!("\n[server]\n{server}\n"));
    (Beacon::start(&config).await, upstream)
}

/// A connection from `from` (127.0.0.x) to `to`.
async fn connect_from(from: u8, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)),
            0,
        ))
        .unwrap();
    socket.connect(to).await.unwrap()
}

/// Reads until Beacon closes the connection; what it sent and how long that took. Panics if
/// it stays open longer than `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.read(&mut buf)).await {
            Err(_) => panic!("the connection was still open after {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn an_unfinished_request_head_is_closed_at_the_header_read_timeout() {
    let (beacon, _upstream) = beacon_with("header_read_timeout = \"300ms\"").await;
    let mut stream = connect_from(1, beacon.addr).await;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");
}

#[tokio::test]
async fn a_dripping_head_is_closed_at_the_header_read_timeout_counted_from_its_first_byte() {
    let (beacon, _upstream) = beacon_with("header_read_timeout = \"500ms\"").await;
    let mut stream = connect_from(1, beacon.addr).await;
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Drip: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy" {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "a head sent one byte per 100 ms was never cut off");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn idle_connections_are_closed_before_and_between_requests() {
    let (beacon, _upstream) = beacon_with("idle_timeout = \"300ms\"").await;
    let mut silent = connect_from(1, beacon.addr).await;
    let (_, took) = read_until_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");

    let mut keep_alive = connect_from(1, beacon.addr).await;
    keep_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut keep_alive, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn one_client_cannot_hold_more_than_its_share() {
    let (beacon, _upstream) = beacon_with("max_connections_per_client = 3").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(2, beacon.addr).await;
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    // Accepts are in order: once this one is answered, the three above are registered.
    common::wait_for(
        Duration::from_secs(2),
        "a fourth from the same address refused",
        || {
            let addr = beacon.addr;
            async move {
                let mut fourth = connect_from(2, addr).await;
                let (answer, _) = read_until_closed(&mut fourth, Duration::from_secs(2)).await;
                answer.starts_with("HTTP/1.1 503").then_some(())
            }
        },
    )
    .await;
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)))
        .build()
        .unwrap();
    let page = client.get(beacon.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200, "another address is not affected");
}

#[tokio::test]
async fn a_full_server_closes_an_idle_connection_for_a_new_client() {
    let (beacon, _upstream) = beacon_with("max_connections = 4").await;
    let mut flood = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(2, beacon.addr).await;
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        flood.push(stream);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    for _ in 0..3 {
        let page = client.get(beacon.url("/healthz")).send().await.unwrap();
        assert_eq!(page.status(), 200, "a new client gets in");
    }
    let mut closed = 0;
    for stream in &mut flood {
        let mut buf = [0u8; 64];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 1, "an idle flood connection gave way");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_a_json_error() {
    let (beacon, _upstream) = beacon_with("max_body_bytes = 65536").await;
    let token = api_token(&beacon, "operator").await;
    let big = serde_json::json!({ "title": "x".repeat(100_000), "channels": ["chat"] });
    let (status, body) = common::api(
        reqwest::Method::POST,
        beacon.url("/api/v1/incidents"),
        Some(&token),
        Some(big),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("too large"),
        "{body}"
    );

    // Chunked, without a declared length: refused when the limit is reached.
    let mut stream = connect_from(1, beacon.addr).await;
    let chunk = "x".repeat(40_000);
    let request = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {len:x}\r\n{{\"title\": \"{chunk}\r\n{len2:x}\r\n{chunk}\"}}\r\n0\r\n\r\n",
        len = chunk.len() + 11,
        len2 = chunk.len() + 2,
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"error\""), "{answer}");

    let page = reqwest::Client::new()
        .post(beacon.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 413, "a form over the limit too");
    let listed = reqwest::Client::new()
        .get(beacon.url("/api/v1/incidents"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !listed.contains("xxxxxxxx"),
        "nothing stored from what was refused"
    );
}
