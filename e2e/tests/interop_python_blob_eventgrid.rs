//! Microsoft's Python `azure-storage-blob` and `azure-eventgrid` SDKs, unchanged, against the
//! in-process Blob and EventGrid emulators (started through `emulator::Emulators`).
//!
//! Run with `cargo xtask interop` (it creates a venv with both SDKs and sets `INTEROP_PYTHON`),
//! or by hand:
//! `INTEROP_PYTHON=/path/to/venv/bin/python cargo test -p e2e --test interop_python_blob_eventgrid -- --ignored`.

use std::path::PathBuf;
use std::time::Duration;

use emulator::{Emulators, EmulatorsConfig, DEV_ACCOUNT, DEV_ACCOUNT_KEY, DEV_TOPIC_KEY};

fn python() -> String {
    std::env::var("INTEROP_PYTHON").expect(
        "set INTEROP_PYTHON to a python with azure-storage-blob and azure-eventgrid installed (cargo xtask interop does this)",
    )
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/emulator/interop/blob_eventgrid.py")
}

/// Admin key for managing EventGrid subscriptions over HTTP (topic keys cannot).
const ADMIN_KEY: &str = "interop-admin-key";

fn config(data_dir: Option<PathBuf>) -> EmulatorsConfig {
    let mut cfg = EmulatorsConfig::default().with_free_ports();
    cfg.cosmos.enabled = false;
    cfg.eventgrid.admin_key = Some(ADMIN_KEY.into());
    cfg.eventgrid.retry.initial_backoff_ms = 50;
    cfg.eventgrid.retry.max_backoff_ms = 200;
    cfg.data_dir = data_dir;
    cfg
}

async fn run(scenario: &str, data_dir: Option<PathBuf>) -> String {
    let emus = Emulators::start(config(data_dir))
        .await
        .expect("start the emulators");
    let blob = emus.blob().expect("blob emulator enabled");
    let eg = emus.eventgrid().expect("eventgrid emulator enabled");
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(python())
            .arg(script())
            .env("SCENARIO", scenario)
            .env(
                "BLOB_CONNECTION_STRING",
                blob.connection_string(DEV_ACCOUNT, DEV_ACCOUNT_KEY),
            )
            .env("EVENTGRID_URL", eg.url())
            .env("EVENTGRID_KEY", DEV_TOPIC_KEY)
            .env("EVENTGRID_ADMIN_KEY", ADMIN_KEY)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python scenario finishes within 5 minutes")
    .expect("run the Python interpreter from INTEROP_PYTHON");
    let dead = emus
        .dead_letters("default")
        .await
        .expect("read dead letters");
    emus.shutdown().await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Python blob/eventgrid scenario failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    assert!(dead.is_empty(), "unexpected dead letters: {dead:?}");
    stdout
}

fn assert_steps(stdout: &str, steps: &[&str]) {
    for step in steps {
        assert!(
            stdout.contains(step),
            "missing step {step:?} in output:\n{stdout}"
        );
    }
    assert!(stdout.contains("interop: all steps passed"), "{stdout}");
}

const BLOB_STEPS: &[&str] = &[
    "ok: create container",
    "ok: duplicate container is ResourceExistsError",
    "ok: upload in 5 blocks",
    "ok: blob properties",
    "ok: download a range and the whole blob",
    "ok: upload without overwrite is ResourceExistsError",
    "ok: If-Match mismatch is 412",
    "ok: list with paging (3 pages)",
    "ok: list with delimiter",
    "ok: service SAS: read allowed, write refused",
    "ok: expired SAS refused",
    "ok: delete blob",
    "ok: delete container",
];

const EVENTGRID_STEPS: &[&str] = &[
    "ok: the topic key cannot create subscriptions",
    "ok: subscriptions created over HTTP with the admin key",
    "ok: published an EventGrid batch with the key",
    "ok: published a CloudEvents batch with a SAS token",
    "ok: handshakes done, then events delivered",
    "ok: wrong key refused",
    "ok: expired SAS refused",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run via cargo xtask interop"]
async fn python_azure_storage_blob_sdk_in_memory() {
    let stdout = run("blob", None).await;
    assert_steps(&stdout, BLOB_STEPS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run via cargo xtask interop"]
async fn python_azure_storage_blob_sdk_with_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stdout = run("blob", Some(dir.path().to_path_buf())).await;
    assert_steps(&stdout, BLOB_STEPS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run via cargo xtask interop"]
async fn python_azure_eventgrid_sdk_publish_and_delivery() {
    let stdout = run("eventgrid", None).await;
    assert_steps(&stdout, EVENTGRID_STEPS);
}
