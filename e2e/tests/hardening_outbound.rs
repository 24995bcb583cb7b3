//! Hostile outbound requests from real guests through the harness to loopback upstreams: a
//! guest-set `Host` header and credentials on a redirect to another origin (the raw-ABI module
//! probe), and in both worlds (the module probe and the component probe) names that resolve to
//! private addresses, the metadata address, and the hop-count header a guest cannot lower.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e::{body_text, component, enc, kv, wasm, Upstream, World};
use harness::{Harness, Limits, ModuleConfig};

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

// ---- Private addresses after DNS, in both worlds --------------------------------------------

fn logs() -> &'static e2e::Logs {
    e2e::global_logs()
}

/// How a guest's outbound GET ended, the same way in both worlds.
#[derive(Debug, PartialEq)]
enum Reached {
    /// The upstream answered with this status.
    Status(u16),
    /// The harness refused the call: code 7 for a module, `HttpRequestDenied` for a component.
    Denied,
    /// Anything else, with the probe's answer.
    Failed(String),
}

/// The probe of `world` on `/out`, allowed `allowed`.
fn world_probe(world: World, allowed: &[&str], limits: Limits) -> Harness {
    let guest = match world {
        World::Module => wasm("outbound-probe"),
        World::Component => component("component-probe"),
    };
    let mut m = ModuleConfig::new("/out", guest);
    for a in allowed {
        m = m.allowed_host(*a);
    }
    Harness::builder()
        .limits(limits)
        .module(m)
        .build()
        .expect("the probe loads")
}

/// Has the probe GET `url`, sending `guest_headers` (`name:value`) itself; the inbound request
/// carries `inbound_hops` in `azure-wasi-hops` when set.
async fn reach(
    world: World,
    h: &Harness,
    url: &str,
    guest_headers: &[&str],
    inbound_hops: Option<&str>,
) -> (Reached, String) {
    let query = match world {
        World::Module => format!(
            "/out?op=get&url={}&headers={}",
            enc(url),
            enc(&guest_headers.join("\n"))
        ),
        World::Component => {
            let mut q = format!("/out?op=fetch&url={}", enc(url));
            for header in guest_headers {
                q.push_str(&format!("&header={}", enc(header)));
            }
            q
        }
    };
    let mut req = http::Request::get(query);
    if let Some(hops) = inbound_hops {
        req = req.header(harness::HOPS_HEADER, hops);
    }
    let resp = h.handle(req.body(Bytes::new()).unwrap()).await;
    let text = body_text(&resp);
    let reached = match world {
        World::Module => match kv(&text, "code").as_deref() {
            Some("0") => Reached::Status(kv(&text, "status").unwrap().parse().unwrap()),
            Some("7") => Reached::Denied,
            _ => Reached::Failed(text.clone()),
        },
        World::Component => match (resp.status().as_u16(), kv(&text, "error")) {
            (200, _) => Reached::Status(kv(&text, "status").unwrap().parse().unwrap()),
            (502, Some(e)) if e == "ErrorCode::HttpRequestDenied" => Reached::Denied,
            _ => Reached::Failed(text.clone()),
        },
    };
    (reached, text)
}

async fn counting_upstream() -> (Upstream, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let up = Upstream::start(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { e2e::text(200, "inside") }
    })
    .await;
    (up, hits)
}

async fn a_name_resolving_to_loopback_is_denied_with_the_hint(world: World) {
    let logs = logs();
    let (up, hits) = counting_upstream().await;
    let port = up.addr().port();
    let h = world_probe(world, &["insecure:allow-all"], Limits::default());
    let (reached, text) = reach(
        world,
        &h,
        &format!("http://localhost:{port}/x?sig=secret"),
        &[],
        None,
    )
    .await;
    assert_eq!(reached, Reached::Denied, "{text}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the upstream must not be reached"
    );
    let hint = format!("add \"http://localhost:{port}\" to allowed_hosts of this module, or set block_private_networks = false in [limits]");
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains(&hint))
        .unwrap_or_else(|| panic!("{hint} in\n{text}"));
    assert!(line.contains("localhost resolved to "), "{line}");
    assert!(line.contains("a loopback address"), "{line}");
    assert!(!line.contains("secret"), "the query is not logged: {line}");
}

async fn an_entry_naming_the_host_exactly_reaches_loopback(world: World) {
    let (up, hits) = counting_upstream().await;
    let port = up.addr().port();
    let by_name = format!("http://localhost:{port}");
    let h = world_probe(world, &[&by_name, &up.origin()], Limits::default());
    for url in [format!("{by_name}/a"), up.url("/b")] {
        let (reached, text) = reach(world, &h, &url, &[], None).await;
        assert_eq!(reached, Reached::Status(200), "{url}: {text}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

async fn block_private_networks_false_turns_the_check_off(world: World) {
    let (up, hits) = counting_upstream().await;
    let limits = Limits {
        block_private_networks: false,
        ..Limits::default()
    };
    let h = world_probe(world, &["insecure:allow-all"], limits);
    let url = format!("http://localhost:{}/", up.addr().port());
    let (reached, text) = reach(world, &h, &url, &[], None).await;
    assert_eq!(reached, Reached::Status(200), "{text}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

async fn the_metadata_address_is_refused_before_any_connect(world: World) {
    let logs = logs();
    // Even with allow-all and the private-range check off.
    let limits = Limits {
        block_private_networks: false,
        ..Limits::default()
    };
    let h = world_probe(world, &["insecure:allow-all"], limits);
    for url in [
        "http://169.254.169.254/metadata/instance?api-version=2021-02-01",
        "http://[::ffff:169.254.169.254]:8080/latest/meta-data/",
        "http://[fe80::1]:8080/",
    ] {
        let started = Instant::now();
        let (reached, text) = reach(world, &h, url, &["Metadata:true"], None).await;
        assert_eq!(reached, Reached::Denied, "{url}: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{url} took {:?}: refused only after trying to connect",
            started.elapsed()
        );
    }
    let text = logs.text();
    assert!(
        text.contains("169.254.169.254 is a cloud metadata address, which guests may never reach"),
        "{text}"
    );
}

async fn the_hop_count_comes_from_the_host_and_cannot_be_lowered(world: World) {
    let (up, seen) = recording_upstream().await;
    let h = world_probe(world, &[&up.origin()], Limits::default());
    // A fresh request: the guest's call carries 1, whatever the guest sets.
    let (reached, text) = reach(
        world,
        &h,
        &up.url("/a"),
        &["azure-wasi-hops:0", "x-kept:1"],
        None,
    )
    .await;
    assert_eq!(reached, Reached::Status(200), "{text}");
    // A request that already passed through a harness twice: its guest's calls carry 3.
    let (reached, text) = reach(world, &h, &up.url("/b"), &["Azure-Wasi-Hops:0"], Some("2")).await;
    assert_eq!(reached, Reached::Status(200), "{text}");
    if world == World::Component {
        assert!(
            text.contains("header_error=Azure-Wasi-Hops:HeaderError::Forbidden"),
            "a component may not set the header: {text}"
        );
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for ((_, headers, _), hops) in seen.iter().zip(["1", "3"]) {
        let lines: Vec<&str> = headers
            .lines()
            .filter(|l| l.starts_with("azure-wasi-hops:"))
            .collect();
        assert_eq!(lines, [format!("azure-wasi-hops:{hops}")], "{headers}");
    }
    assert!(seen[0].1.contains("x-kept:1\n"), "{}", seen[0].1);
}

async fn an_inbound_hop_count_past_the_limit_is_508(world: World) {
    let (up, hits) = counting_upstream().await;
    let h = world_probe(
        world,
        &[&up.origin()],
        Limits {
            max_hops: 2,
            ..Limits::default()
        },
    );
    let query = match world {
        World::Module => format!("/out?op=get&url={}", enc(&up.url("/"))),
        World::Component => format!("/out?op=fetch&url={}", enc(&up.url("/"))),
    };
    for (hops, status) in [("2", 200), ("3", 508), ("many", 400)] {
        let req = http::Request::get(&query)
            .header(harness::HOPS_HEADER, hops)
            .body(Bytes::new())
            .unwrap();
        let resp = h.handle(req).await;
        assert_eq!(resp.status(), status, "hops {hops}: {}", body_text(&resp));
        if status == 508 {
            assert!(
                body_text(&resp).contains("max_hops = 2"),
                "{}",
                body_text(&resp)
            );
        }
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "only the admitted request ran"
    );
}

e2e::in_both_worlds!(
    a_name_resolving_to_loopback_is_denied_with_the_hint,
    an_entry_naming_the_host_exactly_reaches_loopback,
    block_private_networks_false_turns_the_check_off,
    the_metadata_address_is_refused_before_any_connect,
    the_hop_count_comes_from_the_host_and_cannot_be_lowered,
    an_inbound_hop_count_past_the_limit_is_508,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let up = redirector(307, "http://169.254.169.254/latest/meta-data/".into()).await;
    let h = probe(&[up.origin(), "http://169.254.169.254".into()]);
    let started = Instant::now();
    let out = call(&h, &up.url("/start"), "GET", "", b"").await;
    assert_eq!(kv(&out, "code").as_deref(), Some("7"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
