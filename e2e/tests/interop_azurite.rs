//! The blob samples (`blob-write`, `blob-read`) as real `.wasm` in the harness against
//! Microsoft's Azurite, which checks every Shared Key signature: this proves the guest's signing
//! against Microsoft's implementation, not only our own emulator.
//!
//! Run with `cargo xtask interop` (it installs Azurite from npm into `target/azurite` and sets
//! `AZURITE_BLOB`), or by hand:
//! `AZURITE_BLOB=/path/to/node_modules/.bin/azurite-blob cargo test -p e2e --test interop_azurite -- --ignored`.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use harness::{Harness, ModuleConfig};
use http::{Request, Response, StatusCode};
use serde_json::Value;

/// The storage emulators' documented development account.
const ACCOUNT: &str = "devstoreaccount1";
/// Its public, documented key.
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// A well-formed key that is not the account's (base64 of 64 bytes).
const WRONG_KEY: &str =
    "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=";

/// Azurite's blob service on a free loopback port, in a temporary folder; killed when dropped.
struct Azurite {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Azurite {
    fn start() -> Self {
        let bin = std::env::var_os("AZURITE_BLOB").unwrap_or_else(|| {
            panic!(
                "AZURITE_BLOB is not set: run `cargo xtask interop` (it installs Azurite from npm), \
                 or `npm install azurite@3` somewhere and set AZURITE_BLOB=<there>/node_modules/.bin/azurite-blob"
            )
        });
        let dir = tempfile::tempdir().expect("a temporary folder for Azurite's data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let child = Command::new(&bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(dir.path())
            .args(["--silent", "--skipApiVersionCheck", "--disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start Azurite from AZURITE_BLOB={}: {e} (is Node.js installed?)",
                    bin.to_string_lossy()
                )
            });
        let mut azurite = Self {
            child,
            port,
            _dir: dir,
        };
        azurite.wait_until_listening(Duration::from_secs(60));
        azurite
    }

    fn wait_until_listening(&mut self, limit: Duration) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("Azurite exited ({status}) before listening on {addr}");
            }
            assert!(
                started.elapsed() < limit,
                "Azurite did not listen on {addr} within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:<port>` (the `allowed_hosts` entry).
    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The path-style account endpoint (`STORAGE_ENDPOINT`).
    fn endpoint(&self) -> String {
        format!("{}/{ACCOUNT}", self.origin())
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sample routed at `route` with the storage settings for Azurite and `key`.
fn sample(route: &str, guest: &str, azurite: &Azurite, key: &str) -> ModuleConfig {
    ModuleConfig::new(route, e2e::wasm(guest))
        .env("STORAGE_ACCOUNT", ACCOUNT)
        .env("STORAGE_MASTER_KEY", key)
        .env("STORAGE_ENDPOINT", azurite.endpoint())
        .allowed_host(azurite.origin())
}

fn harness(azurite: &Azurite, key: &str) -> Harness {
    Harness::builder()
        .module(sample("/write", "blob-write", azurite, key))
        .module(sample("/read", "blob-read", azurite, key))
        .build()
        .expect("the harness builds with the blob samples")
}

fn post(uri: &str, content_type: &str, body: impl Into<Bytes>) -> Request<Bytes> {
    Request::post(uri)
        .header("content-type", content_type)
        .body(body.into())
        .expect("a valid test request")
}

fn content_type(resp: &Response<Bytes>) -> &str {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn json(resp: &Response<Bytes>) -> Value {
    serde_json::from_slice(resp.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", e2e::body_text(resp)))
}

/// Writes `body` through blob-write, reads it back through blob-read, compares.
async fn round_trip(h: &Harness, blob: &str, ctype: &str, body: Vec<u8>) -> Value {
    let query = format!("container=interop&blob={}", e2e::enc(blob));
    let written = h
        .handle(post(&format!("/write?{query}"), ctype, body.clone()))
        .await;
    assert_eq!(
        written.status(),
        StatusCode::CREATED,
        "blob-write against Azurite: {}",
        e2e::body_text(&written)
    );
    let summary = json(&written);
    assert_eq!(
        summary["bytes"].as_u64(),
        Some(body.len() as u64),
        "{summary}"
    );
    assert_eq!(summary["contentType"].as_str(), Some(ctype), "{summary}");

    let read = h.handle(e2e::get(&format!("/read?{query}"))).await;
    assert_eq!(
        read.status(),
        StatusCode::OK,
        "blob-read against Azurite: {}",
        e2e::body_text(&read)
    );
    assert_eq!(content_type(&read), ctype, "the content type survives");
    assert_eq!(read.body().len(), body.len(), "the length survives");
    assert!(read.body().as_ref() == body.as_slice(), "the bytes survive");
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run via cargo xtask interop"]
async fn blob_samples_write_and_read_back_through_azurite() {
    let azurite = Azurite::start();
    let h = harness(&azurite, KEY);

    // Text with characters that need encoding in the blob name and UTF-8 in the body.
    let text = "héllo from WebAssembly ✓\n".repeat(10).into_bytes();
    round_trip(&h, "dir/hello wörld.txt", "text/plain; charset=utf-8", text).await;

    // Every byte value, as an opaque binary.
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    round_trip(&h, "bytes.bin", "application/octet-stream", binary).await;

    // Over 4 MiB: staged blocks and a block list, each signed and checked by Azurite.
    let large: Vec<u8> = (0..(4 << 20) + 12_345u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let summary = round_trip(&h, "large.bin", "application/x-test", large).await;
    assert!(
        summary["blocks"].as_u64().unwrap_or(0) >= 2,
        "a body over 4 MiB is uploaded in blocks: {summary}"
    );

    // Overwriting keeps the latest content.
    round_trip(&h, "bytes.bin", "text/csv", b"a,b\n1,2\n".to_vec()).await;

    // A blob that does not exist is a 404 with a hint, not a crash.
    let missing = h
        .handle(e2e::get("/read?container=interop&blob=never-written"))
        .await;
    assert_eq!(
        missing.status(),
        StatusCode::NOT_FOUND,
        "{}",
        e2e::body_text(&missing)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run via cargo xtask interop"]
async fn azurite_refuses_a_wrong_key() {
    let azurite = Azurite::start();
    // Write one blob with the right key so that the read below fails on auth, not on absence.
    let good = harness(&azurite, KEY);
    round_trip(&good, "kept.txt", "text/plain", b"kept".to_vec()).await;

    let bad = harness(&azurite, WRONG_KEY);
    let write = bad
        .handle(post(
            "/write?container=interop&blob=refused.txt",
            "text/plain",
            "x",
        ))
        .await;
    let read = bad
        .handle(e2e::get("/read?container=interop&blob=kept.txt"))
        .await;
    for (what, resp) in [("blob-write", &write), ("blob-read", &read)] {
        let text = e2e::body_text(resp);
        assert_eq!(
            resp.status(),
            StatusCode::BAD_GATEWAY,
            "{what} with a wrong key must surface Azurite's refusal as an error status: {text}"
        );
        let lower = text.to_ascii_lowercase();
        assert!(
            lower.contains("403")
                || lower.contains("forbidden")
                || lower.contains("authenticationfailed")
                || lower.contains("authorizationfailure"),
            "{what}: the message names the refusal: {text}"
        );
        assert!(
            !text.contains(WRONG_KEY) && !text.contains(KEY),
            "{what}: no key in the answer: {text}"
        );
    }

    // Nothing was written with the wrong key.
    let refused = good
        .handle(e2e::get("/read?container=interop&blob=refused.txt"))
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::NOT_FOUND,
        "{}",
        e2e::body_text(&refused)
    );
}
