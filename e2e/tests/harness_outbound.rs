//! The host side of `wasi_experimental_http`: allow-list, redirects, limits and every error
//! code, driven by a guest that calls the raw imports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use e2e::{body_text, enc, get, kv, wasm, Upstream};
use harness::{Harness, Limits, ModuleConfig};

fn fnv(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{h:016x}")
}

fn probe(allowed: &[String], limits: Limits, max_concurrency: Option<u32>) -> Harness {
    let mut m = ModuleConfig::new("/out", wasm("outbound-probe"));
    for a in allowed {
        m = m.allowed_host(a.clone());
    }
    if let Some(n) = max_concurrency {
        m = m.http_max_concurrency(n);
    }
    Harness::builder()
        .limits(limits)
        .module(m)
        .module(ModuleConfig::new("/fast", wasm("cgi-probe")))
        .build()
        .expect("probe modules load")
}

async fn run(h: &Harness, op: &str, url: &str, extra: &str) -> String {
    let resp = h
        .handle(get(&format!("/out?op={op}&url={}{extra}", enc(url))))
        .await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    body_text(&resp)
}

async fn hello_upstream() -> Upstream {
    Upstream::start(|req| async move {
        let mut r = e2e::text(200, &format!("hello {} {}", req.method(), req.uri().path()));
        r.headers_mut().append("x-multi", "one".parse().unwrap());
        r.headers_mut().append("x-multi", "two".parse().unwrap());
        if let Some(v) = req.headers().get("x-echo") {
            r.headers_mut().insert("x-echo", v.clone());
        }
        r
    })
    .await
}

#[tokio::test]
async fn allowed_request_round_trip_with_repeated_headers() {
    let up = hello_upstream().await;
    let h = probe(&[up.origin()], Limits::default(), None);
    let out = run(
        &h,
        "get",
        &up.url("/path"),
        &format!("&headers={}", enc("X-Echo:abc")),
    )
    .await;
    assert_eq!(kv(&out, "code").as_deref(), Some("0"), "{out}");
    assert_eq!(kv(&out, "status").as_deref(), Some("200"));
    assert_eq!(kv(&out, "body").as_deref(), Some("hello GET /path"));
    assert_eq!(kv(&out, "content_type").as_deref(), Some("text/plain"));
    let headers = kv(&out, "headers").unwrap();
    assert!(headers.contains("x-multi:one|x-multi:two|"), "{headers}");
    assert!(headers.contains("x-echo:abc|"), "{headers}");
    assert_eq!(kv(&out, "missing_header_code").as_deref(), Some("5"));
    assert_eq!(kv(&out, "body_code").as_deref(), Some("0"));
    assert_eq!(kv(&out, "close_code").as_deref(), Some("0"));
    assert_eq!(kv(&out, "close_again_code").as_deref(), Some("1"));
}

#[tokio::test]
async fn post_body_reaches_the_upstream() {
    let up =
        Upstream::start(
            |req| async move { e2e::text(201, &format!("got {} bytes", req.body().len())) },
        )
        .await;
    let h = probe(&[up.origin()], Limits::default(), None);
    let resp = h
        .handle(
            http::Request::post(format!(
                "/out?op=get&method=POST&url={}",
                enc(&up.url("/p"))
            ))
            .body(Bytes::from(vec![9u8; 3000]))
            .unwrap(),
        )
        .await;
    let out = body_text(&resp);
    assert_eq!(kv(&out, "status").as_deref(), Some("201"), "{out}");
    assert_eq!(kv(&out, "body").as_deref(), Some("got 3000 bytes"));
}

#[tokio::test]
async fn ten_mib_body_arrives_intact() {
    let big: Bytes = (0..10u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let expected = fnv(&big);
    let up = Upstream::start(move |_| {
        let big = big.clone();
        async move { http::Response::new(big) }
    })
    .await;
    let h = probe(&[up.origin()], Limits::default(), None);
    let out = run(&h, "get", &up.url("/big"), "").await;
    assert_eq!(kv(&out, "body_len").as_deref(), Some("10485760"), "{out}");
    assert_eq!(kv(&out, "body_sha"), Some(expected));
}

#[tokio::test]
async fn body_larger_than_the_limit_is_a_request_error() {
    let up =
        Upstream::start(|_| async { http::Response::new(Bytes::from(vec![1u8; 100_000])) }).await;
    let limits = Limits {
        max_outbound_body_bytes: 10_000,
        ..Limits::default()
    };
    let h = probe(&[up.origin()], limits, None);
    let out = run(&h, "get", &up.url("/"), "").await;
    assert_eq!(kv(&out, "code").as_deref(), Some("0"));
    assert_eq!(kv(&out, "body_code").as_deref(), Some("11"), "{out}");
}

#[tokio::test]
async fn denied_hosts_get_code_7() {
    let up = hello_upstream().await;
    let other = hello_upstream().await;
    // Same host, other port: denied. No allowed_hosts at all: denied.
    let h = probe(&[up.origin()], Limits::default(), None);
    assert_eq!(
        kv(&run(&h, "get", &other.url("/"), "").await, "code").as_deref(),
        Some("7")
    );
    let https_same_port = format!("https://{}/", up.addr());
    assert_eq!(
        kv(&run(&h, "get", &https_same_port, "").await, "code").as_deref(),
        Some("7")
    );
    let none = probe(&[], Limits::default(), None);
    assert_eq!(
        kv(&run(&none, "get", &up.url("/"), "").await, "code").as_deref(),
        Some("7")
    );
    // allow-all reaches any address once the private-range check is off (it is on by default,
    // and the upstreams here are on 127.0.0.1; see hardening_outbound.rs for the check itself).
    let all = probe(
        &["insecure:allow-all".into()],
        Limits {
            block_private_networks: false,
            ..Limits::default()
        },
        None,
    );
    assert_eq!(
        kv(&run(&all, "get", &other.url("/"), "").await, "code").as_deref(),
        Some("0")
    );
}

#[tokio::test]
async fn redirects_are_checked_hop_by_hop() {
    let target = hello_upstream().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let denied_target = Upstream::start(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { e2e::text(200, "secret") }
    })
    .await;
    let to_allowed = target.url("/landed");
    let to_denied = denied_target.url("/secret");
    let redirector = Upstream::start(move |req| {
        let (a, d) = (to_allowed.clone(), to_denied.clone());
        async move {
            let location = if req.uri().path() == "/to-denied" {
                d
            } else {
                a
            };
            let mut r = e2e::text(302, "moved");
            r.headers_mut()
                .insert("location", location.parse().unwrap());
            r
        }
    })
    .await;
    let h = probe(
        &[redirector.origin(), target.origin()],
        Limits::default(),
        None,
    );
    let out = run(&h, "get", &redirector.url("/to-allowed"), "").await;
    assert_eq!(kv(&out, "status").as_deref(), Some("200"), "{out}");
    assert_eq!(kv(&out, "body").as_deref(), Some("hello GET /landed"));
    let out = run(&h, "get", &redirector.url("/to-denied"), "").await;
    assert_eq!(kv(&out, "code").as_deref(), Some("7"), "{out}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the denied hop is never contacted"
    );
}

#[tokio::test]
async fn too_many_open_handles_is_code_13() {
    let up = hello_upstream().await;
    let h = probe(&[up.origin()], Limits::default(), Some(2));
    let out = run(&h, "too-many", &up.url("/"), "&n=3").await;
    assert_eq!(kv(&out, "codes").as_deref(), Some("0,0,13"), "{out}");
}

#[tokio::test]
async fn slow_upstream_times_out_with_code_11() {
    let up = Upstream::start(|_| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        e2e::text(200, "late")
    })
    .await;
    let limits = Limits {
        outbound_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let h = probe(&[up.origin()], limits, None);
    assert_eq!(
        kv(&run(&h, "get", &up.url("/"), "").await, "code").as_deref(),
        Some("11")
    );
}

#[tokio::test]
async fn connection_refused_is_code_11() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let origin = format!("http://127.0.0.1:{port}");
    let h = probe(std::slice::from_ref(&origin), Limits::default(), None);
    assert_eq!(
        kv(&run(&h, "get", &format!("{origin}/"), "").await, "code").as_deref(),
        Some("11")
    );
}

#[tokio::test]
async fn malformed_arguments_get_their_codes() {
    let up = hello_upstream().await;
    let h = probe(&[up.origin()], Limits::default(), None);
    let url = up.url("/");
    let cases = [
        ("wild-url-ptr", "code", "3"),
        ("len-past-memory", "code", "3"),
        ("wild-status-ptr", "code", "3"),
        ("non-utf8-url", "code", "6"),
        ("bad-url", "code", "10"),
        ("bad-method", "code", "8"),
        ("no-colon-header", "code", "9"),
        ("wild-body-buf", "code", "3"),
    ];
    for (op, key, expected) in cases {
        let out = run(&h, op, &url, "").await;
        assert_eq!(kv(&out, key).as_deref(), Some(expected), "{op}: {out}");
    }
    let out = run(&h, "unknown-handle", &url, "").await;
    for f in ["body_read", "headers_get_all", "header_get", "close"] {
        assert_eq!(kv(&out, f).as_deref(), Some("1"), "{f}: {out}");
    }
}

#[tokio::test]
async fn small_buffers_get_code_4_and_the_needed_length() {
    let up = hello_upstream().await;
    let h = probe(&[up.origin()], Limits::default(), None);
    let out = run(&h, "small-buffer", &up.url("/"), "").await;
    assert_eq!(kv(&out, "req_code").as_deref(), Some("0"));
    assert!(kv(&out, "grew_from").is_some(), "{out}");
    assert_eq!(
        kv(&out, "code").as_deref(),
        Some("0"),
        "grows until it fits: {out}"
    );
    assert_eq!(kv(&out, "header_get_small").as_deref(), Some("4"));
    assert_eq!(
        kv(&out, "needed").as_deref(),
        Some("10"),
        "len of text/plain"
    );
}

#[tokio::test]
async fn module_without_memory_gets_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-memory.wat");
    std::fs::write(
        &path,
        r#"(module
            (import "wasi_experimental_http" "body_read" (func $read (param i32 i32 i32 i32) (result i32)))
            (func (export "_start")
                ;; WASI needs memory too, so report by trapping unless the code is 2.
                (if (i32.ne (call $read (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const 2))
                    (then unreachable))))"#,
    )
    .unwrap();
    let h = Harness::builder()
        .module(ModuleConfig::new("/m", &path))
        .build()
        .unwrap();
    let resp = h.handle(get("/m")).await;
    // It returned normally (code 2) and, having no memory, wrote nothing: 502, not a trap's 500.
    assert_eq!(resp.status(), 502, "{}", body_text(&resp));
    assert!(
        body_text(&resp).contains("wrote nothing"),
        "{}",
        body_text(&resp)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_slow_outbound_calls_do_not_block_a_fast_route() {
    let arrived = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let (a, r) = (arrived.clone(), release.clone());
    let up = Upstream::start(move |_| {
        let (a, r) = (a.clone(), r.clone());
        async move {
            let notified = r.notified();
            a.fetch_add(1, Ordering::SeqCst);
            notified.await;
            e2e::text(200, "finally")
        }
    })
    .await;
    let h = probe(&[up.origin()], Limits::default(), None);
    let slow: Vec<_> = (0..64)
        .map(|_| {
            let h = h.clone();
            let url = up.url("/slow");
            tokio::spawn(async move { run(&h, "get", &url, "").await })
        })
        .collect();
    // Wait until all 64 guests are parked on the upstream.
    for _ in 0..600 {
        if arrived.load(Ordering::SeqCst) == 64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        arrived.load(Ordering::SeqCst),
        64,
        "all slow calls reach the upstream at once"
    );
    // A 65th request, to a fast route, is served while they wait.
    let fast = h.handle(get("/fast?mode=status")).await;
    assert_eq!(fast.status(), 418);
    assert!(
        slow.iter().all(|t| !t.is_finished()),
        "the slow calls are still waiting"
    );
    release.notify_waiters();
    for t in slow {
        let out = t.await.unwrap();
        assert_eq!(kv(&out, "body").as_deref(), Some("finally"), "{out}");
    }
}
