//! Master-key authentication: the known-answer vector and every rejection path.

#[path = "cosmos_common/mod.rs"]
mod common;

use std::time::{Duration, SystemTime};

use emulator::cosmos::auth;
use serde_json::Value;

fn vector() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/vectors/cosmos-master-key.json"
    );
    let text = std::fs::read_to_string(path).expect("read cosmos vector");
    serde_json::from_str(&text).expect("vector JSON")
}

#[test]
fn vector_known_answer() {
    let v = vector();
    let key = v["key"].as_str().expect("key");
    for case in v["cases"].as_array().expect("cases") {
        let s = |k: &str| case[k].as_str().expect(k).to_string();
        assert_eq!(
            auth::string_to_sign(
                &s("verb"),
                &s("resource_type"),
                &s("resource_link"),
                &s("x_ms_date")
            ),
            s("string_to_sign")
        );
        assert_eq!(
            auth::master_token(
                key,
                &s("verb"),
                &s("resource_type"),
                &s("resource_link"),
                &s("x_ms_date")
            ),
            Some(s("token"))
        );
        assert_eq!(
            auth::authorization_header(
                key,
                &s("verb"),
                &s("resource_type"),
                &s("resource_link"),
                &s("x_ms_date")
            ),
            Some(s("authorization"))
        );
    }
}

#[tokio::test]
async fn vector_token_is_accepted_by_the_server_when_its_date_is_allowed() {
    // The vector's date is in 2022, so allow a very large skew; the server must then accept
    // the vector's exact Authorization header for that request.
    let v = vector();
    let case = &v["cases"][0];
    let cosmos = common::start_with(emulator::cosmos::CosmosConfig {
        max_clock_skew_secs: 100 * 365 * 24 * 3600,
        ..Default::default()
    })
    .await;
    cosmos.setup("db1", "c1").await;
    let r = cosmos
        .req("POST", "/dbs/db1/colls/c1/docs")
        .raw_auth(case["authorization"].as_str(), case["x_ms_date"].as_str())
        .header("x-ms-documentdb-partitionkey", "[\"p\"]")
        .json(&serde_json::json!({"id": "v", "pk": "p"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

#[tokio::test]
async fn missing_authorization_is_401() {
    let cosmos = common::start().await;
    let r = cosmos
        .req("GET", "/dbs")
        .raw_auth(None, Some(&common::now_date()))
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["code"], "Unauthorized");
    assert!(r.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("authorization is missing"));
    assert!(r.header("x-ms-activity-id").is_some());
}

#[tokio::test]
async fn missing_date_is_401() {
    let cosmos = common::start().await;
    let token = auth::authorization_header(&cosmos.key, "GET", "dbs", "", "").expect("sign");
    let r = cosmos
        .req("GET", "/dbs")
        .raw_auth(Some(&token), None)
        .send()
        .await;
    assert_eq!(r.status, 401);
    assert!(r.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("x-ms-date"));
}

#[tokio::test]
async fn wrong_key_is_401_and_secret_free() {
    let cosmos = common::start().await;
    let other_key = "AAAA".to_string() + &cosmos.key[4..];
    let r = cosmos.req("GET", "/dbs").key(&other_key).send().await;
    assert_eq!(r.status, 401);
    let msg = r.body["message"].as_str().unwrap_or_default();
    assert!(msg.contains("get\\ndbs\\n"), "{msg}");
    assert!(!msg.contains(&cosmos.key[..20]), "message leaks the key");
}

#[tokio::test]
async fn signature_over_another_resource_is_401() {
    let cosmos = common::start().await;
    let date = common::now_date();
    // Signed for dbs/other but sent to dbs/db1; and link case matters.
    let token =
        auth::authorization_header(&cosmos.key, "GET", "dbs", "dbs/DB1", &date).expect("sign");
    let r = cosmos
        .req("GET", "/dbs/db1")
        .raw_auth(Some(&token), Some(&date))
        .send()
        .await;
    assert_eq!(r.status, 401);
    // Wrong verb.
    let token = auth::authorization_header(&cosmos.key, "POST", "dbs", "", &date).expect("sign");
    let r = cosmos
        .req("GET", "/dbs")
        .raw_auth(Some(&token), Some(&date))
        .send()
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn malformed_and_resource_tokens_are_401() {
    let cosmos = common::start().await;
    let date = common::now_date();
    for bad in [
        "nonsense",
        "type%3Dmaster%26ver%3D1.0",
        "type=master&ver=1.0&sig=%%%",
        "type=resource&ver=1.0&sig=abc",
    ] {
        let r = cosmos
            .req("GET", "/dbs")
            .raw_auth(Some(bad), Some(&date))
            .send()
            .await;
        assert_eq!(r.status, 401, "{bad}");
    }
}

#[tokio::test]
async fn stale_or_future_date_is_403() {
    let cosmos = common::start().await;
    let stale = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(16 * 60));
    let r = cosmos.req("GET", "/dbs").date(&stale).send().await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.body["code"], "Forbidden");
    let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(16 * 60));
    let r = cosmos.req("GET", "/dbs").date(&future).send().await;
    assert_eq!(r.status, 403);
    // Inside the window is fine.
    let recent = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(14 * 60));
    assert_eq!(
        cosmos.req("GET", "/dbs").date(&recent).send().await.status,
        200
    );
}

#[tokio::test]
async fn unparseable_date_is_401() {
    let cosmos = common::start().await;
    let r = cosmos.req("GET", "/dbs").date("yesterday").send().await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn secondary_key_is_accepted() {
    let secondary = "c2Vjb25kYXJ5LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw";
    let cosmos = common::start_with(emulator::cosmos::CosmosConfig {
        secondary_key: Some(secondary.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        cosmos.req("GET", "/dbs").key(secondary).send().await.status,
        200
    );
    assert_eq!(cosmos.req("GET", "/dbs").send().await.status, 200);
}

#[tokio::test]
async fn invalid_configured_key_fails_start() {
    let err = emulator::cosmos::CosmosEmulator::start(
        emulator::cosmos::CosmosConfig {
            master_key: "not base64!".into(),
            ..Default::default()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect_err("bad key");
    assert!(matches!(err, emulator::cosmos::Error::InvalidMasterKey));
}
