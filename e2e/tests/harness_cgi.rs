//! The harness runs real guests as WAGI does: CGI variables, responses, failures and limits.

use std::time::Duration;

use bytes::Bytes;
use e2e::{body_text, get, kv, post, wasm};
use harness::{Harness, Limits, ModuleConfig};

fn probe_harness(limits: Limits) -> Harness {
    Harness::builder()
        .limits(limits)
        .module(
            ModuleConfig::new("/probe/...", wasm("cgi-probe"))
                .env("MODULE_VAR", "from-config")
                .env("SERVER_SOFTWARE", "overridden"),
        )
        .module(ModuleConfig::new("/exact", wasm("cgi-probe")))
        .build()
        .expect("the probe module loads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cgi_variable_over_real_http() {
    let h = probe_harness(Limits::default());
    let server = h.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let req = http::Request::post("/probe/a%20b/c?mode=env&x=1")
        .header("content-type", "application/json")
        .header("x-custom-thing", "v1")
        .header("authorization", "Bearer secret")
        .body(Bytes::from_static(b"{\"k\":1}"))
        .unwrap();
    let resp = e2e::fetch(&server.url(), req).await;
    assert_eq!(resp.status(), 200);
    let env = body_text(&resp);
    let port = server.addr().port().to_string();
    let expect = [
        ("REQUEST_METHOD", "POST"),
        ("QUERY_STRING", "mode=env&x=1"),
        ("PATH_INFO", "/a b/c"),
        ("X_RAW_PATH_INFO", "/a%20b/c"),
        ("PATH_TRANSLATED", "/a b/c"),
        ("SCRIPT_NAME", "/probe"),
        ("X_MATCHED_ROUTE", "/probe/..."),
        ("SERVER_NAME", "127.0.0.1"),
        ("SERVER_PORT", port.as_str()),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("CONTENT_LENGTH", "7"),
        ("CONTENT_TYPE", "application/json"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_HOST", "127.0.0.1"),
        ("AUTH_TYPE", ""),
        ("REMOTE_USER", ""),
        ("HTTP_X_CUSTOM_THING", "v1"),
        ("MODULE_VAR", "from-config"),
        ("SERVER_SOFTWARE", "overridden"),
    ];
    for (k, v) in expect {
        assert_eq!(kv(&env, k).as_deref(), Some(v), "{k} in\n{env}");
    }
    let full = kv(&env, "X_FULL_URL").unwrap();
    assert_eq!(
        full,
        format!("http://127.0.0.1:{port}/probe/a%20b/c?mode=env&x=1")
    );
    assert_eq!(
        kv(&env, "HTTP_AUTHORIZATION"),
        None,
        "Authorization must not reach the guest"
    );
    // The module's value replaces the CGI one; it is not passed twice.
    assert_eq!(env.matches("SERVER_SOFTWARE=").count(), 1, "{env}");
    // The guest had finished: the response went out whole, with its length, not chunked.
    let length = resp
        .headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap());
    assert_eq!(length, Some(resp.body().len().to_string().as_str()));
    assert!(resp.headers().get("transfer-encoding").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn exact_routes_and_404() {
    let h = probe_harness(Limits::default());
    let resp = h.handle(get("/exact?mode=env")).await;
    assert_eq!(
        kv(&body_text(&resp), "SCRIPT_NAME").as_deref(),
        Some("/exact")
    );
    assert_eq!(kv(&body_text(&resp), "PATH_INFO").as_deref(), Some(""));
    assert_eq!(h.handle(get("/exact/more")).await.status(), 404);
    assert_eq!(h.handle(get("/nothing")).await.status(), 404);
    let health = h.handle(get("/healthz")).await;
    assert_eq!(
        (health.status().as_u16(), body_text(&health).trim()),
        (200, "OK")
    );
}

#[tokio::test]
async fn argv_is_the_path_then_the_query_items() {
    let h = probe_harness(Limits::default());
    let resp = h.handle(get("/probe/x?mode=args&b=2")).await;
    assert_eq!(body_text(&resp), "/probe/x\nmode=args\nb=2");
}

#[tokio::test]
async fn status_location_and_repeated_headers() {
    let h = probe_harness(Limits::default());
    let resp = h.handle(get("/probe?mode=status")).await;
    assert_eq!(resp.status(), 418);
    let cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(resp.headers()["x-probe"], "yes");
    assert_eq!(body_text(&resp), "teapot");
    assert!(resp.headers().contains_key("server-timing"));

    let resp = h.handle(get("/probe?mode=location")).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "/elsewhere");
}

#[tokio::test]
async fn binary_bodies_pass_both_ways_intact() {
    let h = probe_harness(Limits::default());
    let body: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i * 7 % 256) as u8).collect();
    let resp = h.handle(post("/probe?mode=binary", body.clone())).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.body().as_ref(), body.as_slice());
}

#[tokio::test]
async fn exits_traps_and_bad_output() {
    let h = probe_harness(Limits::default());
    let ok = h.handle(get("/probe?mode=exit0")).await;
    assert_eq!(
        (ok.status().as_u16(), body_text(&ok)),
        (200, "exited cleanly".into())
    );
    let stderr = h.handle(get("/probe?mode=stderr")).await;
    assert_eq!(body_text(&stderr), "ok");

    let cases = [
        ("exit3", 500, "exited with code 3"),
        ("trap", 500, "trap"),
        ("noheader", 502, "blank line"),
        ("nothing", 502, "wrote nothing"),
    ];
    for (mode, status, text) in cases {
        let resp = h.handle(get(&format!("/probe?mode={mode}"))).await;
        assert_eq!(resp.status(), status, "{mode}");
        assert!(
            body_text(&resp).contains(text),
            "{mode}: {}",
            body_text(&resp)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_is_stopped_and_others_are_served_meanwhile() {
    let limits = Limits {
        request_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let h = probe_harness(limits);
    let looping = tokio::spawn({
        let h = h.clone();
        async move { h.handle(get("/probe?mode=loop")).await }
    });
    // While the loop spins, other requests are served.
    for _ in 0..5 {
        let resp = h.handle(get("/probe?mode=status")).await;
        assert_eq!(resp.status(), 418);
    }
    assert!(
        !looping.is_finished(),
        "the loop must still be running while others are served"
    );
    let resp = looping.await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(
        body_text(&resp).contains("did not finish"),
        "{}",
        body_text(&resp)
    );
}

#[tokio::test]
async fn memory_bomb_is_contained() {
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let h = probe_harness(limits);
    let resp = h.handle(get("/probe?mode=membomb")).await;
    assert_eq!(resp.status(), 500, "{}", body_text(&resp));
    let after = h.handle(get("/probe?mode=status")).await;
    assert_eq!(after.status(), 418);
}

#[tokio::test]
async fn too_large_output_is_not_a_crash() {
    let limits = Limits {
        max_response_bytes: 1024,
        ..Limits::default()
    };
    let h = probe_harness(limits);
    let resp = h.handle(post("/probe?mode=binary", vec![7u8; 4096])).await;
    assert_eq!(resp.status(), 500, "{}", body_text(&resp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_to_served_route() {
    let dir = tempfile::tempdir().unwrap();
    let wasm_path = wasm("cgi-probe");
    let cfg = dir.path().join("wagi.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[module]]\nroute = \"/p/...\"\nmodule = \"{}\"\nenvironment = {{ FROM_FILE = \"yes\" }}\n\n[cache]\nenabled = true\ndirectory = \"cache\"\n",
            wasm_path.display()
        ),
    )
    .unwrap();
    let config = harness::HarnessConfig::from_file(&cfg).unwrap();
    let h = Harness::from_config(&config).unwrap();
    assert!(
        std::fs::read_dir(dir.path().join("cache")).unwrap().count() >= 1,
        "the compiled module is cached next to the config"
    );
    // A second start loads from the cache.
    let h2 = Harness::from_config(&config).unwrap();
    let server = h2.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let resp = e2e::fetch(&server.url(), get("/p?mode=env")).await;
    assert_eq!(kv(&body_text(&resp), "FROM_FILE").as_deref(), Some("yes"));
    let resp = e2e::fetch(&server.url(), get("/healthz")).await;
    assert_eq!(resp.status(), 200);
    drop(h);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_body_is_413() {
    let limits = Limits {
        max_request_body_bytes: 1000,
        ..Limits::default()
    };
    let h = probe_harness(limits);
    let server = h.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let resp = e2e::fetch(&server.url(), post("/probe?mode=binary", vec![1u8; 5000])).await;
    assert_eq!(resp.status(), 413);
    server.shutdown().await;
}
