//! The Cosmos client against a mock transport.

mod common;

use azure_wasi_core::auth::SigningKey;
use azure_wasi_cosmos::{
    authorization_token, Cosmos, CosmosSettings, Error, ItemOptions, PartitionKey, Query,
    EMULATOR_KEY,
};
use common::{Mock, Seen};
use futures::executor::block_on;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    id: String,
    owner: String,
    text: String,
}

fn client(mock: &std::sync::Arc<Mock>) -> Cosmos {
    let settings = CosmosSettings::new("http://127.0.0.1:8081", EMULATOR_KEY).unwrap();
    Cosmos::with_options(settings, mock.options())
}

fn assert_signed(seen: &Seen, resource_type: &str, resource_link: &str) {
    let key = SigningKey::from_base64(EMULATOR_KEY).unwrap();
    let date = seen.header("x-ms-date").expect("x-ms-date");
    let token = authorization_token(&key, &seen.method, resource_type, resource_link, date);
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    assert_eq!(seen.header("authorization"), Some(encoded.as_str()));
    assert_eq!(seen.header("x-ms-version"), Some("2018-12-31"));
}

#[test]
fn create_database_if_not_exists_accepts_conflict() {
    let mock = Mock::new();
    mock.reply(
        409,
        &[("x-ms-substatus", "0")],
        br#"{"code":"Conflict","message":"Resource with specified id already exists."}"#,
    );
    let db = block_on(client(&mock).create_database_if_not_exists("app", None)).unwrap();
    assert_eq!(db.id(), "app");
    let seen = &mock.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.url, "http://127.0.0.1:8081/dbs");
    assert_eq!(seen.body, br#"{"id":"app"}"#);
    assert_signed(seen, "dbs", "");
}

#[test]
fn container_creation_sends_partition_key_definition() {
    let mock = Mock::new();
    mock.reply(
        201,
        &[],
        br#"{"id":"notes","partitionKey":{"paths":["/owner"],"kind":"Hash","version":2}}"#,
    );
    let db = client(&mock).database_client("app");
    let c = block_on(db.create_container_if_not_exists("notes", "/owner", None)).unwrap();
    assert_eq!(c.id(), "notes");
    let seen = &mock.seen()[0];
    assert_eq!(seen.url, "http://127.0.0.1:8081/dbs/app/colls");
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body["partitionKey"]["paths"][0], "/owner");
    assert_signed(seen, "colls", "dbs/app");
}

#[test]
fn item_crud_with_partition_key_and_etag() {
    let mock = Mock::new();
    let note = Note {
        id: "n1".into(),
        owner: "ann".into(),
        text: "hi".into(),
    };
    let stored = r#"{"id":"n1","owner":"ann","text":"hi","_etag":"\"e1\""}"#;
    mock.reply(
        201,
        &[("etag", "\"e1\""), ("x-ms-request-charge", "6.1")],
        stored.as_bytes(),
    );
    mock.reply(200, &[("etag", "\"e1\"")], stored.as_bytes());
    mock.reply(412, &[("x-ms-substatus", "0")], br#"{"code":"PreconditionFailed","message":"Operation cannot be performed because one of the specified precondition is not met."}"#);
    mock.reply(200, &[("etag", "\"e2\"")], stored.as_bytes());
    mock.reply(204, &[], b"");
    let c = client(&mock)
        .database_client("app")
        .container_client("notes");

    let created = block_on(c.create_item("ann", &note, None)).unwrap();
    assert_eq!(created.status, 201);
    assert_eq!(created.etag.as_deref(), Some("\"e1\""));
    assert_eq!(created.request_charge, Some(6.1));

    let read = block_on(c.read_item("ann", "n1", None)).unwrap();
    let back: Note = read.into_item().unwrap();
    assert_eq!(back, note);

    let stale = ItemOptions {
        if_match: Some("\"e0\"".into()),
    };
    let err = block_on(c.replace_item("ann", "n1", &note, Some(stale))).unwrap_err();
    assert!(err.is_precondition_failed(), "{err}");
    assert!(err.to_string().contains("read it again"), "{err}");

    let upserted = block_on(c.upsert_item("ann", &note, None)).unwrap();
    assert_eq!(upserted.etag.as_deref(), Some("\"e2\""));

    block_on(c.delete_item(
        "ann",
        "n1",
        Some(ItemOptions {
            if_match: Some("\"e2\"".into()),
        }),
    ))
    .unwrap();

    let seen = mock.seen();
    assert_eq!(seen.len(), 5);
    for s in &seen {
        assert_eq!(s.header("x-ms-documentdb-partitionkey"), Some(r#"["ann"]"#));
    }
    assert_eq!(
        seen[0].url,
        "http://127.0.0.1:8081/dbs/app/colls/notes/docs"
    );
    assert_signed(&seen[0], "docs", "dbs/app/colls/notes");
    assert_eq!(seen[1].method, "GET");
    assert_eq!(
        seen[1].url,
        "http://127.0.0.1:8081/dbs/app/colls/notes/docs/n1"
    );
    assert_signed(&seen[1], "docs", "dbs/app/colls/notes/docs/n1");
    assert_eq!(seen[2].method, "PUT");
    assert_eq!(seen[2].header("if-match"), Some("\"e0\""));
    assert_eq!(seen[3].header("x-ms-documentdb-is-upsert"), Some("true"));
    assert_eq!(seen[4].method, "DELETE");
    assert_eq!(seen[4].header("if-match"), Some("\"e2\""));
}

#[test]
fn query_pages_over_continuation_tokens() {
    let mock = Mock::new();
    mock.reply(
        200,
        &[
            ("x-ms-continuation", "tok-1"),
            ("x-ms-request-charge", "2.5"),
        ],
        br#"{"_rid":"r","Documents":[{"id":"a","owner":"ann","text":"1"}],"_count":1}"#,
    );
    mock.reply(
        200,
        &[],
        br#"{"_rid":"r","Documents":[{"id":"b","owner":"ann","text":"2"}],"_count":1}"#,
    );
    let c = client(&mock)
        .database_client("app")
        .container_client("notes");
    let q = Query::from("SELECT * FROM c WHERE c.owner = @owner")
        .with_parameter("@owner", "ann")
        .unwrap();
    let mut pager = c.query_items::<Note>(q, None).with_max_item_count(1);
    let first = block_on(pager.next_page()).unwrap().unwrap();
    assert_eq!(first.items[0].id, "a");
    assert_eq!(first.continuation.as_deref(), Some("tok-1"));
    assert_eq!(first.request_charge, Some(2.5));
    let second = block_on(pager.next_page()).unwrap().unwrap();
    assert_eq!(second.items[0].id, "b");
    assert!(block_on(pager.next_page()).unwrap().is_none());

    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/query+json")
    );
    assert_eq!(seen[0].header("x-ms-documentdb-isquery"), Some("true"));
    assert_eq!(
        seen[0].header("x-ms-documentdb-query-enablecrosspartition"),
        Some("true")
    );
    assert_eq!(seen[0].header("x-ms-max-item-count"), Some("1"));
    assert!(seen[0].header("x-ms-continuation").is_none());
    assert_eq!(seen[1].header("x-ms-continuation"), Some("tok-1"));
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["parameters"][0]["name"], "@owner");
    assert_eq!(body["parameters"][0]["value"], "ann");
    assert_signed(&seen[0], "docs", "dbs/app/colls/notes");
}

#[test]
fn throttled_requests_wait_and_retry() {
    let mock = Mock::new();
    mock.reply(
        429,
        &[("x-ms-retry-after-ms", "300"), ("x-ms-substatus", "3200")],
        br#"{"code":"429","message":"Request rate is large."}"#,
    );
    mock.reply(200, &[], br#"{"id":"n1","owner":"ann","text":"hi"}"#);
    let c = client(&mock)
        .database_client("app")
        .container_client("notes");
    let started = std::time::Instant::now();
    let r = block_on(c.read_item("ann", "n1", None)).unwrap();
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_signed(s, "docs", "dbs/app/colls/notes/docs/n1");
    }
}

#[test]
fn service_errors_are_typed() {
    let mock = Mock::new();
    mock.reply(
        404,
        &[("x-ms-substatus", "1003"), ("x-ms-activity-id", "act-1")],
        br#"{"code":"NotFound","message":"Owner resource does not exist"}"#,
    );
    let c = client(&mock)
        .database_client("app")
        .container_client("missing");
    let err = block_on(c.read(None)).unwrap_err();
    match &err {
        Error::Service {
            status,
            sub_status,
            code,
            message,
            activity_id,
            retry_after,
        } => {
            assert_eq!(*retry_after, None);
            assert_eq!(*status, 404);
            assert_eq!(*sub_status, Some(1003));
            assert_eq!(code.as_deref(), Some("NotFound"));
            assert_eq!(message, "Owner resource does not exist");
            assert_eq!(activity_id.as_deref(), Some("act-1"));
        }
        other => panic!("expected a service error, got {other:?}"),
    }
    assert!(err.is_not_found());
    let text = err.to_string();
    assert!(
        text.contains("1003") && text.contains("create the database"),
        "{text}"
    );
    assert!(!text.contains(EMULATOR_KEY));
}

#[test]
fn listing_follows_continuations_and_bad_ids_never_reach_the_wire() {
    let mock = Mock::new();
    mock.reply(
        200,
        &[("x-ms-continuation", "c1")],
        br#"{"Databases":[{"id":"a"}],"_count":1}"#,
    );
    mock.reply(200, &[], br#"{"Databases":[{"id":"b"}],"_count":1}"#);
    let cl = client(&mock);
    let dbs = block_on(cl.list_databases(None)).unwrap();
    assert_eq!(
        dbs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_signed(&mock.seen()[0], "dbs", "");

    let err = block_on(cl.database_client("a/b").read(None)).unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err}");
    assert_eq!(mock.seen().len(), 2);
}

#[test]
fn partition_keys_of_other_types() {
    let mock = Mock::new();
    mock.reply(200, &[], br#"{"id":"x"}"#);
    let c = client(&mock)
        .database_client("app")
        .container_client("nums");
    block_on(c.read_item(PartitionKey::from(7i64), "x", None)).unwrap();
    assert_eq!(
        mock.seen()[0].header("x-ms-documentdb-partitionkey"),
        Some("[7]")
    );
}

#[test]
fn throttling_that_outlasts_the_retries_keeps_retry_after() {
    let mock = Mock::new();
    mock.reply(
        429,
        &[("x-ms-retry-after-ms", "1500"), ("x-ms-substatus", "3200")],
        br#"{"code":"TooManyRequests","message":"Request rate is large"}"#,
    );
    let settings = CosmosSettings::new("http://127.0.0.1:8081", EMULATOR_KEY).unwrap();
    let options = azure_core::http::ClientOptions {
        retry: azure_core::http::RetryOptions::none(),
        ..mock.options()
    };
    let c = Cosmos::with_options(settings, options)
        .database_client("app")
        .container_client("notes");
    let err = block_on(c.read_item("ann", "n1", None)).unwrap_err();
    assert_eq!(err.status(), 503);
    assert_eq!(err.retry_after(), Some("2"));
    assert!(err.to_string().contains("Request rate is large"), "{err}");
}
