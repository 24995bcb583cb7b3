//! Hostile outbound requests from a real `wasm32-wasip1` guest (the raw-ABI probe) through the
//! harness to loopback upstreams: a guest-set `Host` header, and credentials on a redirect to
//! another origin.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use e2e::{body_text, enc, kv, wasm, Upstream};
use harness::{Harness, ModuleConfig};

/// What an upstream saw of one request: method, every header as `name:value` lines, body.
type Seen = Arc<Mutex<Vec<(String, String, Bytes)>>>;

/// Notes what an upstream saw of `req`.
fn record(log: &Seen, req: &http::Request<Bytes>) {
    let headers: String = req
        .headers()
        .iter()
        .map(|(n, v)| format!("{}:{}\n", n, v.to_str().unwrap_or("?")))
        .collect();
    log.lock()
        .unwrap()
        .push((req.method().to_string(), headers, req.body().clone()));
}

async fn recording_upstream() -> (Upstream, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let up = Upstream::start(move |req| {
        let log = log.clone();
        async move {
            record(&log, &req);
            e2e::text(200, "landed")
        }
    })
    .await;
    (up, seen)
}

async fn redirector(status: u16, location: String) -> Upstream {
    Upstream::start(move |_| {
        let location = location.clone();
        async move {
            let mut r = e2e::text(status, "moved");
            r.headers_mut()
                .insert("location", location.parse().expect("a valid location"));
            r
        }
    })
    .await
}

fn probe(allowed: &[String]) -> Harness {
    let mut m = ModuleConfig::new("/out", wasm("outbound-probe"));
    for a in allowed {
        m = m.allowed_host(a.clone());
    }
    Harness::builder()
        .module(m)
        .build()
        .expect("the probe loads")
}

async fn call(h: &Harness, url: &str, method: &str, headers: &str, body: &'static [u8]) -> String {
    let req = http::Request::post(format!(
        "/out?op=get&url={}&method={method}&headers={}",
        enc(url),
        enc(headers)
    ))
    .body(Bytes::from_static(body))
    .unwrap();
    let resp = h.handle(req).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    body_text(&resp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_set_host_header_never_reaches_the_upstream() {
    let (up, seen) = recording_upstream().await;
    let h = probe(&[up.origin()]);
    let out = call(
        &h,
        &up.url("/p"),
        "GET",
        "Host:internal.example\nX-Kept:1\nProxy-Authorization:Basic eA==",
        b"",
    )
    .await;
    assert_eq!(kv(&out, "status").as_deref(), Some("200"), "{out}");
    let seen = seen.lock().unwrap();
    let headers = &seen[0].1;
    assert!(
        headers.contains(&format!("host:{}\n", up.addr())),
        "{headers}"
    );
    assert!(!headers.contains("internal.example"), "{headers}");
    assert!(!headers.contains("proxy-authorization"), "{headers}");
    assert!(headers.contains("x-kept:1\n"), "{headers}");
}

const CREDENTIALS: &str = "Authorization:SharedKey acct:c2lnbmF0dXJl\nCookie:session=1\naeg-sas-key:topic-key\nx-ms-date:Mon, 30 Nov 2026 12:00:00 GMT\nAccept:text/plain";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let (target, seen) = recording_upstream().await;
    let cross = redirector(307, target.url("/landing")).await;
    let h = probe(&[cross.origin(), target.origin()]);
    let out = call(&h, &cross.url("/start"), "PUT", CREDENTIALS, b"payload").await;
    assert_eq!(kv(&out, "status").as_deref(), Some("200"), "{out}");
    let (method, headers, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(method, "PUT", "a 307 keeps the method");
    assert_eq!(&body[..], b"payload", "a 307 keeps the body");
    assert!(headers.contains("accept:text/plain\n"), "{headers}");
    for secret in ["authorization", "cookie", "aeg-sas-key", "x-ms-date"] {
        assert!(!headers.contains(secret), "{secret} followed: {headers}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_origin_redirect_keeps_credentials() {
    // One server that sends `/start` on to its own `/landing` and records what lands there.
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let up = Upstream::start(move |req| {
        let log = log.clone();
        async move {
            if req.uri().path() == "/start" {
                let mut r = e2e::text(307, "moved");
                r.headers_mut()
                    .insert("location", "/landing".parse().unwrap());
                return r;
            }
            record(&log, &req);
            e2e::text(200, "landed")
        }
    })
    .await;
    let h = probe(&[up.origin()]);
    let out = call(&h, &up.url("/start"), "GET", CREDENTIALS, b"").await;
    assert_eq!(kv(&out, "status").as_deref(), Some("200"), "{out}");
    let headers = seen.lock().unwrap()[0].1.clone();
    assert!(headers.contains("authorization:SharedKey"), "{headers}");
    assert!(headers.contains("x-ms-date:"), "{headers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn see_other_after_post_drops_the_body_and_its_headers() {
    let (target, seen) = recording_upstream().await;
    let see_other = redirector(303, target.url("/result")).await;
    let h = probe(&[see_other.origin(), target.origin()]);
    let out = call(
        &h,
        &see_other.url("/form"),
        "POST",
        "Content-Type:application/json\nAccept:*/*",
        b"{\"a\":1}",
    )
    .await;
    assert_eq!(kv(&out, "status").as_deref(), Some("200"), "{out}");
    let (method, headers, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(method, "GET");
    assert!(body.is_empty());
    assert!(!headers.contains("content-type"), "{headers}");
    assert!(headers.contains("accept:*/*"), "{headers}");
}
