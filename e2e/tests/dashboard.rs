//! The dashboard and `/metrics` over real HTTP: a module and a component, a denied outbound
//! call and a blob upload to the embedded emulator, then `/metrics` read by a Prometheus text
//! parser, the live feed, the emulator view, and the reservation rules.
//!
//! Needs the guests built first: `cargo xtask build`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use emulator::{Emulators, EmulatorsConfig, DEV_ACCOUNT, DEV_ACCOUNT_KEY};
use harness::{DashboardConfig, Harness, ModuleConfig, Server};
use http::Request;
use prometheus_parse::{Scrape, Value};
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The destination of the denied call: no module's allow-list names it.
const DENIED: &str = "http://127.0.0.1:9";

struct Setup {
    emus: Emulators,
    server: Server,
    base: String,
}

async fn setup() -> Setup {
    let mut cfg = EmulatorsConfig::default().with_free_ports();
    cfg.cosmos.enabled = false;
    let emus = Emulators::start(cfg).await.expect("start the emulators");
    let blob = emus.blob().expect("blob enabled");
    let write = |world: e2e::World| {
        ModuleConfig::new(
            if world == e2e::World::Module {
                "/write"
            } else {
                "/write-c"
            },
            world.guest("blob-write"),
        )
        .env("STORAGE_ACCOUNT", DEV_ACCOUNT)
        .env("STORAGE_MASTER_KEY", DEV_ACCOUNT_KEY)
        .env("STORAGE_ENDPOINT", blob.account_url(DEV_ACCOUNT))
        .allowed_host(blob.url())
    };
    let h = Harness::builder()
        .module(ModuleConfig::new(
            "/hello",
            e2e::World::Module.guest("hello"),
        ))
        .module(ModuleConfig::new(
            "/hello-c",
            e2e::World::Component.guest("hello"),
        ))
        .module(ModuleConfig::new(
            "/fetch",
            e2e::World::Module.guest("fetch"),
        ))
        .module(ModuleConfig::new(
            "/fetch-c",
            e2e::World::Component.guest("fetch"),
        ))
        .module(write(e2e::World::Module))
        .module(write(e2e::World::Component))
        .emulators(emus.inspector())
        .build()
        .expect("the harness builds");
    let server = h
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("serve");
    let base = server.url();
    Setup { emus, server, base }
}

async fn get(base: &str, path: &str) -> http::Response<Bytes> {
    e2e::fetch(base, e2e::get(path)).await
}

async fn get_json(base: &str, path: &str) -> Json {
    let resp = get(base, path).await;
    assert_eq!(resp.status(), 200, "{path}: {}", e2e::body_text(&resp));
    serde_json::from_slice(resp.body()).expect("JSON")
}

fn upload(path: &str, body: &'static str) -> Request<Bytes> {
    Request::post(path)
        .header("content-type", "text/plain")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap()
}

/// The requests of the scenario: how many each route answered with which status.
async fn send_scenario(base: &str) -> HashMap<(&'static str, u16), u64> {
    let mut sent = HashMap::new();
    for _ in 0..3 {
        assert_eq!(get(base, "/hello").await.status(), 200);
    }
    *sent.entry(("/hello", 200)).or_default() += 3;
    for _ in 0..2 {
        assert_eq!(get(base, "/hello-c").await.status(), 200);
    }
    *sent.entry(("/hello-c", 200)).or_default() += 2;
    for route in ["/fetch", "/fetch-c"] {
        let resp = get(
            base,
            &format!(
                "{route}?url={}",
                e2e::enc(&format!("{DENIED}/x?sig=secret"))
            ),
        )
        .await;
        assert_eq!(resp.status(), 502, "{}", e2e::body_text(&resp));
        *sent
            .entry((
                if route == "/fetch" {
                    "/fetch"
                } else {
                    "/fetch-c"
                },
                502,
            ))
            .or_default() += 1;
    }
    let resp = e2e::fetch(
        base,
        upload("/write?container=dash&blob=greeting.txt", "hello dashboard"),
    )
    .await;
    assert_eq!(resp.status(), 201, "{}", e2e::body_text(&resp));
    *sent.entry(("/write", 201)).or_default() += 1;
    let resp = e2e::fetch(
        base,
        upload("/write-c?container=dash&blob=c.txt", "from a component"),
    )
    .await;
    assert_eq!(resp.status(), 201, "{}", e2e::body_text(&resp));
    *sent.entry(("/write-c", 201)).or_default() += 1;
    sent
}

/// The sum of the samples of `name` whose labels include `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

async fn scrape(base: &str) -> Scrape {
    let resp = get(base, "/metrics").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = e2e::body_text(&resp);
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("the text format parses")
}

/// Reads /metrics until every sent request is counted (a record is emitted once its response
/// body has ended on the server side, a moment after the client has it all).
async fn scrape_when_counted(base: &str, expected: u64) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = scrape(base).await;
        let counted = value(&s, "harness_requests_total", &[]) as u64;
        if counted >= expected || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_request_by_route_and_status_and_every_outbound_call() {
    let s = setup().await;
    let sent = send_scenario(&s.base).await;
    let total: u64 = sent.values().sum();
    let scrape = scrape_when_counted(&s.base, total).await;
    for ((route, status), n) in &sent {
        let status = status.to_string();
        let labels = [("route", *route), ("status", status.as_str())];
        assert_eq!(
            value(&scrape, "harness_requests_total", &labels),
            *n as f64,
            "{route} {status}"
        );
        assert_eq!(
            value(&scrape, "harness_request_duration_seconds", &labels),
            *n as f64,
            "the +Inf bucket of {route} {status} counts every request"
        );
    }
    assert_eq!(
        value(&scrape, "harness_requests_total", &[]),
        total as f64,
        "nothing else counted"
    );
    // One instantiation per request that reached its guest.
    assert_eq!(
        value(
            &scrape,
            "harness_instantiate_seconds",
            &[("route", "/hello")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &scrape,
            "harness_instantiate_seconds",
            &[("route", "/hello-c")]
        ),
        2.0
    );
    for route in ["/fetch", "/fetch-c"] {
        let denied = [
            ("route", route),
            ("destination", DENIED),
            ("result", "denied"),
        ];
        assert_eq!(
            value(&scrape, "harness_outbound_calls_total", &denied),
            1.0,
            "{route}"
        );
    }
    for route in ["/write", "/write-c"] {
        let ok = value(
            &scrape,
            "harness_outbound_calls_total",
            &[("route", route), ("result", "ok")],
        );
        assert!(
            ok >= 2.0,
            "{route}: the upload makes its container and its blob: {ok}"
        );
    }
    let blob_puts = value(
        &scrape,
        "emulator_requests_total",
        &[("service", "blob"), ("method", "PUT"), ("status", "201")],
    );
    assert!(
        blob_puts >= 2.0,
        "the emulator counted the uploads: {blob_puts}"
    );
    assert_eq!(value(&scrape, "harness_requests_in_flight", &[]), 0.0);
    assert!(
        value(&scrape, "harness_connections_open", &[]) >= 1.0,
        "this scrape's own connection"
    );
    s.server.shutdown().await;
    s.emus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_requests_show_timings_bytes_and_the_denial_with_its_fix_but_no_query() {
    let s = setup().await;
    let sent = send_scenario(&s.base).await;
    let total: u64 = sent.values().sum();
    scrape_when_counted(&s.base, total).await;
    let records = get_json(&s.base, "/_harness/api/requests").await;
    let records = records.as_array().expect("a list");
    assert_eq!(records.len() as u64, total);
    let text = serde_json::to_string(records).unwrap();
    assert!(!text.contains("secret"), "no query string is shown: {text}");
    assert!(!text.contains(DEV_ACCOUNT_KEY), "no key is shown");
    for world in ["/fetch", "/fetch-c"] {
        let r = records
            .iter()
            .find(|r| r["route"] == world)
            .expect("the fetch request");
        assert_eq!(r["status"], 502);
        let call = &r["outbound"][0];
        assert_eq!(call["result"], "denied", "{r}");
        assert_eq!(call["destination"], DENIED);
        assert_eq!(call["hint"], format!("add `{DENIED}` to allowed_hosts"));
    }
    let upload = records
        .iter()
        .find(|r| r["route"] == "/write")
        .expect("the upload");
    assert_eq!(upload["bytes_in"], "hello dashboard".len());
    assert!(upload["bytes_out"].as_u64().unwrap() > 0);
    assert!(
        upload["outbound"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["result"] == "ok" && c["method"] == "PUT"),
        "{upload}"
    );
    let hello = records
        .iter()
        .find(|r| r["route"] == "/hello")
        .expect("hello");
    assert_eq!(hello["method"], "GET");
    assert!(hello["instantiate_us"].as_u64().unwrap() > 0);
    let routes = get_json(&s.base, "/_harness/api/routes").await;
    let write = routes
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == "/write")
        .unwrap();
    assert_eq!(write["world"], "module");
    assert!(write["environment_names"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "STORAGE_MASTER_KEY"));
    assert!(
        !routes.to_string().contains(DEV_ACCOUNT_KEY),
        "environment values are never shown"
    );
    let series = get_json(&s.base, "/_harness/api/series").await;
    let counted: u64 = series
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, total, "the chart's seconds hold every request");
    s.server.shutdown().await;
    s.emus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_view_lists_the_uploaded_blob_with_its_size() {
    let s = setup().await;
    send_scenario(&s.base).await;
    let view = get_json(&s.base, "/_harness/api/emulators").await;
    let containers = &view["blob"]["accounts"][0]["containers"];
    let dash = containers
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dash")
        .expect("the container");
    let blob = dash["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "greeting.txt")
        .expect("the blob");
    assert_eq!(blob["size"], "hello dashboard".len());
    assert_eq!(blob["content_type"], "text/plain");
    assert!(!view.to_string().contains(DEV_ACCOUNT_KEY));
    let download = get(
        &s.base,
        "/_harness/api/blob?account=devstoreaccount1&container=dash&blob=greeting.txt",
    )
    .await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.body().as_ref(), b"hello dashboard");
    assert_eq!(download.headers()["content-type"], "text/plain");
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"greeting.txt\""
    );
    let headers = format!("{:?}", download.headers());
    assert!(
        !headers.contains("SharedKey") && !headers.contains(DEV_ACCOUNT_KEY),
        "{headers}"
    );
    let missing = get(
        &s.base,
        "/_harness/api/blob?account=devstoreaccount1&container=dash&blob=none",
    )
    .await;
    assert_eq!(missing.status(), 404);
    s.server.shutdown().await;
    s.emus.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_sends_a_request_when_it_ends() {
    let s = setup().await;
    let mut feed = tokio::net::TcpStream::connect(s.server.addr())
        .await
        .unwrap();
    feed.write_all(b"GET /_harness/api/events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    read_until(&mut feed, &mut seen, "retry: 2000").await;
    assert!(String::from_utf8_lossy(&seen).contains("content-type: text/event-stream"));
    assert_eq!(get(&s.base, "/hello-c?name=feed").await.status(), 200);
    read_until(&mut feed, &mut seen, "\"path\":\"/hello-c\"").await;
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("event: request\ndata: {"), "{text}");
    assert!(!text.contains("name=feed"), "no query in the feed");
    s.server.shutdown().await;
    s.emus.shutdown().await;
}

async fn read_until(stream: &mut tokio::net::TcpStream, seen: &mut Vec<u8>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(seen).contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in: {}", String::from_utf8_lossy(seen)))
            .unwrap();
        assert!(n > 0, "the feed ended: {}", String::from_utf8_lossy(seen));
        seen.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn off_loopback_the_reserved_paths_are_404_unless_allowed() {
    let remote: std::net::SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let public: std::net::SocketAddr = "198.51.100.7:3000".parse().unwrap();
    let loopback: std::net::SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let h = Harness::builder().build().unwrap();
    for path in ["/metrics", "/_harness/", "/_harness/api/requests"] {
        let on_public = h.handle_from(e2e::get(path), remote, public).await;
        assert_eq!(on_public.status(), 404, "{path} on a public address");
        let on_loopback = h.handle_from(e2e::get(path), remote, loopback).await;
        assert_eq!(on_loopback.status(), 200, "{path} on loopback");
    }
    let open = DashboardConfig {
        allow_remote: true,
        path: "/_dev/".into(),
        ..Default::default()
    };
    let h = Harness::builder().dashboard(open).build().unwrap();
    let page = h.handle_from(e2e::get("/_dev/"), remote, public).await;
    assert_eq!(page.status(), 200);
    assert!(e2e::body_text(&page).contains("<script src=\"app.js\""));
    assert_eq!(
        h.handle_from(e2e::get("/_harness/"), remote, public)
            .await
            .status(),
        404
    );
    let moved = h.handle_from(e2e::get("/_dev"), remote, public).await;
    assert_eq!(moved.status(), 308);
    assert_eq!(moved.headers()["location"], "/_dev/");
    let post = h
        .handle_from(e2e::post("/metrics", "x"), remote, public)
        .await;
    assert_eq!(post.status(), 405);
    // In process the response is collected: the never-ending feed is refused, not hung on.
    let feed = h
        .handle_from(e2e::get("/_dev/api/events"), remote, public)
        .await;
    assert_eq!(feed.status(), 404);
}

#[test]
fn a_module_routed_on_a_reserved_path_is_refused_at_start() {
    let err = Harness::builder()
        .module(ModuleConfig::new(
            "/metrics",
            e2e::World::Module.guest("hello"),
        ))
        .build()
        .err()
        .expect("the route is taken");
    assert!(err.to_string().contains("taken by the dashboard"), "{err}");
    let off = DashboardConfig {
        enabled: false,
        ..Default::default()
    };
    Harness::builder()
        .dashboard(off)
        .module(ModuleConfig::new(
            "/metrics",
            e2e::World::Module.guest("hello"),
        ))
        .build()
        .expect("with the dashboard off the route is free");
}

/// Debian's chromium, driven by `chromium-driver` through selenium (installed by `cargo xtask
/// test` / `cargo xtask interop`: `INTEROP_PYTHON` has selenium, `CHROMEDRIVER` and `CHROMIUM`
/// name the binaries). The script sends requests while the page is open and asserts on what
/// it renders; the screenshot goes to `target/dashboard.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromium-driver and selenium: run by `cargo xtask interop`"]
async fn a_real_browser_shows_new_requests_live_the_denial_fix_and_the_uploaded_blob() {
    let python = std::env::var("INTEROP_PYTHON").expect("INTEROP_PYTHON: a Python with selenium");
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let screenshot = target.join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let s = setup().await;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&s.base)
        .arg(&screenshot)
        .arg(&chromedriver)
        .arg(&chromium)
        .output()
        .await
        .expect("run the browser script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "a real PNG"
    );
    s.server.shutdown().await;
    s.emus.shutdown().await;
}
