//! Self-requests, in both worlds, over real sockets on 127.0.0.1: the `fetch` sample allowed to
//! call the harness's own address calls itself (`/fetch?url=<this harness>/fetch?url=...`).
//! The hop-count header stops the recursion at `max_hops` with a 508, and requests from the
//! harness's own modules leave `reserved_instances` slots to other clients meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e::{body_text, enc, get, World};
use harness::{Harness, Limits, ModuleConfig, Server};

/// Every test ends well within this.
const BOUND: Duration = Duration::from_secs(60);

/// Serves `fetch` on `/fetch` (allowed to call the harness itself, and `extra`) and `hello` on
/// `/hello`, on a loopback port picked before the harness is built so the allow-list can name
/// it exactly.
async fn self_calling_server(world: World, limits: Limits, extra: Option<String>) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let mut fetch = ModuleConfig::new("/fetch", world.guest("fetch"))
        .allowed_host(format!("http://127.0.0.1:{port}"));
    if let Some(entry) = extra {
        fetch = fetch.allowed_host(entry);
    }
    Harness::builder()
        .limits(limits)
        .module(fetch)
        .module(ModuleConfig::new("/hello", world.guest("hello")))
        .build()
        .expect("the guests load")
        .serve(([127, 0, 0, 1], port).into())
        .await
        .expect("bind the picked port")
}

/// The path of a request to `/fetch` that asks the harness at `base` for `/fetch` again until
/// `depth` requests are nested (the client's own included), the last of which fetches `last`.
fn nested(base: &str, depth: usize, last: &str) -> String {
    let mut url = last.to_string();
    for _ in 0..depth {
        url = format!("{base}/fetch?url={}&via=binding", enc(&url));
    }
    url.trim_start_matches(base).to_string()
}

async fn fetch(server: &Server, req: http::Request<Bytes>) -> http::Response<Bytes> {
    tokio::time::timeout(BOUND, e2e::fetch(&server.url(), req))
        .await
        .expect("the harness answers in time")
}

async fn a_self_calling_module_is_stopped_at_max_hops(world: World) {
    let limits = Limits {
        max_hops: 3,
        ..Limits::default()
    };
    let server = self_calling_server(world, limits, None).await;
    let base = server.url();
    // Twenty levels deep: without the hop count every level would hold an instance.
    let path = nested(&base, 20, &format!("{base}/hello"));
    let started = Instant::now();
    let resp = fetch(&server, get(&path)).await;
    let text = body_text(&resp);
    // Hops 1, 2 and 3 run; the request with hop count 4 is refused, and every level passes
    // the 508 back out.
    assert_eq!(resp.status(), 508, "{text}");
    assert!(text.contains("loop detected"), "{text}");
    assert!(text.contains("azure-wasi-hops"), "{text}");
    assert!(text.contains("max_hops = 3"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // A chain within the limit still works (hops 0 to 3, the last calling `/hello` with 3),
    // and so does every other route.
    let ok = fetch(
        &server,
        get(&nested(&base, 3, &format!("{base}/hello?name=deep"))),
    )
    .await;
    assert_eq!(ok.status(), 200, "{}", body_text(&ok));
    assert_eq!(body_text(&ok), "hello, deep\n");
    let hello = fetch(&server, get("/hello")).await;
    assert_eq!(hello.status(), 200);
    server.shutdown().await;
}

async fn nested_requests_leave_a_reserve_for_other_routes(world: World) {
    let hits = Arc::new(AtomicUsize::new(0));
    let slow = e2e::Upstream::start({
        let hits = hits.clone();
        move |_| {
            hits.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_millis(2000)).await;
                e2e::text(200, "slow answer")
            }
        }
    })
    .await;
    // Four slots; nested requests may hold two of them.
    let limits = Limits {
        max_instances: 4,
        reserved_instances: 2,
        request_timeout: Duration::from_secs(20),
        ..Limits::default()
    };
    let server = self_calling_server(world, limits, Some(slow.origin())).await;
    let base = server.url();
    // The client's request (hop 0) calls the harness (hop 1), which calls it again (hop 2),
    // which waits on the slow upstream: three slots held, both nested slots among them.
    let chain_path = nested(&base, 3, &slow.url("/wait"));
    let url = base.clone();
    let chain = tokio::spawn(async move { e2e::fetch(&url, get(&chain_path)).await });
    let started = Instant::now();
    while hits.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < BOUND,
            "the chain never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another self-call now finds the nested slots taken...
    let third = http::Request::get(format!("/fetch?url={}&via=binding", enc(&slow.url("/x"))))
        .header(harness::HOPS_HEADER, "1")
        .body(Bytes::new())
        .unwrap();
    let refused = fetch(&server, third).await;
    assert_eq!(refused.status(), 503, "{}", body_text(&refused));
    assert!(
        body_text(&refused).contains("too many nested requests"),
        "{}",
        body_text(&refused)
    );
    // ...while another route is answered from the reserve.
    let hello = fetch(&server, get("/hello?name=reserve")).await;
    assert_eq!(hello.status(), 200, "{}", body_text(&hello));
    assert_eq!(body_text(&hello), "hello, reserve\n");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the refused call never ran");
    let done = tokio::time::timeout(BOUND, chain)
        .await
        .expect("the chain ends")
        .expect("the chain's task");
    assert_eq!(done.status(), 200, "{}", body_text(&done));
    assert_eq!(body_text(&done), "slow answer");
    server.shutdown().await;
}

e2e::in_both_worlds!(
    a_self_calling_module_is_stopped_at_max_hops,
    nested_requests_leave_a_reserve_for_other_routes,
);
