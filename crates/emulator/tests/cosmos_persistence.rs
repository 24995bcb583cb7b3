//! With a data directory, acknowledged writes survive a restart and a kill -9.

#[path = "cosmos_common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use emulator::cosmos::CosmosConfig;
use serde_json::json;

fn config(dir: &std::path::Path) -> CosmosConfig {
    CosmosConfig {
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

#[tokio::test]
async fn restart_with_data_dir_finds_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cosmos = common::start_with(config(dir.path())).await;
    cosmos.setup("db", "c").await;
    for i in 0..10 {
        assert_eq!(
            cosmos
                .upsert("db", "c", json!({"id": format!("d{i}"), "pk": "p", "i": i}))
                .await
                .status,
            201
        );
    }
    let before = cosmos
        .req("GET", "/dbs/db/colls/c/docs/d3")
        .header("x-ms-documentdb-partitionkey", "[\"p\"]")
        .send()
        .await;
    cosmos
        .req("DELETE", "/dbs/db/colls/c/docs/d9")
        .header("x-ms-documentdb-partitionkey", "[\"p\"]")
        .send()
        .await;
    cosmos.emu.shutdown().await;

    let cosmos = common::start_with(config(dir.path())).await;
    let after = cosmos
        .req("GET", "/dbs/db/colls/c/docs/d3")
        .header("x-ms-documentdb-partitionkey", "[\"p\"]")
        .send()
        .await;
    assert_eq!(after.status, 200);
    assert_eq!(
        after.body, before.body,
        "item and its system properties are unchanged"
    );
    let count = cosmos
        .query_all("db", "c", json!({"query": "SELECT VALUE COUNT(1) FROM c"}))
        .await;
    assert_eq!(count, vec![json!(9)]);
    // New writes after the restart get fresh etags and do not collide with old rids.
    let up = cosmos
        .upsert("db", "c", json!({"id": "new", "pk": "p"}))
        .await;
    assert_eq!(up.status, 201);
    assert_ne!(up.body["_rid"], after.body["_rid"]);
    assert_ne!(up.body["_etag"], after.body["_etag"]);
    cosmos.emu.shutdown().await;
}

#[tokio::test]
async fn memory_mode_forgets_on_restart() {
    let cosmos = common::start().await;
    cosmos.setup("db", "c").await;
    cosmos.emu.shutdown().await;
    let cosmos = common::start().await;
    assert_eq!(cosmos.get("/dbs/db").await.status, 404);
}

/// Starts the emulator binary on a free port and returns it with its URL.
fn spawn_binary(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cosmos-emulator"))
        .arg("127.0.0.1:0")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn cosmos-emulator");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    (child, url)
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = spawn_binary(dir.path());
    let cosmos = common::remote(&url).await;
    cosmos.setup("db", "c").await;
    for i in 0..20 {
        let r = cosmos
            .upsert(
                "db",
                "c",
                json!({"id": format!("k{i}"), "pk": format!("p{}", i % 3)}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    // SIGKILL: no shutdown code runs.
    child.kill().expect("kill -9");
    child.wait().expect("wait");

    let (mut child, url) = spawn_binary(dir.path());
    let cosmos = common::remote(&url).await;
    let all = cosmos
        .query_all("db", "c", json!({"query": "SELECT VALUE c.id FROM c"}))
        .await;
    assert_eq!(all.len(), 20, "every acknowledged write is there");
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[tokio::test]
async fn dropping_the_emulator_stops_it() {
    let cosmos = common::start().await;
    let url = cosmos.emu.url();
    drop(cosmos);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let addr = url.trim_start_matches("http://").to_string();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port still open after drop"
    );
}
