//! The harness serves `wasi:http` components (`wasm32-wasip2`) next to WAGI modules: request and
//! response, environment, stderr, limits, and outbound calls through `send_request` with the
//! module's allow-list, all over real sockets on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e::{body_text, capture_logs, component, enc, get, kv, wasm, Upstream};
use harness::{Harness, Limits, ModuleConfig, Server};

/// Every test ends well within this.
const BOUND: Duration = Duration::from_secs(60);

fn probe_module(route: &str) -> ModuleConfig {
    ModuleConfig::new(route, component("component-probe"))
}

async fn serve(limits: Limits, modules: Vec<ModuleConfig>) -> (Harness, Server) {
    let mut b = Harness::builder().limits(limits);
    for m in modules {
        b = b.module(m);
    }
    let h = b.build().expect("the component loads");
    let server = h.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (h, server)
}

async fn fetch(server: &Server, req: http::Request<Bytes>) -> http::Response<Bytes> {
    tokio::time::timeout(BOUND, e2e::fetch(&server.url(), req))
        .await
        .expect("the harness answers in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_environment_reaches_the_component_and_server_timing_is_set() {
    let (_h, server) = serve(
        Limits::default(),
        vec![probe_module("/c").env("GREETING", "hello from config")],
    )
    .await;
    let resp = fetch(&server, get("/c?op=env&name=GREETING")).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    assert_eq!(body_text(&resp), "hello from config");
    assert_eq!(resp.headers()["content-type"], "text/plain");
    let timing = resp.headers()["server-timing"].to_str().unwrap();
    assert!(
        timing.starts_with("instantiate;dur=") && timing.contains(", run;dur="),
        "{timing}"
    );
    let missing = fetch(&server, get("/c?op=env&name=NOT_SET")).await;
    assert_eq!(missing.status(), 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_component_sees_the_request_as_sent() {
    let (_h, server) = serve(Limits::default(), vec![probe_module("/c/...")]).await;
    let req = http::Request::put("/c/deep/a%20b?op=echo&x=1&y=two")
        .header("content-type", "application/json")
        .header("x-custom-thing", "v1")
        .header("x-repeat", "one")
        .header("x-repeat", "two")
        .body(Bytes::from_static(b"{\"k\":1}"))
        .unwrap();
    let resp = fetch(&server, req).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    let text = body_text(&resp);
    let port = server.addr().port();
    assert_eq!(kv(&text, "method").as_deref(), Some("PUT"), "{text}");
    assert_eq!(kv(&text, "scheme").as_deref(), Some("http"));
    assert_eq!(
        kv(&text, "authority"),
        Some(format!("127.0.0.1:{port}")),
        "{text}"
    );
    assert_eq!(kv(&text, "path").as_deref(), Some("/c/deep/a%20b"));
    assert_eq!(kv(&text, "query").as_deref(), Some("op=echo&x=1&y=two"));
    assert_eq!(kv(&text, "body").as_deref(), Some("{\"k\":1}"));
    for line in [
        "header=content-type:application/json",
        "header=x-custom-thing:v1",
        "header=x-repeat:one",
        "header=x-repeat:two",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    // Forbidden headers never reach the guest.
    assert!(!text.contains("header=host:"), "{text}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_outbound_call_with_host_from_the_url_and_no_forbidden_headers() {
    let seen: Arc<Mutex<Vec<http::HeaderMap>>> = Arc::default();
    let up = Upstream::start({
        let seen = seen.clone();
        move |req| {
            seen.lock().unwrap().push(req.headers().clone());
            async move { e2e::text(200, &format!("hello {} {}", req.method(), req.uri())) }
        }
    })
    .await;
    let (_h, server) = serve(
        Limits::default(),
        vec![probe_module("/c").allowed_host(up.origin())],
    )
    .await;
    let url = up.url("/path?q=1");
    let query = format!(
        "/c?op=fetch&url={}&header={}&header={}&header={}&header={}",
        enc(&url),
        enc("x-echo:abc"),
        enc("host:evil.example"),
        enc("te:trailers"),
        enc("proxy-foo:bar"),
    );
    let resp = fetch(&server, get(&query)).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    let text = body_text(&resp);
    assert_eq!(kv(&text, "status").as_deref(), Some("200"), "{text}");
    assert_eq!(kv(&text, "body").as_deref(), Some("hello GET /path?q=1"));
    // The guest was refused the forbidden headers...
    for name in ["host", "te", "proxy-foo"] {
        assert!(
            text.contains(&format!("header_error={name}:HeaderError::Forbidden")),
            "{name} in\n{text}"
        );
    }
    // ...and the upstream saw only the URL's host.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let headers = &seen[0];
    assert_eq!(headers["host"], up.addr().to_string().as_str());
    assert_eq!(headers.get_all("host").iter().count(), 1);
    assert_eq!(headers["x-echo"], "abc");
    for name in ["te", "proxy-foo", "connection", "upgrade"] {
        assert!(headers.get(name).is_none(), "{name}: {headers:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn denied_outbound_call_is_http_request_denied_and_never_sent() {
    let (logs, _guard) = capture_logs();
    let hits = Arc::new(AtomicUsize::new(0));
    let up = Upstream::start({
        let hits = hits.clone();
        move |_req| {
            hits.fetch_add(1, Ordering::SeqCst);
            async { e2e::text(200, "should not be reached") }
        }
    })
    .await;
    let other = format!(
        "http://127.0.0.1:{}",
        up.addr().port().wrapping_add(1).max(1)
    );
    let (h, _server) = serve(
        Limits::default(),
        vec![probe_module("/c").allowed_host(other)],
    )
    .await;
    let resp = tokio::time::timeout(
        BOUND,
        h.handle(get(&format!(
            "/c?op=fetch&url={}",
            enc(&up.url("/x?sig=secret"))
        ))),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 502, "{}", body_text(&resp));
    assert_eq!(
        kv(&body_text(&resp), "error").as_deref(),
        Some("ErrorCode::HttpRequestDenied")
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the upstream must not be contacted"
    );
    let logs = logs.text();
    let line = format!(
        "add \"http://127.0.0.1:{}\" to allowed_hosts of this module",
        up.addr().port()
    );
    assert!(logs.contains(&line), "{line} in\n{logs}");
    assert!(!logs.contains("secret"), "the query is not logged:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_reach_the_guest_unfollowed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let up = Upstream::start({
        let hits = hits.clone();
        move |_req| {
            hits.fetch_add(1, Ordering::SeqCst);
            async {
                let mut r = e2e::text(302, "moved");
                r.headers_mut()
                    .insert("location", "http://192.0.2.1/elsewhere".parse().unwrap());
                r
            }
        }
    })
    .await;
    let (h, _server) = serve(
        Limits::default(),
        vec![probe_module("/c").allowed_host(up.origin())],
    )
    .await;
    let resp = h
        .handle(get(&format!("/c?op=fetch&url={}", enc(&up.url("/r")))))
        .await;
    let text = body_text(&resp);
    assert_eq!(kv(&text, "status").as_deref(), Some("302"), "{text}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_body_cap_and_clamped_timeouts() {
    let up = Upstream::start(|req| async move {
        if req.uri().path() == "/slow" {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        e2e::text(200, &"y".repeat(5000))
    })
    .await;
    let limits = Limits {
        max_outbound_body_bytes: 1000,
        outbound_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let (h, _server) = serve(limits, vec![probe_module("/c").allowed_host(up.origin())]).await;

    let resp = h
        .handle(get(&format!("/c?op=fetch&url={}", enc(&up.url("/big")))))
        .await;
    let text = body_text(&resp);
    assert_eq!(resp.status(), 502, "{text}");
    assert_eq!(kv(&text, "status").as_deref(), Some("200"), "{text}");
    assert!(kv(&text, "error").unwrap().starts_with("body:"), "{text}");

    // The guest asks for a minute; the harness's outbound_timeout (500 ms) wins.
    let started = Instant::now();
    let resp = h
        .handle(get(&format!(
            "/c?op=fetch&timeout_ms=60000&url={}",
            enc(&up.url("/slow"))
        )))
        .await;
    let text = body_text(&resp);
    assert_eq!(resp.status(), 502, "{text}");
    assert!(kv(&text, "error").unwrap().contains("Timeout"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_body_is_streamed_and_capped() {
    let limits = Limits {
        max_response_bytes: 100_000,
        ..Limits::default()
    };
    let (_h, server) = serve(limits, vec![probe_module("/c")]).await;
    let ok = fetch(&server, get("/c?op=big&bytes=99999")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body().len(), 99_999);
    assert!(ok.body().iter().all(|b| *b == b'x'));
    // The body streams: its head (200) is out before it is known to be too large, so past the
    // cap the response is cut (the chunked body never gets its last chunk), not turned into a
    // 502.
    let too_big = tokio::time::timeout(BOUND, async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut conn = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        conn.write_all(
            b"GET /c?op=big&bytes=1000000 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut raw = Vec::new();
        let _ = conn.read_to_end(&mut raw).await;
        raw
    })
    .await
    .expect("the harness answers in time");
    assert!(
        too_big.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&too_big[..too_big.len().min(200)])
    );
    assert!(
        !too_big.ends_with(b"\r\n0\r\n\r\n"),
        "the cut body must not end cleanly"
    );
    assert!(too_big.len() < 200_000, "{}", too_big.len());
    // The harness still serves.
    let again = fetch(&server, get("/c?op=big&bytes=10")).await;
    assert_eq!(again.status(), 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_is_500_and_spin_is_stopped_at_the_time_limit() {
    let limits = Limits {
        request_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let (_h, server) = serve(limits, vec![probe_module("/c")]).await;
    let trap = fetch(&server, get("/c?op=trap")).await;
    assert_eq!(trap.status(), 500);
    assert!(body_text(&trap).contains("crashed"), "{}", body_text(&trap));
    assert!(trap.headers().contains_key("server-timing"));

    let started = Instant::now();
    let spin = fetch(&server, get("/c?op=spin")).await;
    assert_eq!(spin.status(), 503);
    assert!(
        body_text(&spin).contains("did not finish within 1s"),
        "{}",
        body_text(&spin)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A guest waiting on a host pollable is stopped too.
    let sleep = fetch(&server, get("/c?op=sleep&ms=10000")).await;
    assert_eq!(sleep.status(), 503);
    let ok = fetch(&server, get("/c?op=sleep&ms=1")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(body_text(&ok), "slept");
    server.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn stderr_goes_to_the_log() {
    let (logs, _guard) = capture_logs();
    let h = Harness::builder()
        .module(probe_module("/c"))
        .build()
        .unwrap();
    let resp = h.handle(get("/c?op=stderr")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(body_text(&resp), "ok");
    let logs = logs.text();
    for line in [
        "component-probe: first stderr line",
        "component-probe: second stderr line",
    ] {
        assert!(logs.contains(line), "{line} in\n{logs}");
    }
    assert!(logs.contains("harness::guest_stderr"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_pool_is_503_then_recovers() {
    let limits = Limits {
        max_instances: 1,
        request_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let (_h, server) = serve(limits, vec![probe_module("/c")]).await;
    let url = server.url();
    let busy = tokio::spawn(async move { e2e::fetch(&url, get("/c?op=sleep&ms=1500")).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let refused = fetch(&server, get("/c?op=env&name=X")).await;
    assert_eq!(refused.status(), 503, "{}", body_text(&refused));
    assert!(
        body_text(&refused).contains("too many requests"),
        "{}",
        body_text(&refused)
    );
    let first = tokio::time::timeout(BOUND, busy).await.unwrap().unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(body_text(&first), "slept");
    let after = fetch(&server, get("/c?op=sleep&ms=1")).await;
    assert_eq!(after.status(), 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wagi_module_and_component_side_by_side() {
    let (_h, server) = serve(
        Limits::default(),
        vec![
            ModuleConfig::new("/wagi", wasm("cgi-probe")).env("WHO", "module"),
            probe_module("/component").env("WHO", "component"),
        ],
    )
    .await;
    for _ in 0..3 {
        let m = fetch(&server, get("/wagi?mode=env")).await;
        assert_eq!(m.status(), 200, "{}", body_text(&m));
        assert_eq!(kv(&body_text(&m), "WHO").as_deref(), Some("module"));
        assert!(m.headers().contains_key("server-timing"));
        let c = fetch(&server, get("/component?op=env&name=WHO")).await;
        assert_eq!(c.status(), 200, "{}", body_text(&c));
        assert_eq!(body_text(&c), "component");
        assert!(c.headers().contains_key("server-timing"));
    }
    let none = fetch(&server, get("/nothing")).await;
    assert_eq!(none.status(), 404);
    server.shutdown().await;
}

#[test]
fn unknown_binary_versions_and_non_wasm_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (bytes, reason) in [
        (
            &b"\0asm\x0e\0\x01\0"[..],
            "unsupported version (version 14, layer 1)",
        ),
        (&b"hello, not wasm"[..], "does not compile"),
    ] {
        let path = dir.path().join("bad.wasm");
        std::fs::write(&path, bytes).unwrap();
        let err = Harness::builder()
            .module(ModuleConfig::new("/x", &path))
            .build()
            .err()
            .expect("the file is refused");
        assert!(err.to_string().contains(reason), "{reason} in {err}");
    }
}
