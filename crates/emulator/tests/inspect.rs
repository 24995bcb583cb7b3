//! The read-only inspection the harness's dashboard shows: what a client wrote through each
//! emulator's API appears in `Inspector::snapshot`, without keys or webhook tokens.

mod common;
#[path = "cosmos_common/mod.rs"]
mod cosmos;

use std::time::{Duration, Instant};

use common::*;
use emulator::{Emulators, EmulatorsConfig, SubscriptionConfig, DEV_ACCOUNT_KEY};
use http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_snapshot_shows_blobs_documents_subscriptions_and_dead_letters() {
    let cfg: EmulatorsConfig = toml::from_str(
        "[blob]\nport = 0\n[eventgrid]\nport = 0\nretry = { max_attempts = 2, initial_backoff_ms = 10, max_backoff_ms = 20 }\n[cosmos]\nport = 0\n",
    )
    .expect("config");
    let emus = Emulators::start(cfg).await.expect("start");
    // Nothing listens on port 1: every delivery fails and the event is dead-lettered.
    let sub = SubscriptionConfig::new(
        "gone",
        "storage",
        "http://127.0.0.1:1/hook?code=webhook-token",
    );
    emus.add_subscription(sub).await.expect("subscribe");
    let hook = webhook(Behaviour::Good).await;
    let good = SubscriptionConfig::new("good", "storage", &hook.url());
    emus.add_subscription(good).await.expect("subscribe");

    let base = format!("{}/inspected", emus.blob().unwrap().account_url(ACCOUNT));
    let created = signed(Method::PUT, &format!("{base}?restype=container"), &[], "").await;
    assert_eq!(created.status, StatusCode::CREATED);
    let headers = [
        ("x-ms-blob-type", "BlockBlob"),
        ("content-type", "text/csv"),
    ];
    let put = signed(
        Method::PUT,
        &format!("{base}/dir/rows.csv"),
        &headers,
        "a,b\n1,2\n",
    )
    .await;
    assert_eq!(put.status, StatusCode::CREATED);

    let cosmos = cosmos::remote(&emus.cosmos().unwrap().url()).await;
    cosmos.setup("shop", "orders").await;
    let doc = json!({ "id": "o1", "pk": "p", "total": 42 });
    assert_eq!(cosmos.upsert("shop", "orders", doc).await.status, 201);

    let inspector = emus.inspector();
    let deadline = Instant::now() + Duration::from_secs(10);
    let snapshot = loop {
        let s = inspector.snapshot().await;
        let eg = s.eventgrid.as_ref();
        let dead = eg.map_or(0, |g| g.dead_letters.len());
        let delivered = eg.map_or(0, |g| g.delivered.len());
        if (dead > 0 && delivered > 0) || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(snapshot.errors.is_empty(), "{:?}", snapshot.errors);

    let account = &snapshot.blob.as_ref().unwrap().accounts[0];
    let container = account
        .containers
        .iter()
        .find(|c| c.name == "inspected")
        .expect("the container");
    assert_eq!(container.blobs.len(), 1);
    assert_eq!(container.blobs[0].name, "dir/rows.csv");
    assert_eq!(container.blobs[0].size, 8);
    assert_eq!(container.blobs[0].content_type, "text/csv");

    let db = &snapshot.cosmos.as_ref().unwrap().databases;
    let orders = &db
        .iter()
        .find(|d| d.id == "shop")
        .expect("the database")
        .containers[0];
    assert_eq!(orders.id, "orders");
    assert_eq!(orders.documents[0]["total"], 42);

    let eg = snapshot.eventgrid.as_ref().unwrap();
    assert!(eg.topics.contains(&"storage".to_string()));
    let gone = eg
        .subscriptions
        .iter()
        .find(|s| s.name == "gone")
        .expect("the subscription");
    assert_eq!(gone.endpoint, "http://127.0.0.1:1/hook", "no query");
    let dead = &eg.dead_letters[0];
    assert_eq!(
        (dead.topic.as_str(), dead.subscription.as_str()),
        ("storage", "gone")
    );
    assert_eq!(dead.event["eventType"], "Microsoft.Storage.BlobCreated");
    assert!(dead.reason.as_deref().is_some_and(|r| !r.is_empty()));
    let delivered = &eg.delivered[0];
    assert_eq!(delivered.subscription, "good");
    assert_eq!(
        delivered.event["subject"],
        "/blobServices/default/containers/inspected/blobs/dir/rows.csv"
    );
    assert_eq!(hook.notifications().len(), 1, "the webhook got it once");

    let json = serde_json::to_string(&snapshot).unwrap();
    assert!(
        !json.contains(DEV_ACCOUNT_KEY) && !json.contains("webhook-token"),
        "{json}"
    );

    let download = inspector
        .download_blob(ACCOUNT, "inspected", "dir/rows.csv")
        .await
        .expect("the Blob emulator answers")
        .expect("the account exists");
    assert_eq!(download.status(), 200);
    let bytes = http_body_util::BodyExt::collect(download.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&bytes[..], b"a,b\n1,2\n");
    emus.shutdown().await;
}
