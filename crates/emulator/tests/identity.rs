//! Entra ID style bearer tokens against the three emulators: the managed-identity endpoint
//! issues them, Blob (`Authorization: Bearer`), Cosmos DB (`type=aad&ver=1.0&sig=<token>`) and
//! EventGrid (`Authorization: Bearer`) accept them, and refuse a wrong audience, an expired
//! token and a missing role with Azure's status and error codes. No error body holds a token.

mod common;

use common::{now_http, send, Resp};
use emulator::identity::{
    roles, COSMOS_AUDIENCE, DEV_IDENTITY_HEADER, EVENTGRID_AUDIENCE, STORAGE_AUDIENCE,
};
use emulator::{Emulators, EmulatorsConfig};
use http::{Method, StatusCode};

async fn start() -> Emulators {
    let mut cfg = EmulatorsConfig::default().with_free_ports();
    cfg.identity.enabled = true;
    Emulators::start(cfg).await.expect("emulators start")
}

/// A token from the managed-identity endpoint, as `azure_identity` asks for it.
async fn fetch_token(emus: &Emulators, resource: &str) -> String {
    let id = emus.identity().expect("identity enabled");
    let url = format!(
        "{}?api-version=2019-08-01&resource={}",
        id.endpoint(),
        url::form_urlencoded::byte_serialize(resource.as_bytes()).collect::<String>()
    );
    let r = send(
        Method::GET,
        &url,
        &[("x-identity-header", DEV_IDENTITY_HEADER)],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["resource"], resource);
    let expires: i64 = v["expires_on"]
        .as_str()
        .expect("string")
        .parse()
        .expect("unix seconds");
    assert!(expires > time::OffsetDateTime::now_utc().unix_timestamp());
    v["access_token"].as_str().expect("token").to_string()
}

/// A token signed by the trusted issuer with the given audience, roles and lifetime window.
fn token(emus: &Emulators, aud: &str, roles: &[&str], issued_at: i64, lifetime: u64) -> String {
    let roles = roles.iter().map(|r| r.to_string()).collect();
    emus.identity()
        .expect("identity enabled")
        .issuer()
        .issue(aud, roles, issued_at, lifetime)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn blob(
    emus: &Emulators,
    method: Method,
    path: &str,
    token: &str,
    body: &'static str,
) -> Resp {
    let url = format!(
        "{}{path}",
        emus.blob().expect("blob").account_url(common::ACCOUNT)
    );
    let auth = format!("Bearer {token}");
    let date = now_http();
    send(
        method,
        &url,
        &[
            ("authorization", auth.as_str()),
            ("x-ms-version", "2021-08-06"),
            ("x-ms-date", date.as_str()),
            ("x-ms-blob-type", "BlockBlob"),
        ],
        body,
    )
    .await
}

fn no_token_in(r: &Resp, token: &str) {
    assert!(!r.text().contains(token), "the error body holds the token");
    for (_, v) in &r.headers {
        assert!(!String::from_utf8_lossy(v.as_bytes()).contains(token));
    }
}

#[tokio::test]
async fn endpoint_answers_like_app_service_and_refuses_without_the_secret() {
    let emus = start().await;
    let id = emus.identity().expect("identity");
    let base = id.endpoint();
    let ok = format!("{base}?api-version=2019-08-01&resource=https://storage.azure.com");
    let r = send(Method::GET, &ok, &[("x-identity-header", "wrong")], "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let r = send(Method::GET, &ok, &[], "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let no_resource = format!("{base}?api-version=2019-08-01");
    let r = send(
        Method::GET,
        &no_resource,
        &[("x-identity-header", DEV_IDENTITY_HEADER)],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let old = format!("{base}?api-version=2017-09-01&resource=https://storage.azure.com");
    let r = send(
        Method::GET,
        &old,
        &[("x-identity-header", DEV_IDENTITY_HEADER)],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(id.tokens_issued(), 0);
    let t = fetch_token(&emus, STORAGE_AUDIENCE).await;
    assert_eq!(t.split('.').count(), 3);
    assert_eq!(id.tokens_issued(), 1);
    emus.shutdown().await;
}

#[tokio::test]
async fn blob_accepts_an_issued_token_and_refuses_the_wrong_ones() {
    let emus = start().await;
    let t = fetch_token(&emus, STORAGE_AUDIENCE).await;
    let r = blob(&emus, Method::PUT, "/tokens?restype=container", &t, "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = blob(&emus, Method::PUT, "/tokens/hello.txt", &t, "hello").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = blob(&emus, Method::GET, "/tokens/hello.txt", &t, "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "hello");

    // Another service's audience: 401 InvalidAuthenticationInfo with a challenge.
    let wrong = fetch_token(&emus, EVENTGRID_AUDIENCE).await;
    let r = blob(&emus, Method::GET, "/tokens/hello.txt", &wrong, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), Some("InvalidAuthenticationInfo"));
    assert!(
        r.text().contains("Audience validation failed"),
        "{}",
        r.text()
    );
    assert!(r
        .header("www-authenticate")
        .is_some_and(|c| c.contains("resource_id=https://storage.azure.com")));
    no_token_in(&r, &wrong);

    // Expired.
    let expired = token(
        &emus,
        STORAGE_AUDIENCE,
        &[roles::BLOB_CONTRIBUTOR],
        now() - 7200,
        3600,
    );
    let r = blob(&emus, Method::GET, "/tokens/hello.txt", &expired, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), Some("InvalidAuthenticationInfo"));
    assert!(
        r.text().contains("Lifetime validation failed"),
        "{}",
        r.text()
    );
    no_token_in(&r, &expired);

    // A reader reads, but may not write: 403 AuthorizationPermissionMismatch.
    let reader = token(&emus, STORAGE_AUDIENCE, &[roles::BLOB_READER], now(), 600);
    let r = blob(&emus, Method::GET, "/tokens/hello.txt", &reader, "").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = blob(&emus, Method::PUT, "/tokens/other.txt", &reader, "x").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), Some("AuthorizationPermissionMismatch"));
    // No role at all: not even reads.
    let nobody = token(&emus, STORAGE_AUDIENCE, &[], now(), 600);
    let r = blob(&emus, Method::GET, "/tokens/hello.txt", &nobody, "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), Some("AuthorizationPermissionMismatch"));

    // A token signed with another key, and a garbled one.
    let mut tampered = t.clone();
    tampered.push('A');
    let r = blob(&emus, Method::GET, "/tokens/hello.txt", &tampered, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    no_token_in(&r, &tampered);
    emus.shutdown().await;
}

#[tokio::test]
async fn blob_refuses_bearer_tokens_before_version_2017_11_09() {
    let emus = start().await;
    let t = fetch_token(&emus, STORAGE_AUDIENCE).await;
    let url = format!(
        "{}?comp=list",
        emus.blob().expect("blob").account_url(common::ACCOUNT)
    );
    let auth = format!("Bearer {t}");
    let r = send(
        Method::GET,
        &url,
        &[
            ("authorization", auth.as_str()),
            ("x-ms-version", "2017-04-17"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), Some("InvalidAuthenticationInfo"));
    emus.shutdown().await;
}

async fn cosmos(
    emus: &Emulators,
    method: Method,
    path: &str,
    token: &str,
    body: &'static str,
) -> Resp {
    let url = format!("{}{path}", emus.cosmos().expect("cosmos").url());
    let auth =
        url::form_urlencoded::byte_serialize(format!("type=aad&ver=1.0&sig={token}").as_bytes())
            .collect::<String>();
    let date = now_http();
    send(
        method,
        &url,
        &[
            ("authorization", auth.as_str()),
            ("x-ms-date", date.as_str()),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

fn cosmos_code(r: &Resp) -> String {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    v["code"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn cosmos_accepts_aad_tokens_and_checks_audience_expiry_and_role() {
    let emus = start().await;
    let t = fetch_token(&emus, COSMOS_AUDIENCE).await;
    let r = cosmos(&emus, Method::POST, "/dbs", &t, r#"{"id":"aad"}"#).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = cosmos(&emus, Method::GET, "/dbs/aad", &t, "").await;
    assert_eq!(r.status, StatusCode::OK);

    let wrong = fetch_token(&emus, STORAGE_AUDIENCE).await;
    let r = cosmos(&emus, Method::GET, "/dbs/aad", &wrong, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(cosmos_code(&r), "Unauthorized");
    assert!(
        r.text().contains("Audience validation failed"),
        "{}",
        r.text()
    );
    no_token_in(&r, &wrong);

    let expired = token(
        &emus,
        COSMOS_AUDIENCE,
        &[roles::COSMOS_CONTRIBUTOR],
        now() - 7200,
        60,
    );
    let r = cosmos(&emus, Method::GET, "/dbs/aad", &expired, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("Lifetime validation failed"));

    let reader = token(&emus, COSMOS_AUDIENCE, &[roles::COSMOS_READER], now(), 600);
    let r = cosmos(&emus, Method::GET, "/dbs/aad", &reader, "").await;
    assert_eq!(r.status, StatusCode::OK);
    let r = cosmos(&emus, Method::POST, "/dbs", &reader, r#"{"id":"nope"}"#).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(cosmos_code(&r), "Forbidden");
    assert!(
        r.text().contains("does not have required RBAC permissions"),
        "{}",
        r.text()
    );
    emus.shutdown().await;
}

async fn publish(emus: &Emulators, auth: &str) -> Resp {
    let url = format!(
        "{}?api-version=2018-01-01",
        emus.eventgrid()
            .expect("eventgrid")
            .topic_endpoint("default")
    );
    let body = r#"[{"id":"1","subject":"s","eventType":"t","eventTime":"2024-01-01T00:00:00Z","dataVersion":"1","data":{}}]"#;
    send(
        Method::POST,
        &url,
        &[
            ("authorization", auth),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn eventgrid_accepts_bearer_tokens_with_the_sender_role() {
    let emus = start().await;
    let t = fetch_token(&emus, EVENTGRID_AUDIENCE).await;
    let r = publish(&emus, &format!("Bearer {t}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let wrong = fetch_token(&emus, STORAGE_AUDIENCE).await;
    let r = publish(&emus, &format!("Bearer {wrong}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.text().contains("Unauthorized") && r.text().contains("Audience validation failed"),
        "{}",
        r.text()
    );
    no_token_in(&r, &wrong);

    let expired = token(
        &emus,
        EVENTGRID_AUDIENCE,
        &[roles::EVENTGRID_SENDER],
        now() - 100,
        10,
    );
    let r = publish(&emus, &format!("Bearer {expired}")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let no_role = token(
        &emus,
        EVENTGRID_AUDIENCE,
        &[roles::BLOB_CONTRIBUTOR],
        now(),
        600,
    );
    let r = publish(&emus, &format!("Bearer {no_role}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.text().contains("Forbidden") && r.text().contains(roles::EVENTGRID_SENDER),
        "{}",
        r.text()
    );
    emus.shutdown().await;
}

#[tokio::test]
async fn without_a_trusted_issuer_bearer_tokens_are_refused() {
    let cfg = emulator::BlobConfig {
        port: 0,
        events: None,
        ..Default::default()
    };
    let b = emulator::blob::BlobEmulator::start(cfg, emulator::store::StoreHandle::memory(), None)
        .await
        .expect("blob");
    let trust = emulator::identity::TrustedIssuer::from_config(&Default::default()).expect("key");
    let t = trust.issue(STORAGE_AUDIENCE, vec![roles::BLOB_OWNER.into()], now(), 600);
    let url = format!("{}?comp=list", b.account_url(common::ACCOUNT));
    let auth = format!("Bearer {t}");
    let r = send(
        Method::GET,
        &url,
        &[
            ("authorization", auth.as_str()),
            ("x-ms-version", "2021-08-06"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("[emulators.identity]"), "{}", r.text());
    b.shutdown().await;
}
