//! Account, databases, containers and items over HTTP.

#[path = "cosmos_common/mod.rs"]
mod common;

use serde_json::json;

#[tokio::test]
async fn account_points_back_at_the_emulator() {
    let cosmos = common::start().await;
    let r = cosmos.get("/").await;
    assert_eq!(r.status, 200);
    let expected = format!("{}/", cosmos.emu.url());
    assert_eq!(
        r.body["writableLocations"][0]["databaseAccountEndpoint"],
        expected.as_str()
    );
    assert_eq!(
        r.body["readableLocations"][0]["databaseAccountEndpoint"],
        expected.as_str()
    );
    assert_eq!(
        r.body["userConsistencyPolicy"]["defaultConsistencyLevel"],
        "Session"
    );
    assert!(r.header("x-ms-request-charge").is_some());
}

#[tokio::test]
async fn databases_lifecycle() {
    let cosmos = common::start().await;
    let r = cosmos.create_db("db1").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["id"], "db1");
    for k in ["_rid", "_self", "_etag", "_ts", "_colls"] {
        assert!(r.body.get(k).is_some(), "missing {k}");
    }
    assert_eq!(r.header("etag"), r.body["_etag"].as_str());
    let dup = cosmos.create_db("db1").await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["code"], "Conflict");
    assert_eq!(cosmos.create_db("db2").await.status, 201);
    let list = cosmos.get("/dbs").await;
    assert_eq!(list.body["_count"], 2);
    assert_eq!(list.header("x-ms-item-count"), Some("2"));
    assert_eq!(cosmos.get("/dbs/db1").await.body["id"], "db1");
    assert_eq!(cosmos.req("DELETE", "/dbs/db1").send().await.status, 204);
    let gone = cosmos.get("/dbs/db1").await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["code"], "NotFound");
    assert_eq!(cosmos.req("DELETE", "/dbs/db1").send().await.status, 404);
    let bad = cosmos
        .req("POST", "/dbs")
        .json(&json!({"id": "a/b"}))
        .send()
        .await;
    assert_eq!(bad.status, 400);
    let noid = cosmos.req("POST", "/dbs").json(&json!({})).send().await;
    assert_eq!(noid.status, 400);
    let notjson = cosmos.req("POST", "/dbs").body(b"{".to_vec()).send().await;
    assert_eq!(notjson.status, 400);
}

#[tokio::test]
async fn containers_lifecycle() {
    let cosmos = common::start().await;
    assert_eq!(cosmos.create_coll("nodb", "c", "/pk").await.status, 404);
    cosmos.create_db("db").await;
    let r = cosmos.create_coll("db", "c1", "/pk").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["partitionKey"]["paths"], json!(["/pk"]));
    assert!(r.body["_self"]
        .as_str()
        .unwrap_or_default()
        .starts_with("dbs/"));
    assert_eq!(cosmos.create_coll("db", "c1", "/pk").await.status, 409);
    let bad = cosmos.create_coll("db", "c2", "pk").await;
    assert_eq!(bad.status, 400);
    cosmos.create_coll("db", "c2", "/a/b").await;
    let list = cosmos.get("/dbs/db/colls").await;
    assert_eq!(
        list.body["DocumentCollections"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(cosmos.get("/dbs/db/colls/c1").await.body["id"], "c1");

    let ranges = cosmos.get("/dbs/db/colls/c1/pkranges").await;
    assert_eq!(ranges.status, 200);
    assert_eq!(ranges.body["PartitionKeyRanges"][0]["id"], "0");
    assert_eq!(ranges.body["PartitionKeyRanges"][0]["maxExclusive"], "FF");
    let etag = ranges.header("etag").expect("pkranges etag").to_string();
    let again = cosmos
        .req("GET", "/dbs/db/colls/c1/pkranges")
        .header("a-im", "Incremental feed")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(again.status, 304);

    assert_eq!(
        cosmos.req("DELETE", "/dbs/db/colls/c1").send().await.status,
        204
    );
    assert_eq!(cosmos.get("/dbs/db/colls/c1").await.status, 404);
    // Deleting the database removes its containers.
    assert_eq!(cosmos.req("DELETE", "/dbs/db").send().await.status, 204);
    cosmos.create_db("db").await;
    assert_eq!(cosmos.get("/dbs/db/colls/c2").await.status, 404);
}

#[tokio::test]
async fn items_crud_and_conditions() {
    let cosmos = common::start().await;
    cosmos.setup("db", "c").await;
    let docs = "/dbs/db/colls/c/docs";
    let create = |doc: serde_json::Value, pk: &'static str| {
        cosmos
            .req("POST", docs)
            .header("x-ms-documentdb-partitionkey", pk)
            .json(&doc)
    };
    let r = create(
        json!({"id": "a", "pk": "p1", "v": 1, "_rid": "spoofed"}),
        "[\"p1\"]",
    )
    .send()
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    for k in ["_rid", "_self", "_etag", "_ts", "_attachments"] {
        assert!(r.body.get(k).is_some(), "missing {k}");
    }
    assert_ne!(r.body["_rid"], "spoofed");
    assert!(r.body["_self"]
        .as_str()
        .unwrap_or_default()
        .contains("/docs/"));
    assert!(r.header("x-ms-session-token").is_some());
    assert!(r.header("x-ms-activity-id").is_some());
    let etag1 = r.body["_etag"].as_str().expect("etag").to_string();

    // Duplicate id in the same partition: 409. Same id in another partition: fine.
    assert_eq!(
        create(json!({"id": "a", "pk": "p1"}), "[\"p1\"]")
            .send()
            .await
            .status,
        409
    );
    assert_eq!(
        create(json!({"id": "a", "pk": "p2"}), "[\"p2\"]")
            .send()
            .await
            .status,
        201
    );
    // Header and body disagree: 400.
    let mismatch = create(json!({"id": "b", "pk": "p1"}), "[\"p2\"]")
        .send()
        .await;
    assert_eq!(mismatch.status, 400);
    assert_eq!(mismatch.header("x-ms-substatus"), Some("1001"));
    // Bad header: 400.
    assert_eq!(
        create(json!({"id": "b", "pk": "p1"}), "p1")
            .send()
            .await
            .status,
        400
    );

    // Read needs the partition key.
    let read = |pk: &'static str| {
        cosmos
            .req("GET", "/dbs/db/colls/c/docs/a")
            .header("x-ms-documentdb-partitionkey", pk)
    };
    let got = read("[\"p1\"]").send().await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["v"], 1);
    assert_eq!(got.header("etag"), Some(etag1.as_str()));
    assert_eq!(read("[\"p3\"]").send().await.status, 404);
    assert_eq!(cosmos.get("/dbs/db/colls/c/docs/a").await.status, 400);
    assert_eq!(
        read("[\"p1\"]")
            .header("if-none-match", &etag1)
            .send()
            .await
            .status,
        304
    );
    let missing_coll = cosmos
        .req("GET", "/dbs/db/colls/nope/docs/a")
        .header("x-ms-documentdb-partitionkey", "[\"p1\"]")
        .send()
        .await;
    assert_eq!(missing_coll.status, 404);
    assert_eq!(missing_coll.header("x-ms-substatus"), Some("1003"));

    // Replace with If-Match.
    let replace = |etag: &str| {
        cosmos
            .req("PUT", "/dbs/db/colls/c/docs/a")
            .header("x-ms-documentdb-partitionkey", "[\"p1\"]")
            .header("if-match", etag)
            .json(&json!({"id": "a", "pk": "p1", "v": 2}))
    };
    let r = replace(&etag1).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["v"], 2);
    let etag2 = r.body["_etag"].as_str().expect("etag").to_string();
    assert_ne!(etag1, etag2);
    let stale = replace(&etag1).send().await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["code"], "PreconditionFailed");
    let missing = cosmos
        .req("PUT", "/dbs/db/colls/c/docs/zzz")
        .header("x-ms-documentdb-partitionkey", "[\"p1\"]")
        .json(&json!({"id": "zzz", "pk": "p1"}))
        .send()
        .await;
    assert_eq!(missing.status, 404);
    let renamed = cosmos
        .req("PUT", "/dbs/db/colls/c/docs/a")
        .header("x-ms-documentdb-partitionkey", "[\"p1\"]")
        .json(&json!({"id": "other", "pk": "p1"}))
        .send()
        .await;
    assert_eq!(renamed.status, 400);

    // Upsert: 201 when new, 200 when replacing; If-Match applies to the existing item.
    let up = cosmos
        .upsert("db", "c", json!({"id": "u", "pk": "p1", "v": 1}))
        .await;
    assert_eq!(up.status, 201);
    let up2 = cosmos
        .upsert("db", "c", json!({"id": "u", "pk": "p1", "v": 2}))
        .await;
    assert_eq!(up2.status, 200);
    assert_eq!(up2.body["_rid"], up.body["_rid"]);
    let up3 = cosmos
        .req("POST", docs)
        .header("x-ms-documentdb-is-upsert", "true")
        .header("x-ms-documentdb-partitionkey", "[\"p1\"]")
        .header("if-match", up.body["_etag"].as_str().expect("etag"))
        .json(&json!({"id": "u", "pk": "p1", "v": 3}))
        .send()
        .await;
    assert_eq!(up3.status, 412);

    // Delete with If-Match.
    let del = |etag: &str| {
        cosmos
            .req("DELETE", "/dbs/db/colls/c/docs/a")
            .header("x-ms-documentdb-partitionkey", "[\"p1\"]")
            .header("if-match", etag)
    };
    assert_eq!(del(&etag1).send().await.status, 412);
    assert_eq!(del(&etag2).send().await.status, 204);
    assert_eq!(del(&etag2).send().await.status, 404);
    assert_eq!(read("[\"p1\"]").send().await.status, 404);
    // The same id in the other partition is untouched.
    let other = cosmos
        .req("GET", "/dbs/db/colls/c/docs/a")
        .header("x-ms-documentdb-partitionkey", "[\"p2\"]")
        .send()
        .await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn partition_key_types_and_nested_paths() {
    let cosmos = common::start().await;
    cosmos.create_db("db").await;
    cosmos.create_coll("db", "c", "/a/b").await;
    let r = cosmos
        .req("POST", "/dbs/db/colls/c/docs")
        .header("x-ms-documentdb-partitionkey", "[7]")
        .json(&json!({"id": "x", "a": {"b": 7}}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let got = cosmos
        .req("GET", "/dbs/db/colls/c/docs/x")
        .header("x-ms-documentdb-partitionkey", "[7.0]")
        .send()
        .await;
    assert_eq!(got.status, 200);
    // A document without the key lives in the "undefined" partition, addressed with [{}].
    let r = cosmos
        .req("POST", "/dbs/db/colls/c/docs")
        .header("x-ms-documentdb-partitionkey", "[{}]")
        .json(&json!({"id": "nokey"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let got = cosmos
        .req("GET", "/dbs/db/colls/c/docs/nokey")
        .header("x-ms-documentdb-partitionkey", "[{}]")
        .send()
        .await;
    assert_eq!(got.status, 200);
}

#[tokio::test]
async fn ids_with_spaces_are_url_encoded_and_signed_decoded() {
    let cosmos = common::start().await;
    cosmos.setup("db", "c").await;
    cosmos
        .upsert("db", "c", json!({"id": "with space", "pk": "p"}))
        .await;
    let got = cosmos
        .req("GET", "/dbs/db/colls/c/docs/with%20space")
        .header("x-ms-documentdb-partitionkey", "[\"p\"]")
        .send()
        .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["id"], "with space");
}

#[tokio::test]
async fn unsupported_operations_are_501() {
    let cosmos = common::start().await;
    cosmos.setup("db", "c").await;
    let r = cosmos.get("/dbs/db/users").await;
    assert_eq!(r.status, 501);
    assert!(r.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("users"));
    let r = cosmos
        .req("PATCH", "/dbs/db/colls/c/docs/x")
        .header("x-ms-documentdb-partitionkey", "[\"p\"]")
        .json(&json!({"operations": []}))
        .send()
        .await;
    assert_eq!(r.status, 501);
    assert_eq!(cosmos.req("PUT", "/dbs/db").send().await.status, 405);
    assert_eq!(cosmos.get("/nonsense/a/b").await.status, 404);
}

#[tokio::test]
async fn read_feed_pages() {
    let cosmos = common::start().await;
    cosmos.setup("db", "c").await;
    for i in 0..5 {
        cosmos
            .upsert("db", "c", json!({"id": format!("d{i}"), "pk": "p"}))
            .await;
    }
    let first = cosmos
        .req("GET", "/dbs/db/colls/c/docs")
        .header("x-ms-max-item-count", "2")
        .send()
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["Documents"].as_array().map(Vec::len), Some(2));
    let token = first
        .header("x-ms-continuation")
        .expect("continuation")
        .to_string();
    let second = cosmos
        .req("GET", "/dbs/db/colls/c/docs")
        .header("x-ms-max-item-count", "10")
        .header("x-ms-continuation", &token)
        .send()
        .await;
    assert_eq!(second.body["Documents"].as_array().map(Vec::len), Some(3));
    assert!(second.header("x-ms-continuation").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_serialised() {
    let cosmos = std::sync::Arc::new(common::start().await);
    cosmos.setup("db", "c").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let c = cosmos.clone();
        tasks.push(tokio::spawn(async move {
            // 20 distinct ids, each created twice concurrently.
            let id = format!("k{}", i % 20);
            c.req("POST", "/dbs/db/colls/c/docs")
                .header("x-ms-documentdb-partitionkey", "[\"p\"]")
                .json(&json!({"id": id, "pk": "p"}))
                .send()
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 20);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 20);
    let count = cosmos
        .query_all("db", "c", json!({"query": "SELECT VALUE COUNT(1) FROM c"}))
        .await;
    assert_eq!(count, vec![json!(20)]);
}

#[tokio::test]
async fn oversized_item_is_413() {
    let cosmos = common::start().await;
    cosmos.setup("db", "c").await;
    let big = "x".repeat(3 * 1024 * 1024);
    let r = cosmos
        .req("POST", "/dbs/db/colls/c/docs")
        .header("x-ms-documentdb-partitionkey", "[\"p\"]")
        .json(&json!({"id": "big", "pk": "p", "data": big}))
        .send()
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["code"], "RequestEntityTooLarge");
}
