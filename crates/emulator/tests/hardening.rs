//! Hostile clients through real sockets on 127.0.0.1: slow and idle connections, the connection
//! cap, body deadlines, refusals before the body, the Put Block List bomb, subscription
//! management and endpoints, query-parameter case, key redaction, pending events and restarts.
//! Every wait is bounded (timeouts are set short through the configuration).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use emulator::store::{StoreHandle, Table};
use emulator::{
    BlobConfig, EventGridConfig, RetryConfig, ServerLimits, SubscriptionConfig, DEV_TOPIC_KEY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short limits so that every timeout in this file is reached within a second.
fn short_limits(max_connections: usize) -> ServerLimits {
    ServerLimits {
        max_connections,
        header_read_timeout_ms: 300,
        idle_timeout_ms: 300,
        body_read_timeout_ms: 400,
    }
}

/// An EventGrid emulator on a free port with an in-memory store.
async fn eventgrid_with(cfg: EventGridConfig) -> emulator::eventgrid::EventGridEmulator {
    emulator::eventgrid::EventGridEmulator::start(
        EventGridConfig { port: 0, ..cfg },
        StoreHandle::memory(),
    )
    .await
    .expect("start eventgrid")
}

async fn blob_with(cfg: BlobConfig) -> emulator::blob::BlobEmulator {
    emulator::blob::BlobEmulator::start(
        BlobConfig {
            port: 0,
            events: None,
            ..cfg
        },
        StoreHandle::memory(),
        None,
    )
    .await
    .expect("start blob emulator")
}

/// Status and body text of the first response on `stream`, or `None` when the server closed
/// the connection first. Fails the test after `within`.
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<(u16, String)> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let status = head.get(9..12)?.parse::<u16>().ok()?;
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < end + 4 + len {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = String::from_utf8_lossy(&buf[end + 4..]).to_string();
                return Some((status, body));
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server neither answered nor closed the connection in time")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether the server closes `stream` (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A Shared Key signed request head (no body bytes) for `url`, as raw HTTP/1.1.
fn signed_head(method: &Method, url: &str, extra: &[(&str, &str)]) -> String {
    let uri: http::Uri = url.parse().expect("uri");
    let mut h = HeaderMap::new();
    h.insert(
        "x-ms-date",
        HeaderValue::from_str(&now_http()).expect("date"),
    );
    h.insert("x-ms-version", HeaderValue::from_static("2021-08-06"));
    for (k, v) in extra {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    let auth = emulator::blob::auth::authorization(ACCOUNT, KEY, method, &uri, &h).expect("sign");
    let mut out = format!(
        "{method} {} HTTP/1.1\r\nhost: {}\r\nauthorization: {auth}\r\n",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        uri.authority().map(|a| a.as_str()).unwrap_or("x")
    );
    for (k, v) in &h {
        out.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap_or("")));
    }
    out.push_str("\r\n");
    out
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_capped_timed_out_and_the_server_recovers() {
    let blob = blob_with(BlobConfig {
        limits: short_limits(20),
        ..Default::default()
    })
    .await;
    let addr = blob.addr();
    let partial = b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nhost: x\r\n";
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = connect(addr).await;
        s.write_all(partial).await.expect("write");
        slow.push(s);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Past the cap: the service's own 503, then the connection is closed.
    let mut over = connect(addr).await;
    over.write_all(b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let (status, body) = read_response(&mut over, Duration::from_secs(2))
        .await
        .expect("a 503 answer");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("ServerBusy"), "{body}");
    // A few hundred more slow clients: refused or timed out, never held.
    for _ in 0..230 {
        let mut s = connect(addr).await;
        let _ = s.write_all(partial).await;
        slow.push(s);
    }
    let mut waits = tokio::task::JoinSet::new();
    for mut s in slow {
        waits.spawn(async move { closed_within(&mut s, Duration::from_secs(2)).await });
    }
    let mut held = 0;
    while let Some(closed) = waits.join_next().await {
        if !closed.expect("join") {
            held += 1;
        }
    }
    assert_eq!(
        held, 0,
        "connections still open after the header-read timeout"
    );
    let r = signed(
        Method::GET,
        &format!("{}?comp=list", blob.account_url(ACCOUNT)),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    blob.shutdown().await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let blob = blob_with(BlobConfig {
        limits: short_limits(16),
        ..Default::default()
    })
    .await;
    let url = format!("{}?comp=list", blob.account_url(ACCOUNT));
    let mut s = connect(blob.addr()).await;
    s.write_all(signed_head(&Method::GET, &url, &[]).as_bytes())
        .await
        .expect("write");
    let (status, _) = read_response(&mut s, Duration::from_secs(2))
        .await
        .expect("answer");
    assert_eq!(status, 200);
    // Kept alive, then closed once idle.
    assert!(closed_within(&mut s, Duration::from_secs(2)).await);
    blob.shutdown().await;
}

#[tokio::test]
async fn blob_body_that_stalls_gets_408_and_oversized_gets_413_unread() {
    let blob = blob_with(BlobConfig {
        limits: short_limits(16),
        max_body_bytes: 1024,
        ..Default::default()
    })
    .await;
    let url = format!("{}/slow/b.txt", blob.account_url(ACCOUNT));
    let mut s = connect(blob.addr()).await;
    let head = signed_head(
        &Method::PUT,
        &url,
        &[("content-length", "100"), ("x-ms-blob-type", "BlockBlob")],
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(&[b'x'; 10]).await.expect("write");
    let started = Instant::now();
    let (status, body) = read_response(&mut s, Duration::from_secs(2))
        .await
        .expect("answer");
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("RequestTimeout"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Declared over the cap: refused from the head, nothing sent.
    let mut s = connect(blob.addr()).await;
    let head = signed_head(
        &Method::PUT,
        &url,
        &[("content-length", "5000"), ("x-ms-blob-type", "BlockBlob")],
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let (status, body) = read_response(&mut s, Duration::from_secs(2))
        .await
        .expect("answer");
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("RequestBodyTooLarge"), "{body}");
    blob.shutdown().await;
}

#[tokio::test]
async fn cosmos_checks_auth_and_size_before_reading_the_body() {
    let cfg = emulator::cosmos::CosmosConfig {
        limits: short_limits(16),
        ..Default::default()
    };
    let emu = emulator::cosmos::CosmosEmulator::start(cfg, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start cosmos");
    // No authorization, 4 MB announced, nothing sent: 401 at once.
    let mut s = connect(emu.addr()).await;
    s.write_all(b"POST /dbs HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 4000000\r\n\r\n")
        .await
        .expect("write");
    let (status, body) = read_response(&mut s, Duration::from_secs(2))
        .await
        .expect("answer");
    assert_eq!(status, 401, "{body}");
    // Signed, but more than the cap announced: 413 without reading.
    let date = now_http();
    let auth = emulator::cosmos::auth::authorization_header(
        emulator::cosmos::EMULATOR_MASTER_KEY,
        "POST",
        "dbs",
        "",
        &date,
    )
    .expect("sign");
    let mut s = connect(emu.addr()).await;
    let head = format!("POST /dbs HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\nx-ms-date: {date}\r\ncontent-type: application/json\r\ncontent-length: 5000000\r\n\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    let (status, body) = read_response(&mut s, Duration::from_secs(2))
        .await
        .expect("answer");
    assert_eq!(status, 413, "{body}");
    // Signed, small, but the body stalls: 408.
    let mut s = connect(emu.addr()).await;
    let head = format!("POST /dbs HTTP/1.1\r\nhost: x\r\nauthorization: {auth}\r\nx-ms-date: {date}\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{{\"id\"");
    s.write_all(head.as_bytes()).await.expect("write");
    let (status, body) = read_response(&mut s, Duration::from_secs(2))
        .await
        .expect("answer");
    assert_eq!(status, 408, "{body}");
    emu.shutdown().await;
}

#[tokio::test]
async fn eventgrid_refuses_oversized_batches_before_reading() {
    let eg = eventgrid_with(EventGridConfig {
        limits: short_limits(16),
        ..Default::default()
    })
    .await;
    let mut s = connect(eg.addr()).await;
    let head = format!("POST /api/events?api-version=2018-01-01 HTTP/1.1\r\nhost: x\r\naeg-sas-key: {DEV_TOPIC_KEY}\r\ncontent-type: application/json\r\ncontent-length: 2000000\r\n\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    let (status, body) = read_response(&mut s, Duration::from_secs(2))
        .await
        .expect("answer");
    assert_eq!(status, 413, "{body}");
    eg.shutdown().await;
}

async fn stage_block(base: &str, id: &str, data: Vec<u8>) {
    let r = signed(
        Method::PUT,
        &format!("{base}?comp=block&blockid={}", id.replace('=', "%3D")),
        &[],
        data,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

fn block_list(id: &str, times: usize) -> String {
    let entry = format!("<Latest>{id}</Latest>");
    let mut out = String::with_capacity(entry.len() * times + 64);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for _ in 0..times {
        out.push_str(&entry);
    }
    out.push_str("</BlockList>");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_list_naming_one_block_a_million_times_is_refused_quickly() {
    let blob = blob_with(BlobConfig::default()).await;
    let container = format!("{}/bomb", blob.account_url(ACCOUNT));
    signed(
        Method::PUT,
        &format!("{container}?restype=container"),
        &[],
        "",
    )
    .await;
    let base = format!("{container}/b.bin");
    stage_block(&base, "QUFBQQ==", vec![7u8; 4 * 1024 * 1024]).await;
    let started = Instant::now();
    let r = signed(
        Method::PUT,
        &format!("{base}?comp=blocklist"),
        &[],
        block_list("QUFBQQ==", 1_000_000),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error_code(), Some("BlockListTooLong"));
    assert!(started.elapsed() < Duration::from_secs(20));
    // The emulator is still there, and the blob was not created.
    let r = signed(Method::GET, &base, &[], "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    blob.shutdown().await;
}

#[tokio::test]
async fn block_list_over_the_blob_size_cap_is_refused_before_copying() {
    let blob = blob_with(BlobConfig {
        max_blob_bytes: 1024 * 1024,
        ..Default::default()
    })
    .await;
    let container = format!("{}/capped", blob.account_url(ACCOUNT));
    signed(
        Method::PUT,
        &format!("{container}?restype=container"),
        &[],
        "",
    )
    .await;
    let base = format!("{container}/b.bin");
    let block: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    stage_block(&base, "QUFBQQ==", block.clone()).await;
    let r = signed(
        Method::PUT,
        &format!("{base}?comp=blocklist"),
        &[],
        block_list("QUFBQQ==", 100),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.error_code(), Some("RequestBodyTooLarge"));
    // A legitimate repetition within the cap is committed as asked.
    let r = signed(
        Method::PUT,
        &format!("{base}?comp=blocklist"),
        &[],
        block_list("QUFBQQ==", 10),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = signed(Method::GET, &base, &[], "").await;
    assert_eq!(r.body.len(), 10 * block.len());
    assert!(r.body.chunks(block.len()).all(|c| c == &block[..]));
    // Put Blob obeys the same cap.
    let r = signed(
        Method::PUT,
        &format!("{container}/big.bin"),
        &[("x-ms-blob-type", "BlockBlob")],
        vec![0u8; 2 * 1024 * 1024],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    // An unknown block id is InvalidBlockList.
    let r = signed(
        Method::PUT,
        &format!("{base}?comp=blocklist"),
        &[],
        block_list("QkJCQg==", 1),
    )
    .await;
    assert_eq!(r.error_code(), Some("InvalidBlockList"), "{}", r.text());
    blob.shutdown().await;
}

#[tokio::test]
async fn staging_past_100000_uncommitted_blocks_is_refused() {
    let store = StoreHandle::memory();
    // 100,000 staged blocks, written straight into the store (key `account/container/blob\0id`,
    // value: a pointer to the part holding the block's bytes).
    let ops = (0..100_000u32)
        .map(|i| emulator::store::Op::Put {
            table: Table::Blocks,
            key: format!("{ACCOUNT}/many/b.bin\u{0}{}", block_id(i)),
            value: format!(r#"{{"part":{{"name":"s{i}","size":1}}}}"#).into_bytes(),
        })
        .collect();
    store.commit(ops).await.expect("stage");
    let blob = emulator::blob::BlobEmulator::start(
        BlobConfig {
            port: 0,
            events: None,
            ..Default::default()
        },
        store,
        None,
    )
    .await
    .expect("start");
    let container = format!("{}/many", blob.account_url(ACCOUNT));
    signed(
        Method::PUT,
        &format!("{container}?restype=container"),
        &[],
        "",
    )
    .await;
    let put = |i: u32| {
        format!(
            "{container}/b.bin?comp=block&blockid={}",
            block_id(i).replace('=', "%3D")
        )
    };
    let r = signed(Method::PUT, &put(100_000), &[], "x").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.error_code(), Some("BlockCountExceedsLimit"));
    // Staging an id that is already there again is fine.
    let r = signed(Method::PUT, &put(7), &[], "x").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    blob.shutdown().await;
}

fn block_id(i: u32) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{i:08}"))
}

#[tokio::test]
async fn subscriptions_to_the_metadata_address_are_refused_by_every_route() {
    const ADMIN: &str = "hardening-admin";
    let eg = eventgrid_with(EventGridConfig {
        admin_key: Some(ADMIN.into()),
        ..Default::default()
    })
    .await;
    let metadata = "http://169.254.169.254/latest/meta-data/";
    let err = eg
        .add_subscription(SubscriptionConfig::new("m", "default", metadata))
        .await
        .expect_err("Rust API refuses");
    assert!(err.to_string().contains("link-local"), "{err}");
    let err = eg
        .add_subscription(SubscriptionConfig::new(
            "p",
            "default",
            "http://10.0.0.5:8080/x",
        ))
        .await
        .expect_err("private host not in the allow-list");
    assert!(err.to_string().contains("delivery_allowed_hosts"), "{err}");
    let r = send(
        Method::PUT,
        &format!("{}/default/subscriptions/m", eg.url()),
        &[("x-emulator-admin-key", ADMIN)],
        json!({ "endpoint": metadata }).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(eg.subscriptions().is_empty());
    eg.shutdown().await;
    // Config: refused at start, even with every host allowed.
    let cfg = EventGridConfig {
        port: 0,
        subscriptions: vec![SubscriptionConfig::new("m", "default", metadata)],
        delivery_allowed_hosts: vec!["*".into()],
        ..Default::default()
    };
    let err = emulator::eventgrid::EventGridEmulator::start(cfg, StoreHandle::memory())
        .await
        .expect_err("config refused");
    assert!(err.to_string().contains("link-local"), "{err}");
    // A host listed explicitly is allowed.
    let cfg = EventGridConfig {
        port: 0,
        subscriptions: vec![SubscriptionConfig::new(
            "p",
            "default",
            "http://10.0.0.5:8080/x",
        )],
        delivery_allowed_hosts: vec!["loopback".into(), "10.0.0.5".into()],
        ..Default::default()
    };
    let eg = emulator::eventgrid::EventGridEmulator::start(cfg, StoreHandle::memory())
        .await
        .expect("listed host allowed");
    eg.shutdown().await;
}

#[tokio::test]
async fn topic_keys_cannot_manage_subscriptions() {
    let hook = webhook(Behaviour::Good).await;
    let body = json!({ "endpoint": hook.url() }).to_string();
    // No admin key configured: HTTP management is off.
    let eg = eventgrid_with(EventGridConfig::default()).await;
    let url = format!("{}/default/subscriptions/s", eg.url());
    let r = send(
        Method::PUT,
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("admin_key"), "{}", r.text());
    let r = send(
        Method::GET,
        &format!("{}/default/subscriptions", eg.url()),
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(eg.subscriptions().is_empty());
    eg.shutdown().await;
    // With an admin key: the topic key is still refused, and says why.
    let eg = eventgrid_with(EventGridConfig {
        admin_key: Some("admin".into()),
        ..Default::default()
    })
    .await;
    let url = format!("{}/default/subscriptions/s", eg.url());
    let r = send(
        Method::PUT,
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert!(r.text().contains("topic keys"), "{}", r.text());
    let r = send(Method::DELETE, &url, &[("aeg-sas-key", DEV_TOPIC_KEY)], "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(eg.subscriptions().is_empty());
    eg.shutdown().await;
}

#[tokio::test]
async fn query_parameter_names_are_one_rule_for_dispatch_and_signature() {
    let blob = blob_with(BlobConfig::default()).await;
    let container = format!("{}/case", blob.account_url(ACCOUNT));
    signed(
        Method::PUT,
        &format!("{container}?restype=container"),
        &[],
        "",
    )
    .await;
    let r = signed(
        Method::PUT,
        &format!("{container}/b.txt"),
        &[("x-ms-blob-type", "BlockBlob"), ("x-ms-meta-color", "blue")],
        "hello",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Signed as comp=metadata (the signature lowercases names): runs Get Blob Metadata.
    let r = signed(
        Method::GET,
        &format!("{container}/b.txt?COMP=metadata"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-ms-meta-color"), Some("blue"));
    assert!(r.body.is_empty(), "ran Get Blob: {}", r.text());
    let r = signed(
        Method::GET,
        &format!("{container}?ResType=container&Comp=list"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("<Name>b.txt</Name>"), "{}", r.text());
    // The same name twice in different case is refused, not half-dispatched.
    let r = signed(
        Method::GET,
        &format!("{container}/b.txt?comp=metadata&COMP=list"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error_code(), Some("InvalidQueryParameterValue"));
    blob.shutdown().await;
}

#[test]
fn debug_output_redacts_every_key() {
    let cosmos = emulator::cosmos::CosmosConfig {
        secondary_key: Some("c2Vjb25kYXJ5".into()),
        ..Default::default()
    };
    let mut all = emulator::EmulatorsConfig::default();
    all.cosmos.settings = cosmos.clone();
    all.eventgrid.admin_key = Some("very-secret-admin".into());
    for shown in [format!("{cosmos:?}"), format!("{all:?}")] {
        assert!(
            !shown.contains(emulator::cosmos::EMULATOR_MASTER_KEY),
            "{shown}"
        );
        assert!(!shown.contains("c2Vjb25kYXJ5"), "{shown}");
        assert!(!shown.contains("very-secret-admin"), "{shown}");
        assert!(!shown.contains(emulator::DEV_ACCOUNT_KEY), "{shown}");
        assert!(!shown.contains(DEV_TOPIC_KEY), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}

#[tokio::test]
async fn accepted_events_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = webhook(Behaviour::Good).await;
    hook.failures.lock().expect("lock").push_back(500);
    let cfg = EventGridConfig {
        port: 0,
        subscriptions: vec![SubscriptionConfig::new("keep", "default", &hook.url())],
        // The retry after the first failure would come long after the restart.
        retry: RetryConfig {
            max_attempts: 5,
            initial_backoff_ms: 600_000,
            max_backoff_ms: 600_000,
        },
        delivery_timeout_ms: 2000,
        ..Default::default()
    };
    let eg = emulator::eventgrid::EventGridEmulator::start(
        cfg.clone(),
        StoreHandle::open_dir(dir.path()).expect("open"),
    )
    .await
    .expect("start");
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    let event = json!([{"id": "survivor", "subject": "/s", "eventType": "A.B", "eventTime": "2024-01-01T00:00:00Z", "dataVersion": "1", "data": {}}]);
    let r = send(
        Method::POST,
        &url,
        &[
            ("aeg-sas-key", DEV_TOPIC_KEY),
            ("content-type", "application/json"),
        ],
        event.to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    hook.wait_for(|n| n.len() == 1).await;
    // Let the failed attempt be recorded before stopping.
    tokio::time::sleep(Duration::from_millis(300)).await;
    eg.shutdown().await;
    {
        let store = StoreHandle::open_dir(dir.path()).expect("reopen");
        let pending = store
            .scan_prefix(Table::PendingDeliveries, "default/keep/")
            .await
            .expect("scan");
        assert_eq!(pending.len(), 1, "the undelivered event is kept");
    }
    let eg = emulator::eventgrid::EventGridEmulator::start(
        cfg,
        StoreHandle::open_dir(dir.path()).expect("open again"),
    )
    .await
    .expect("restart");
    let got = hook.wait_for(|n| n.len() == 2).await;
    let body: serde_json::Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(body[0]["id"], "survivor");
    assert_eq!(
        got[1]
            .headers
            .get("aeg-delivery-count")
            .map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    // Let the delivery be recorded as done before stopping.
    tokio::time::sleep(Duration::from_millis(300)).await;
    eg.shutdown().await;
    let store = StoreHandle::open_dir(dir.path()).expect("reopen");
    assert!(store
        .scan_prefix(Table::PendingDeliveries, "")
        .await
        .expect("scan")
        .is_empty());
    assert!(eg_dead_letters_empty(&store).await);
}

async fn eg_dead_letters_empty(store: &StoreHandle) -> bool {
    store
        .scan_prefix(Table::DeadLetters, "")
        .await
        .expect("scan")
        .is_empty()
}
