//! The umbrella: config parsing, BlobCreated/BlobDeleted publication, restart with a data dir.

mod common;

use common::*;
use emulator::{Emulators, EmulatorsConfig, SubscriptionConfig};
use http::{Method, StatusCode};

fn config(extra: &str) -> EmulatorsConfig {
    let text = format!(
        r#"
[blob]
port = 0
[eventgrid]
port = 0
retry = {{ max_attempts = 2, initial_backoff_ms = 10, max_backoff_ms = 20 }}
[cosmos]
port = 0
{extra}
"#
    );
    toml::from_str(&text).unwrap_or_else(|e| panic!("config: {e}"))
}

#[test]
fn config_defaults_and_typos() {
    let c = EmulatorsConfig::default();
    assert_eq!(
        (c.blob.port, c.cosmos.port, c.eventgrid.port),
        (10000, 8081, 8082)
    );
    assert_eq!(c.blob.accounts[0].name, "devstoreaccount1");
    assert_eq!(
        c.blob.events.as_ref().map(|e| e.topic.as_str()),
        Some("storage")
    );
    assert!(c.validate().is_ok());
    let full: EmulatorsConfig = toml::from_str(
        r#"
data_dir = "/tmp/x"
[blob]
port = 10000
accounts = [{ name = "devstoreaccount1", key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==" }]
events = { topic = "storage" }
[eventgrid]
port = 8082
default_topic = "default"
topics = [{ name = "default", key = "a2V5" }, { name = "storage", key = "a2V5" }]
[[eventgrid.subscriptions]]
name = "blob-hook"
topic = "storage"
endpoint = "http://127.0.0.1:3000/webhook"
included_event_types = ["Microsoft.Storage.BlobCreated"]
schema = "cloudevents"
[cosmos]
port = 8081
settings = { account_name = "localhost" }
"#,
    )
    .expect("full example parses");
    assert!(full.validate().is_ok());
    let err = toml::from_str::<EmulatorsConfig>("[blob]\nprot = 1\n").expect_err("typo");
    assert!(err.to_string().contains("unknown field `prot`"), "{err}");
    let err = toml::from_str::<EmulatorsConfig>("[eventgrid.retry]\nmax_attemps = 1\n")
        .expect_err("typo");
    assert!(err.to_string().contains("max_attemps"), "{err}");
    let bad: EmulatorsConfig =
        toml::from_str("[blob]\nevents = { topic = \"nope\" }\n").expect("parses");
    assert!(bad
        .validate()
        .is_err_and(|e| e.to_string().contains("nope")));
    let bad: EmulatorsConfig = toml::from_str("[[eventgrid.subscriptions]]\nname = \"s\"\ntopic = \"default\"\nendpoint = \"https://x\"\n").expect("parses");
    assert!(bad
        .validate()
        .is_err_and(|e| e.to_string().contains("http://")));
}

#[tokio::test]
async fn blob_writes_publish_blob_created_and_deleted() {
    let emus = Emulators::start(config("")).await.expect("start");
    assert!(emus.cosmos().is_some_and(|c| c.addr().port() != 0));
    let hook = webhook(Behaviour::Good).await;
    let mut sub = SubscriptionConfig::new("blob-hook", "storage", &hook.url());
    sub.included_event_types = vec![
        "Microsoft.Storage.BlobCreated".into(),
        "Microsoft.Storage.BlobDeleted".into(),
    ];
    emus.add_subscription(sub).await.expect("subscribe");
    let blob = emus.blob().expect("blob");
    let base = format!("{}/events", blob.account_url(ACCOUNT));
    assert_eq!(
        signed(Method::PUT, &format!("{base}?restype=container"), &[], "")
            .await
            .status,
        StatusCode::CREATED
    );
    let r = signed(
        Method::PUT,
        &format!("{base}/dir/a.txt"),
        &[
            ("x-ms-blob-type", "BlockBlob"),
            ("content-type", "text/plain"),
        ],
        "hello",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let etag = r
        .header("etag")
        .expect("etag")
        .trim_matches('"')
        .to_string();
    let got = hook.wait_for(|n| !n.is_empty()).await;
    let ev: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json");
    let e = &ev[0];
    assert_eq!(e["eventType"], "Microsoft.Storage.BlobCreated");
    assert_eq!(
        e["subject"],
        "/blobServices/default/containers/events/blobs/dir/a.txt"
    );
    assert!(e["topic"]
        .as_str()
        .unwrap_or("")
        .ends_with("/storageAccounts/devstoreaccount1"));
    assert_eq!(e["data"]["api"], "PutBlob");
    assert_eq!(e["data"]["contentType"], "text/plain");
    assert_eq!(e["data"]["contentLength"], 5);
    assert_eq!(e["data"]["eTag"], etag.as_str());
    assert_eq!(e["data"]["blobType"], "BlockBlob");
    assert_eq!(e["data"]["url"], format!("{base}/dir/a.txt"));
    assert!(
        e["data"]["sequencer"].is_string() && e["id"].is_string() && e["eventTime"].is_string()
    );
    assert!(e.get("dataVersion").is_some());
    assert_eq!(
        signed(Method::DELETE, &format!("{base}/dir/a.txt"), &[], "")
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let got = hook.wait_for(|n| n.len() == 2).await;
    let ev: serde_json::Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(ev[0]["eventType"], "Microsoft.Storage.BlobDeleted");
    assert_eq!(ev[0]["data"]["api"], "DeleteBlob");
    emus.shutdown().await;
}

#[tokio::test]
async fn restart_with_data_dir_finds_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = format!("data_dir = {:?}", dir.path().to_string_lossy());
    // data_dir must be a top-level key: put it before the tables.
    let text = format!("{extra}\n[blob]\nport = 0\n[eventgrid]\nport = 0\nretry = {{ max_attempts = 1, initial_backoff_ms = 1, max_backoff_ms = 1 }}\n[cosmos]\nport = 0\n");
    let cfg: EmulatorsConfig = toml::from_str(&text).expect("config");
    let hook_url;
    {
        let emus = Emulators::start(cfg.clone()).await.expect("start");
        let base = format!("{}/keep", emus.blob().expect("blob").account_url(ACCOUNT));
        assert_eq!(
            signed(Method::PUT, &format!("{base}?restype=container"), &[], "")
                .await
                .status,
            StatusCode::CREATED
        );
        assert_eq!(
            signed(
                Method::PUT,
                &format!("{base}/b.txt"),
                &[("x-ms-blob-type", "BlockBlob")],
                "persisted"
            )
            .await
            .status,
            StatusCode::CREATED
        );
        assert_eq!(
            signed(
                Method::PUT,
                &format!("{base}/c.txt?comp=block&blockid=YmxrMQ=="),
                &[],
                "staged"
            )
            .await
            .status,
            StatusCode::CREATED
        );
        // A subscription whose webhook is down dead-letters right away.
        hook_url = "http://127.0.0.1:9/down".to_string();
        emus.add_subscription(SubscriptionConfig::new("down", "default", &hook_url))
            .await
            .expect("sub");
        let eg = emus.eventgrid().expect("eg");
        let r = send(Method::POST, &format!("{}?api-version=2018-01-01", eg.topic_endpoint("default")), &[("aeg-sas-key", emulator::DEV_TOPIC_KEY), ("content-type", "application/json")], serde_json::json!([{"id": "p1", "subject": "/s", "eventType": "A.B", "eventTime": "2024-01-01T00:00:00Z", "dataVersion": "1", "data": {}}]).to_string()).await;
        assert_eq!(r.status, StatusCode::OK);
        for _ in 0..250 {
            if !emus.dead_letters("default").await.expect("dl").is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(emus.dead_letters("default").await.expect("dl").len(), 1);
        emus.shutdown().await;
    }
    let emus = Emulators::start(cfg).await.expect("restart");
    let base = format!("{}/keep", emus.blob().expect("blob").account_url(ACCOUNT));
    let r = signed(Method::GET, &format!("{base}/b.txt"), &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], b"persisted");
    let r = signed(
        Method::GET,
        &format!("{base}/c.txt?comp=blocklist&blocklisttype=uncommitted"),
        &[],
        "",
    )
    .await;
    assert!(r.text().contains("YmxrMQ=="), "{}", r.text());
    let dls = emus.dead_letters("default").await.expect("dl");
    assert_eq!(dls.len(), 1);
    assert_eq!(dls[0].event["id"], "p1");
    let subs = emus.eventgrid().expect("eg").subscriptions();
    assert!(subs
        .iter()
        .any(|s| s.name == "down" && s.endpoint == hook_url));
    emus.shutdown().await;
}
