//! Acknowledged writes survive `kill -9`: a child process (this test binary re-executed) serves
//! the emulators with a data directory, the parent writes, SIGKILLs it and reopens the directory.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use http::{Method, StatusCode};

const CHILD_ENV: &str = "EMULATOR_CRASH_CHILD_DIR";

fn config(dir: &str) -> emulator::EmulatorsConfig {
    let mut cfg = emulator::EmulatorsConfig::default().with_free_ports();
    cfg.cosmos.enabled = false;
    cfg.data_dir = Some(dir.into());
    cfg
}

/// The child: serve until killed. Does nothing unless started by the parent test.
#[tokio::test]
#[ignore = "helper process for acknowledged_writes_survive_kill_9"]
async fn crash_child_server() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let emus = emulator::Emulators::start(config(&dir))
        .await
        .expect("child start");
    println!(
        "BLOB_URL={}",
        emus.blob().expect("blob").account_url(ACCOUNT)
    );
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_s = dir.path().to_string_lossy().into_owned();
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "crash_child_server", "--ignored", "--nocapture"])
        .env(CHILD_ENV, &dir_s)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let url = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("BLOB_URL=").map(str::to_string))
    })
    .await
    .expect("join")
    .expect("child printed its URL");
    assert_eq!(
        signed(
            Method::PUT,
            &format!("{url}/crash?restype=container"),
            &[],
            ""
        )
        .await
        .status,
        StatusCode::CREATED
    );
    for i in 0..20 {
        let r = signed(
            Method::PUT,
            &format!("{url}/crash/b{i}"),
            &[("x-ms-blob-type", "BlockBlob")],
            format!("value {i}"),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    child.kill().expect("SIGKILL the child");
    let _ = child.wait();
    let emus = emulator::Emulators::start(config(&dir_s))
        .await
        .expect("restart after kill -9");
    let base = emus.blob().expect("blob").account_url(ACCOUNT);
    for i in 0..20 {
        let r = signed(Method::GET, &format!("{base}/crash/b{i}"), &[], "").await;
        assert_eq!(r.status, StatusCode::OK, "b{i} lost after kill -9");
        assert_eq!(r.text(), format!("value {i}"));
    }
    emus.shutdown().await;
}
