//! Hostile clients against the harness over real sockets on 127.0.0.1: slow heads, connection
//! floods, bodies refused before they are read, and CGI edges (`%00`, `Proxy:`). Every loop is
//! bounded in count and time.

use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e::{body_text, kv, wasm};
use harness::{Harness, Limits, ModuleConfig, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn probe_server(limits: Limits) -> Server {
    Harness::builder()
        .limits(limits)
        .module(ModuleConfig::new("/probe/...", wasm("cgi-probe")))
        .build()
        .expect("the probe module loads")
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind a loopback port")
}

/// Sends raw bytes on a new connection and returns everything the server answers until it
/// closes the connection (or `wait` passes).
async fn raw_exchange(server: &Server, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_are_cut_off_while_other_clients_are_served() {
    let server = probe_server(Limits {
        header_read_timeout: Duration::from_millis(500),
        ..Limits::default()
    })
    .await;
    // 300 clients that never finish their request head.
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"GET /probe?mode=env HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // A well-behaved client is served meanwhile.
    let started = Instant::now();
    let resp = e2e::fetch(&server.url(), e2e::get("/probe?mode=env")).await;
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Past the header-read timeout every slow connection is closed by the server.
    let deadline = Instant::now() + Duration::from_secs(10);
    for mut s in slow {
        let mut buf = [0u8; 256];
        let left = deadline.saturating_duration_since(Instant::now());
        let read = tokio::time::timeout(left, s.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "a slow client was still connected after the header-read timeout"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_requests_get_503_but_healthz_answers() {
    let server = probe_server(Limits {
        max_connections: 4,
        ..Limits::default()
    })
    .await;
    // Four idle keep-alive connections hold every slot.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(server.addr()).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    let busy = raw_exchange(
        &server,
        b"GET /probe?mode=env HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(busy.contains("too many open connections"), "{busy}");
    let health = raw_exchange(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    // A slot freed is a slot served again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = e2e::fetch(&server.url(), e2e::get("/probe?mode=env")).await;
    assert_eq!(resp.status(), 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_oversized_bodies_are_refused_before_the_body_is_read() {
    let server = probe_server(Limits {
        max_request_body_bytes: 1 << 20,
        ..Limits::default()
    })
    .await;
    // The heads announce bodies that are never sent: only an answer from the head alone can
    // arrive before the wait ends.
    let started = Instant::now();
    let no_route = raw_exchange(
        &server,
        b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(no_route.starts_with("HTTP/1.1 404"), "{no_route}");
    let too_big = raw_exchange(
        &server,
        b"POST /probe?mode=env HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(too_big.starts_with("HTTP/1.1 413"), "{too_big}");
    assert!(started.elapsed() < Duration::from_secs(4));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_a_408() {
    let server = probe_server(Limits {
        body_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let answer = raw_exchange(
        &server,
        // The guest reads its stdin (the body streams in), so it waits for the missing bytes.
        b"POST /probe?mode=binary HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_nul_in_the_path_is_400_and_proxy_header_never_reaches_the_guest() {
    let server = probe_server(Limits::default()).await;
    let nul = e2e::fetch(&server.url(), e2e::get("/probe/a%00b?mode=env")).await;
    assert_eq!(nul.status(), 400);
    assert!(body_text(&nul).contains("%00"), "{}", body_text(&nul));

    let req = http::Request::get("/probe?mode=env")
        .header("proxy", "http://attacker.example:8080")
        .header("x-other", "kept")
        .body(Bytes::new())
        .unwrap();
    let resp = e2e::fetch(&server.url(), req).await;
    assert_eq!(resp.status(), 200);
    let env = body_text(&resp);
    assert_eq!(kv(&env, "HTTP_X_OTHER").as_deref(), Some("kept"), "{env}");
    assert_eq!(kv(&env, "HTTP_PROXY"), None, "httpoxy: {env}");
    server.shutdown().await;
}
