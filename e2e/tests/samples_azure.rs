//! The Azure samples (blob-write, blob-read, cosmos, eventgrid-publish, eventgrid-webhook) as
//! real `.wasm` files in the harness, against the embedded emulators on free loopback ports. Every
//! test runs in both worlds (`e2e::in_both_worlds!`): once with the WAGI module
//! (`wasm32-wasip1`), once with the wasi:http component (`wasm32-wasip2`).
//!
//! Needs the samples built first for both targets: `cargo xtask build` (modules looked for in
//! `target/wasm32-wasip1/wasm-release` or `AZURE_WASI_WASM_DIR`, components in
//! `target/wasm32-wasip2/wasm-release` or `AZURE_WASI_COMPONENT_DIR`).

use bytes::Bytes;
use emulator::{
    Emulators, EmulatorsConfig, SubscriptionConfig, DEV_ACCOUNT, DEV_ACCOUNT_KEY, DEV_TOPIC_KEY,
};
use harness::{Harness, ModuleConfig};
use http::{Request, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

const COSMOS_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

async fn emulators(cosmos: bool) -> Emulators {
    let mut cfg = EmulatorsConfig::default().with_free_ports();
    cfg.cosmos.enabled = cosmos;
    cfg.eventgrid.retry.initial_backoff_ms = 50;
    cfg.eventgrid.retry.max_backoff_ms = 200;
    Emulators::start(cfg).await.expect("start the emulators")
}

/// A module with the environment and allowed hosts every Azure sample may need.
fn module(world: e2e::World, route: &str, guest: &str, emus: &Emulators) -> ModuleConfig {
    let blob = emus.blob().expect("blob emulator enabled");
    let mut m = ModuleConfig::new(route, world.guest(guest))
        .env("STORAGE_ACCOUNT", DEV_ACCOUNT)
        .env("STORAGE_MASTER_KEY", DEV_ACCOUNT_KEY)
        .env("STORAGE_ENDPOINT", blob.account_url(DEV_ACCOUNT))
        .allowed_host(blob.url());
    if let Some(cosmos) = emus.cosmos() {
        m = m
            .env("COSMOS_ENDPOINT", cosmos.url())
            .env("COSMOS_MASTER_KEY", COSMOS_KEY)
            .allowed_host(cosmos.url());
    }
    if let Some(eg) = emus.eventgrid() {
        m = m
            .env("EVENTGRID_ENDPOINT", eg.topic_endpoint("default"))
            .env("EVENTGRID_KEY", DEV_TOPIC_KEY)
            .allowed_host(eg.url());
    }
    m
}

fn json_body(resp: &Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", e2e::body_text(resp)))
}

fn request(method: &str, uri: &str, content_type: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body.into())
        .expect("a valid test request")
}

async fn blob_write_then_read_small_and_large(world: e2e::World) {
    let emus = emulators(false).await;
    let h = Harness::builder()
        .module(module(world, "/write", "blob-write", &emus))
        .module(module(world, "/read", "blob-read", &emus))
        .build()
        .expect("the harness builds with the blob samples");

    let resp = h
        .handle(request(
            "POST",
            "/write?container=e2e&blob=dir/hello.txt",
            "text/plain",
            "hello world",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        e2e::body_text(&resp)
    );
    let written = json_body(&resp);
    assert_eq!(written["bytes"], 11);
    assert_eq!(written["blob"], "dir/hello.txt");
    assert_eq!(written["contentType"], "text/plain");

    let resp = h
        .handle(e2e::get("/read?container=e2e&blob=dir/hello.txt"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(e2e::body_text(&resp), "hello world");
    assert_eq!(resp.headers()["content-type"], "text/plain");

    // 9 MiB: three staged blocks on the way in, ranged reads on the way out.
    let big: Vec<u8> = (0..9 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let expected = Sha256::digest(&big);
    let resp = h
        .handle(request(
            "POST",
            "/write?container=e2e&blob=big.bin",
            "application/octet-stream",
            big,
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        e2e::body_text(&resp)
    );
    let written = json_body(&resp);
    assert_eq!(written["bytes"], 9 * 1024 * 1024);
    assert_eq!(written["blocks"], 3);
    let resp = h.handle(e2e::get("/read?container=e2e&blob=big.bin")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.body().len(), 9 * 1024 * 1024);
    assert_eq!(Sha256::digest(resp.body()), expected);
    emus.shutdown().await;
}

async fn blob_samples_explain_bad_input(world: e2e::World) {
    let emus = emulators(false).await;
    let h = Harness::builder()
        .module(module(world, "/write", "blob-write", &emus))
        .module(module(world, "/read", "blob-read", &emus))
        .build()
        .expect("the harness builds with the blob samples");

    let resp = h
        .handle(request("POST", "/write?blob=x", "text/plain", "abc"))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        e2e::body_text(&resp).contains("container"),
        "{}",
        e2e::body_text(&resp)
    );

    let resp = h
        .handle(request(
            "POST",
            "/write?container=e2e&blob=x",
            "text/plain",
            "",
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        e2e::body_text(&resp).contains("empty"),
        "{}",
        e2e::body_text(&resp)
    );

    let resp = h
        .handle(request(
            "POST",
            "/write?container=Bad_Name&blob=x",
            "text/plain",
            "abc",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        e2e::body_text(&resp)
    );

    let resp = h
        .handle(e2e::get("/read?container=e2e&blob=missing.txt"))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "{}",
        e2e::body_text(&resp)
    );
    assert!(e2e::body_text(&resp).contains("write it first"));

    let resp = h.handle(e2e::get("/read?container=e2e")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(e2e::body_text(&resp).contains("blob"));
    emus.shutdown().await;
}

async fn blob_write_with_a_wrong_key_is_a_502_naming_the_service_answer(world: e2e::World) {
    let emus = emulators(false).await;
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=";
    let h = Harness::builder()
        .module(module(world, "/write", "blob-write", &emus).env("STORAGE_MASTER_KEY", wrong))
        .build()
        .expect("the harness builds");
    let resp = h
        .handle(request(
            "POST",
            "/write?container=e2e&blob=x",
            "text/plain",
            "abc",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::BAD_GATEWAY,
        "{}",
        e2e::body_text(&resp)
    );
    assert!(!e2e::body_text(&resp).contains(wrong));
    emus.shutdown().await;
}

async fn cosmos_sample_writes_reads_lists_queries_and_deletes(world: e2e::World) {
    let emus = emulators(true).await;
    let h = Harness::builder()
        .module(module(world, "/cosmos", "cosmos", &emus))
        .build()
        .expect("the harness builds with the cosmos sample");

    for (id, owner) in [("n1", "ann"), ("n2", "bob"), ("n3", "ann")] {
        let doc = format!(r#"{{"id":"{id}","owner":"{owner}","text":"note {id}"}}"#);
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
    let resp = h.handle(e2e::get("/cosmos?collection=notes&id=n2")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(json_body(&resp)["owner"], "bob");

    let resp = h.handle(e2e::get("/cosmos?collection=notes")).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(json_body(&resp)["count"], 3);

    let resp = h
        .handle(e2e::get("/cosmos?collection=notes&where=owner&equals=ann"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    let found = json_body(&resp);
    assert_eq!(found["count"], 2, "{found}");

    let resp = h
        .handle(request(
            "DELETE",
            "/cosmos?collection=notes&id=n1",
            "text/plain",
            "",
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    let resp = h.handle(e2e::get("/cosmos?collection=notes&id=n1")).await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "{}",
        e2e::body_text(&resp)
    );

    let resp = h
        .handle(request(
            "POST",
            "/cosmos?collection=notes",
            "application/json",
            r#"{"owner":"x"}"#,
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        e2e::body_text(&resp).contains("\"id\""),
        "{}",
        e2e::body_text(&resp)
    );
    emus.shutdown().await;
}

async fn webhook_answers_the_validation_handshakes(world: e2e::World) {
    let emus = emulators(true).await;
    let h = Harness::builder()
        .module(module(world, "/webhook", "eventgrid-webhook", &emus))
        .build()
        .expect("the harness builds with the webhook sample");
    let validation = r#"[{"id":"v1","topic":"t","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime":"2024-01-01T00:00:00Z","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},"dataVersion":"1"}]"#;
    let resp = h
        .handle(request("POST", "/webhook", "application/json", validation))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(
        json_body(&resp)["validationResponse"],
        "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
    );

    let options = Request::builder()
        .method("OPTIONS")
        .uri("/webhook")
        .header("WebHook-Request-Origin", "eventgrid.azure.net")
        .body(Bytes::new())
        .expect("request");
    let resp = h.handle(options).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(
        resp.headers()["webhook-allowed-origin"],
        "eventgrid.azure.net"
    );

    let resp = h
        .handle(request("POST", "/webhook", "application/json", "{not json"))
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let custom = r#"[{"id":"c1","subject":"x","eventType":"Contoso.Custom","eventTime":"t","data":{"a":1}}]"#;
    let resp = h
        .handle(request("POST", "/webhook", "application/json", custom))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", e2e::body_text(&resp));
    assert_eq!(
        json_body(&resp)["ignored"][0]["eventType"],
        "Contoso.Custom"
    );
    emus.shutdown().await;
}

/// The article's scenario: publish stores a blob and announces it; EventGrid delivers to the
/// webhook (served by the harness over real HTTP); the webhook reads the blob and records it in
/// Cosmos DB; the cosmos sample finds the record.
async fn publish_event_webhook_records_the_blob_in_cosmos(world: e2e::World) {
    let emus = emulators(true).await;
    let h = Harness::builder()
        .module(module(world, "/publish", "eventgrid-publish", &emus))
        .module(module(world, "/webhook", "eventgrid-webhook", &emus))
        .module(module(world, "/cosmos", "cosmos", &emus))
        .build()
        .expect("the harness builds with the eventgrid samples");
    let server = h
        .serve("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve");
    let mut sub =
        SubscriptionConfig::new("webhook", "default", &format!("{}/webhook", server.url()));
    sub.included_event_types = vec!["Microsoft.Storage.BlobCreated".into()];
    emus.add_subscription(sub)
        .await
        .expect("subscribe the webhook");

    let resp = h
        .handle(request(
            "POST",
            "/publish?container=uploads&blob=note.txt",
            "text/plain",
            "hello from the article",
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        e2e::body_text(&resp)
    );
    let published = json_body(&resp);
    assert_eq!(
        published["event"]["eventType"],
        "Microsoft.Storage.BlobCreated"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let record = loop {
        let resp = h
            .handle(e2e::get("/cosmos?collection=blobs&id=uploads%7Cnote.txt"))
            .await;
        if resp.status() == StatusCode::OK {
            break json_body(&resp);
        }
        assert!(
            Instant::now() < deadline,
            "the webhook did not record the blob in 30 s; last answer {}: {}",
            resp.status(),
            e2e::body_text(&resp)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(record["container"], "uploads");
    assert_eq!(record["blob"], "note.txt");
    assert_eq!(record["size"], 22);
    assert_eq!(record["preview"], "hello from the article");
    assert_eq!(record["eventId"], published["event"]["id"]);
    server.shutdown().await;
    emus.shutdown().await;
}

e2e::in_both_worlds!(
    blob_write_then_read_small_and_large,
    blob_samples_explain_bad_input,
    blob_write_with_a_wrong_key_is_a_502_naming_the_service_answer,
    cosmos_sample_writes_reads_lists_queries_and_deletes,
    webhook_answers_the_validation_handshakes,
    publish_event_webhook_records_the_blob_in_cosmos,
);
