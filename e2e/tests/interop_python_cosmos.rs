//! Microsoft's Python `azure-cosmos` SDK, unchanged, against the in-process Cosmos emulator.
//!
//! Run with `cargo xtask interop` (it creates a venv with azure-cosmos and sets
//! `INTEROP_PYTHON`), or by hand:
//! `INTEROP_PYTHON=/path/to/venv/bin/python cargo test -p e2e --test interop_python_cosmos -- --ignored`.

use std::path::PathBuf;
use std::time::Duration;

use emulator::cosmos::{CosmosConfig, CosmosEmulator, EMULATOR_MASTER_KEY};

fn python() -> String {
    std::env::var("INTEROP_PYTHON")
        .expect("set INTEROP_PYTHON to a python with azure-cosmos installed (cargo xtask interop does this)")
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/emulator/interop/cosmos_scenario.py")
}

async fn run_scenario(config: CosmosConfig) -> String {
    let emu = CosmosEmulator::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start the Cosmos emulator");
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(python())
            .arg(script())
            .arg(format!("{}/", emu.url()))
            .arg(EMULATOR_MASTER_KEY)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python scenario finishes within 5 minutes")
    .expect("run the Python interpreter from INTEROP_PYTHON");
    emu.shutdown().await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Python azure-cosmos scenario failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    stdout
}

fn assert_steps(stdout: &str) {
    for step in [
        "ok: account write location points back at the emulator",
        "ok: database created and listed",
        "ok: container created with partition key",
        "ok: read item with system properties",
        "ok: upsert replaced the item with a new etag",
        "ok: stale If-Match is a 412",
        "ok: duplicate item is a 409",
        "ok: parameterised partition query with ORDER BY",
        "ok: paging returns pages of 7,7,7,3",
        "ok: resuming from the continuation token returns the rest",
        "ok: VALUE COUNT(1)",
        "ok: OFFSET/LIMIT",
        "ok: unsupported query is a 400 naming DISTINCT",
        "ok: query plan through the gateway",
        "ok: deleted item is a 404",
        "ok: wrong key is a 401",
        "COSMOS INTEROP PASSED",
    ] {
        assert!(
            stdout.contains(step),
            "missing step {step:?} in output:\n{stdout}"
        );
    }
    // Uses SDK internals, so a newer SDK may skip it; it must never fail.
    assert!(
        stdout.contains("ok: SDK query-plan pipeline")
            || stdout.contains("skip: SDK internals changed"),
        "the query-plan pipeline step did not run:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run via cargo xtask interop"]
async fn python_azure_cosmos_sdk_in_memory() {
    let stdout = run_scenario(CosmosConfig::default()).await;
    assert_steps(&stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run via cargo xtask interop"]
async fn python_azure_cosmos_sdk_with_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stdout = run_scenario(CosmosConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    assert_steps(&stdout);
}
