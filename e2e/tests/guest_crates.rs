//! The guest crates (azure-wasi-outbound, azure-wasi-handler, azure-wasi-core) exercised through
//! the real `hello`, `echo` and `fetch` guests in the harness, against upstream servers on
//! 127.0.0.1. Every test runs in both worlds (`e2e::in_both_worlds!`): once with the WAGI module
//! (`wasm32-wasip1`), once with the wasi:http component (`wasm32-wasip2`).
//!
//! Needs the guests built first for both targets: `cargo xtask build` (modules looked for in
//! `target/wasm32-wasip1/wasm-release` or `AZURE_WASI_WASM_DIR`, components in
//! `target/wasm32-wasip2/wasm-release` or `AZURE_WASI_COMPONENT_DIR`).

use bytes::Bytes;
use harness::{Harness, ModuleConfig};
use http::{Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn harness_with(world: e2e::World, route: &str, guest: &str, allowed: Option<&str>) -> Harness {
    let mut module = ModuleConfig::new(route, world.guest(guest));
    if let Some(entry) = allowed {
        module = module.allowed_host(entry);
    }
    Harness::builder()
        .module(module)
        .build()
        .expect("the harness builds with the guest module")
}

fn json_body(resp: &Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", e2e::body_text(resp)))
}

fn header_values(resp: &Response<Bytes>, name: &str) -> Vec<String> {
    resp.headers()
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

async fn hello_answers_with_decoded_name(world: e2e::World) {
    let h = harness_with(world, "/hello", "hello", None);
    let resp = h.handle(e2e::get("/hello?name=wasm+world")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "hello, wasm world\n");
    assert_eq!(
        header_values(&resp, "content-type"),
        ["text/plain; charset=utf-8"]
    );
}

async fn fetch_streams_a_10_mib_body_intact(world: e2e::World) {
    let big: Bytes = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect::<Vec<u8>>()
        .into();
    let expected = Sha256::digest(&big);
    let served = big.clone();
    let upstream = e2e::Upstream::start(move |_req| {
        let body = served.clone();
        async move {
            let mut r = Response::new(body);
            r.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/x-test-blob"),
            );
            r
        }
    })
    .await;
    let h = harness_with(world, "/fetch", "fetch", Some(&upstream.origin()));
    for via in ["", "&via=binding"] {
        let uri = format!("/fetch?url={}{via}", e2e::enc(&upstream.url("/big")));
        let resp = h.handle(e2e::get(&uri)).await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "{via}: {}",
            e2e::body_text(&resp)
        );
        assert_eq!(
            header_values(&resp, "content-type"),
            ["application/x-test-blob"]
        );
        assert_eq!(resp.body().len(), big.len(), "{via}");
        assert_eq!(Sha256::digest(resp.body()), expected, "{via}: body differs");
    }
}

async fn repeated_response_headers_all_arrive(world: e2e::World) {
    let upstream = e2e::Upstream::start(|_req| async {
        let mut r = e2e::text(200, "multi");
        for v in ["one", "two", "three"] {
            r.headers_mut()
                .append("x-multi", http::HeaderValue::from_static(v));
        }
        r.headers_mut()
            .append("set-cookie", http::HeaderValue::from_static("a=1"));
        r.headers_mut()
            .append("set-cookie", http::HeaderValue::from_static("b=2"));
        // Larger than the binding's first 4 KiB header buffer: exercises growth on code 4.
        let big = http::HeaderValue::from_str(&"z".repeat(9000)).expect("valid value");
        r.headers_mut().append("x-big", big);
        r
    })
    .await;
    let h = harness_with(world, "/fetch", "fetch", Some(&upstream.origin()));
    let target = e2e::enc(&upstream.url("/m"));

    // Straight through the binding: every value stays a separate header line.
    let resp = h
        .handle(e2e::get(&format!("/fetch?url={target}&via=binding")))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(header_values(&resp, "x-multi"), ["one", "two", "three"]);
    assert_eq!(header_values(&resp, "set-cookie"), ["a=1", "b=2"]);
    assert_eq!(header_values(&resp, "x-big"), ["z".repeat(9000)]);
    assert_eq!(e2e::body_text(&resp), "multi");

    // Through azure_core (one value per name there): the values arrive joined, none lost.
    let resp = h.handle(e2e::get(&format!("/fetch?url={target}"))).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    let joined = header_values(&resp, "x-multi").join(", ");
    assert_eq!(joined, "one, two, three");
}

async fn retry_after_503_is_honoured_and_really_waits(world: e2e::World) {
    let hits: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = hits.clone();
    let upstream = e2e::Upstream::start(move |_req| {
        let seen = seen.clone();
        async move {
            let n = {
                let mut v = seen.lock().expect("hits lock");
                v.push(Instant::now());
                v.len()
            };
            if n == 1 {
                let mut r = e2e::text(503, "busy");
                r.headers_mut()
                    .insert("retry-after", http::HeaderValue::from_static("1"));
                r
            } else {
                e2e::text(200, "recovered")
            }
        }
    })
    .await;
    let h = harness_with(world, "/fetch", "fetch", Some(&upstream.origin()));
    let resp = h
        .handle(e2e::get(&format!(
            "/fetch?url={}",
            e2e::enc(&upstream.url("/flaky"))
        )))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "recovered");
    let hits = hits.lock().expect("hits lock").clone();
    assert_eq!(hits.len(), 2, "exactly one retry");
    let gap = hits[1] - hits[0];
    assert!(
        gap >= Duration::from_millis(950),
        "the retry came after {gap:?}, before Retry-After: 1 elapsed"
    );
}

/// An upstream that cuts its first connection after reading the request and answers the next
/// one: a transient failure, which `azure_core`'s retry policy must retry in both worlds.
async fn a_connection_cut_before_the_response_is_retried(world: e2e::World) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let server = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => head.extend_from_slice(&buf[..k]),
                }
            }
            if n > 1 {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nrecovered")
                    .await;
            }
            // The first connection is dropped here with no answer.
        }
    });
    let h = harness_with(world, "/fetch", "fetch", Some(&origin));
    let resp = h
        .handle(e2e::get(&format!(
            "/fetch?url={}",
            e2e::enc(&format!("{origin}/cut"))
        )))
        .await;
    server.abort();
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "recovered");
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one cut connection, then exactly one retry"
    );
}

async fn denied_host_is_a_502_naming_the_entry_to_add(world: e2e::World) {
    let upstream =
        e2e::Upstream::start(|_req| async { e2e::text(200, "should not be reached") }).await;
    // Allowed: a different port on the same host.
    let h = harness_with(world, "/fetch", "fetch", Some("http://127.0.0.1:1"));
    for via in ["", "&via=binding"] {
        let resp = h
            .handle(e2e::get(&format!(
                "/fetch?url={}{via}",
                e2e::enc(&upstream.url("/secret?sig=abc"))
            )))
            .await;
        let body = e2e::body_text(&resp);
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY, "{via}: {body}");
        assert!(
            body.contains(&format!("\"{}\"", upstream.origin())),
            "{via}: {body}"
        );
        assert!(body.contains("allowed_hosts"), "{via}: {body}");
        assert!(
            !body.contains("sig=abc"),
            "{via}: query must be redacted: {body}"
        );
    }
}

async fn missing_url_is_a_400_naming_the_parameter(world: e2e::World) {
    let h = harness_with(world, "/fetch", "fetch", None);
    let resp = h.handle(e2e::get("/fetch")).await;
    let body = e2e::body_text(&resp);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("`url`"), "{body}");
}

async fn echo_decodes_query_edge_cases(world: e2e::World) {
    let h = harness_with(world, "/echo", "echo", None);
    let resp = h
        .handle(e2e::get(
            "/echo?a=1&a=2&b=x+y&c=%E2%82%AC&d=%zz&e&=v&f=1%2B1&g=%&&h=%41%4",
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    let v = json_body(&resp);
    assert_eq!(
        v["query"],
        json!([
            ["a", "1"],
            ["a", "2"],
            ["b", "x y"],
            ["c", "€"],
            ["d", "%zz"],
            ["e", ""],
            ["", "v"],
            ["f", "1+1"],
            ["g", "%"],
            ["h", "A%4"]
        ])
    );
    assert_eq!(v["method"], "GET");
    assert_eq!(
        v["query_string"],
        "a=1&a=2&b=x+y&c=%E2%82%AC&d=%zz&e&=v&f=1%2B1&g=%&&h=%41%4"
    );
}

async fn echo_round_trips_a_json_body(world: e2e::World) {
    let h = harness_with(world, "/echo", "echo", None);
    let sent = json!({
        "id": "item-1",
        "nested": {"list": [1, 2.5, null, true], "text": "ünïcødé \"quoted\"\n"},
        "empty": {}
    });
    let req = http::Request::post("/echo?mode=json")
        .header("content-type", "application/json")
        .header("x-custom", "custom value")
        .body(Bytes::from(serde_json::to_vec(&sent).expect("serialise")))
        .expect("request");
    let resp = h.handle(req).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(header_values(&resp, "content-type"), ["application/json"]);
    let v = json_body(&resp);
    assert_eq!(v["json"], sent);
    assert_eq!(v["method"], "POST");
    assert_eq!(v["content_type"], "application/json");
    assert_eq!(v["headers"]["x-custom"], json!(["custom value"]));
}

async fn echo_rejects_malformed_json_with_400(world: e2e::World) {
    let h = harness_with(world, "/echo", "echo", None);
    let req = http::Request::post("/echo")
        .header("content-type", "application/json")
        .body(Bytes::from_static(b"{\"unterminated"))
        .expect("request");
    let resp = h.handle(req).await;
    let body = e2e::body_text(&resp);
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("JSON"), "{body}");
}

e2e::in_both_worlds!(
    hello_answers_with_decoded_name,
    fetch_streams_a_10_mib_body_intact,
    repeated_response_headers_all_arrive,
    retry_after_503_is_honoured_and_really_waits,
    a_connection_cut_before_the_response_is_retried,
    denied_host_is_a_502_naming_the_entry_to_add,
    missing_url_is_a_400_naming_the_parameter,
    echo_decodes_query_edge_cases,
    echo_round_trips_a_json_body,
    echo_rejects_malformed_json_with_400,
);
