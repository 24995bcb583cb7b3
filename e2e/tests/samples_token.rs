//! Every Azure sample without a key: the harness's token broker uses the official
//! `azure_identity` managed-identity credential, pointed at the emulators' test identity
//! endpoint exactly as App Service exposes one (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`), and
//! hands tokens to the guests at its virtual identity origin; the Blob, Cosmos DB and EventGrid
//! emulators verify them. Both worlds. Also: one fetch per scope for a thousand requests, 403
//! naming the config line for a module without `identity`, and no token in any log line.
//!
//! Needs the samples built first for both targets: `cargo xtask build` (modules looked for in
//! `target/wasm32-wasip1/wasm-release` or `AZURE_WASI_WASM_DIR`, components in
//! `target/wasm32-wasip2/wasm-release` or `AZURE_WASI_COMPONENT_DIR`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use emulator::identity::{IdentityEmulator, COSMOS_AUDIENCE, EVENTGRID_AUDIENCE, STORAGE_AUDIENCE};
use emulator::{Emulators, EmulatorsConfig, IdentityConfig, SubscriptionConfig, DEV_ACCOUNT};
use harness::identity::TokenBroker;
use harness::{Harness, ModuleConfig};
use http::{Request, Response, StatusCode};
use serde_json::Value;

fn scope(audience: &str) -> String {
    format!("{audience}/.default")
}

/// One test identity endpoint for the whole binary, on its own thread and runtime (it outlives
/// every test's runtime), published in `IDENTITY_ENDPOINT` / `IDENTITY_HEADER` before any
/// credential reads them.
fn identity_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the identity endpoint");
            runtime.block_on(async move {
                let config = IdentityConfig {
                    enabled: true,
                    port: 0,
                    ..Default::default()
                };
                let id = IdentityEmulator::start(config)
                    .await
                    .expect("identity endpoint");
                tx.send((id.endpoint(), id.identity_header().to_string()))
                    .expect("the test waits for the endpoint");
                std::future::pending::<()>().await;
            });
        });
        let (endpoint, header) = rx.recv().expect("the identity endpoint started");
        std::env::set_var("IDENTITY_ENDPOINT", &endpoint);
        std::env::set_var("IDENTITY_HEADER", header);
        endpoint
    })
}

/// The broker of one test: the real managed-identity credential of `azure_identity`.
fn broker() -> TokenBroker {
    identity_endpoint();
    // The `[identity]` table as the harness reads it from its config file.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("harness.toml");
    std::fs::write(
        &file,
        "[identity]\ncredential = \"managed-identity\"\n[emulators]\n",
    )
    .expect("write the config");
    let config = harness::HarnessConfig::from_file(&file)
        .expect("the config parses")
        .identity
        .expect("an [identity] table");
    TokenBroker::from_config(&config).expect("the managed-identity credential")
}

async fn emulators() -> Emulators {
    let mut cfg = EmulatorsConfig::default().with_free_ports();
    cfg.eventgrid.retry.initial_backoff_ms = 50;
    cfg.eventgrid.retry.max_backoff_ms = 200;
    Emulators::start(cfg).await.expect("start the emulators")
}

/// A sample with endpoints but no key: `from_env()` picks the host's tokens.
fn keyless(world: e2e::World, route: &str, guest: &str, emus: &Emulators) -> ModuleConfig {
    let blob = emus.blob().expect("blob");
    let cosmos = emus.cosmos().expect("cosmos");
    let eg = emus.eventgrid().expect("eventgrid");
    ModuleConfig::new(route, world.guest(guest))
        .env("STORAGE_ACCOUNT", DEV_ACCOUNT)
        .env("STORAGE_ENDPOINT", blob.account_url(DEV_ACCOUNT))
        .env("COSMOS_ENDPOINT", cosmos.url())
        .env("EVENTGRID_ENDPOINT", eg.topic_endpoint("default"))
        .allowed_host(blob.url())
        .allowed_host(cosmos.url())
        .allowed_host(eg.url())
}

fn with_scopes(m: ModuleConfig) -> ModuleConfig {
    m.identity_scope(scope(STORAGE_AUDIENCE))
        .identity_scope(scope(COSMOS_AUDIENCE))
        .identity_scope(scope(EVENTGRID_AUDIENCE))
}

fn request(method: &str, uri: &str, content_type: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body.into())
        .expect("a valid test request")
}

fn json_body(resp: &Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", e2e::body_text(resp)))
}

/// The tokens the broker holds now (the ones it handed out), to look for in logs and bodies.
async fn tokens_of(broker: &TokenBroker, audiences: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for a in audiences {
        let t = broker.token(&scope(a)).await.expect("cached token");
        out.push(t.token.secret().to_string());
    }
    out
}

fn assert_no_token_in(text: &str, tokens: &[String]) {
    for t in tokens {
        assert!(!text.contains(t.as_str()), "a token appears in: {text}");
    }
}

async fn blob_samples_write_and_read_with_tokens(world: e2e::World) {
    let logs = e2e::global_logs();
    let emus = emulators().await;
    let broker = broker();
    let h = Harness::builder()
        .identity(broker.clone())
        .module(with_scopes(keyless(world, "/write", "blob-write", &emus)))
        .module(with_scopes(keyless(world, "/read", "blob-read", &emus)))
        .build()
        .expect("the harness builds");
    let resp = h
        .handle(request(
            "POST",
            "/write?container=tokens&blob=a.txt",
            "text/plain",
            "key-less",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        e2e::body_text(&resp)
    );
    let resp = h
        .handle(e2e::get("/read?container=tokens&blob=a.txt"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "key-less");
    // Two samples, several requests: one fetch for the storage scope.
    assert_eq!(broker.fetches(), 1);
    let tokens = tokens_of(&broker, &[STORAGE_AUDIENCE]).await;
    assert_no_token_in(&logs.text(), &tokens);
    emus.shutdown().await;
}

async fn cosmos_sample_with_tokens(world: e2e::World) {
    let emus = emulators().await;
    let broker = broker();
    let h = Harness::builder()
        .identity(broker.clone())
        .module(with_scopes(keyless(world, "/cosmos", "cosmos", &emus)))
        .build()
        .expect("the harness builds");
    for id in ["t1", "t2"] {
        let doc = format!(r#"{{"id":"{id}","owner":"ann"}}"#);
        let resp = h
            .handle(request(
                "POST",
                "/cosmos?collection=notes",
                "application/json",
                doc,
            ))
            .await;
        assert!(
            resp.status().is_success(),
            "{}: {}",
            resp.status(),
            e2e::body_text(&resp)
        );
    }
    let resp = h.handle(e2e::get("/cosmos?collection=notes&id=t2")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(json_body(&resp)["owner"], "ann");
    let resp = h
        .handle(e2e::get("/cosmos?collection=notes&where=owner&equals=ann"))
        .await;
    assert_eq!(json_body(&resp)["count"], 2, "{}", e2e::body_text(&resp));
    assert_eq!(broker.fetches(), 1);
    emus.shutdown().await;
}

/// Publish (Blob + EventGrid with tokens), the webhook (Blob + Cosmos with tokens), and the
/// cosmos sample finding the record: every Azure sample, no key anywhere in the modules.
async fn publish_webhook_cosmos_with_tokens(world: e2e::World) {
    let logs = e2e::global_logs();
    let emus = emulators().await;
    let broker = broker();
    let h = Harness::builder()
        .identity(broker.clone())
        .module(with_scopes(keyless(
            world,
            "/publish",
            "eventgrid-publish",
            &emus,
        )))
        .module(with_scopes(keyless(
            world,
            "/webhook",
            "eventgrid-webhook",
            &emus,
        )))
        .module(with_scopes(keyless(world, "/cosmos", "cosmos", &emus)))
        .build()
        .expect("the harness builds");
    let server = h
        .serve("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve");
    let mut sub =
        SubscriptionConfig::new("webhook", "default", &format!("{}/webhook", server.url()));
    sub.included_event_types = vec!["Microsoft.Storage.BlobCreated".into()];
    emus.add_subscription(sub).await.expect("subscribe");
    let resp = h
        .handle(request(
            "POST",
            "/publish?container=uploads&blob=t.txt",
            "text/plain",
            "token path",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        e2e::body_text(&resp)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        let resp = h
            .handle(e2e::get("/cosmos?collection=blobs&id=uploads%7Ct.txt"))
            .await;
        if resp.status() == StatusCode::OK {
            break json_body(&resp);
        }
        assert!(
            Instant::now() < deadline,
            "no record in 30 s: {}: {}",
            resp.status(),
            e2e::body_text(&resp)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(record["preview"], "token path");
    // Three scopes, each fetched once for all three modules.
    assert_eq!(broker.fetches(), 3);
    let tokens = tokens_of(
        &broker,
        &[STORAGE_AUDIENCE, COSMOS_AUDIENCE, EVENTGRID_AUDIENCE],
    )
    .await;
    assert_no_token_in(&logs.text(), &tokens);
    server.shutdown().await;
    emus.shutdown().await;
}

async fn a_thousand_requests_cause_one_fetch_per_scope(world: e2e::World) {
    let emus = emulators().await;
    let broker = broker();
    let h = Harness::builder()
        .identity(broker.clone())
        .module(with_scopes(keyless(world, "/write", "blob-write", &emus)))
        .module(with_scopes(keyless(world, "/read", "blob-read", &emus)))
        .build()
        .expect("the harness builds");
    let resp = h
        .handle(request(
            "POST",
            "/write?container=many&blob=x",
            "text/plain",
            "x",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        e2e::body_text(&resp)
    );
    let h = Arc::new(h);
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let h = h.clone();
        batch.spawn(async move {
            h.handle(e2e::get("/read?container=many&blob=x"))
                .await
                .status()
        });
        if i % 16 == 15 {
            while let Some(status) = batch.join_next().await {
                assert_eq!(status.expect("task"), StatusCode::OK);
            }
        }
    }
    while let Some(status) = batch.join_next().await {
        assert_eq!(status.expect("task"), StatusCode::OK);
    }
    assert_eq!(
        broker.fetches(),
        1,
        "1001 requests, one storage scope: one fetch"
    );
    emus.shutdown().await;
}

async fn a_module_without_identity_gets_403_and_the_log_names_the_fix(world: e2e::World) {
    let logs = e2e::global_logs();
    let emus = emulators().await;
    let broker = broker();
    // A unique route, so this test finds its own log line.
    let route = format!(
        "/no-identity-{}",
        match world {
            e2e::World::Module => "module",
            e2e::World::Component => "component",
        }
    );
    let h = Harness::builder()
        .identity(broker.clone())
        .module(keyless(world, &route, "blob-write", &emus))
        .build()
        .expect("the harness builds");
    let resp = h
        .handle(request(
            "POST",
            &format!("{route}?container=denied&blob=x"),
            "text/plain",
            "x",
        ))
        .await;
    assert!(
        resp.status().is_server_error(),
        "{}: {}",
        resp.status(),
        e2e::body_text(&resp)
    );
    let body = e2e::body_text(&resp);
    // The handler's answer carries the broker's reason, which names the line to add.
    let wanted = "identity = { scopes = [\"https://storage.azure.com/.default\"] }";
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body.contains("no access token") && body.contains("(403)"),
        "{body}"
    );
    assert!(body.contains(wanted), "{body}");
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains(&route) && l.contains("token refused") && l.contains(wanted)),
        "no log line names the fix for {route}:\n{text}"
    );
    assert_eq!(broker.fetches(), 0, "a refused scope is never fetched");
    emus.shutdown().await;
}

e2e::in_both_worlds!(
    blob_samples_write_and_read_with_tokens,
    cosmos_sample_with_tokens,
    publish_webhook_cosmos_with_tokens,
    a_thousand_requests_cause_one_fetch_per_scope,
    a_module_without_identity_gets_403_and_the_log_names_the_fix,
);
