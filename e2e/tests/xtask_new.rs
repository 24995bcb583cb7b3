//! `cargo xtask new hello --from hello` writes a standalone crate that builds on its own, outside
//! the workspace, for both targets: a WAGI module and a wasi:http component.
//!
//! The crate is written to a temporary folder (outside the workspace, so nothing is inherited);
//! its builds use `target/xtask-new` in this workspace as `CARGO_TARGET_DIR`, so repeated runs
//! are incremental. Each command is bounded in time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Upper bound for one command (a first build from scratch compiles the guest's dependencies).
const LIMIT: Duration = Duration::from_secs(15 * 60);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Runs `cmd` to completion within `LIMIT`, killing it after; panics on failure.
fn run(cmd: &mut Command, what: &str) {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{what} failed: {status}");
            eprintln!("{what}: {:.1?}", started.elapsed());
            return;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} took more than {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn header(path: &Path) -> [u8; 8] {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() > 8, "{} is too short", path.display());
    bytes[..8].try_into().unwrap()
}

#[test]
fn new_crate_builds_standalone_for_both_targets() {
    let root = workspace();
    let cargo = env!("CARGO");
    let tmp = tempfile::tempdir().expect("temp dir");
    assert!(
        !tmp.path().starts_with(&root),
        "the temp dir must be outside the workspace"
    );
    let dir = tmp.path().join("hello");

    run(
        Command::new(cargo)
            .current_dir(&root)
            .args([
                "run", "-q", "-p", "xtask", "--", "new", "hello", "--from", "hello",
            ])
            .arg("--path")
            .arg(&dir),
        "cargo xtask new",
    );
    let toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(!toml.contains("workspace = true"), "{toml}");
    assert!(toml.contains("\n[workspace]\n"), "{toml}");
    assert!(toml.contains("\n[profile.release]\n"), "{toml}");
    assert_eq!(
        std::fs::read_to_string(dir.join("src/main.rs")).unwrap(),
        std::fs::read_to_string(root.join("samples/hello/src/main.rs")).unwrap()
    );
    assert!(std::fs::read_to_string(dir.join("wagi.toml"))
        .unwrap()
        .contains("module = \"target/wasm32-wasip1/release/hello.wasm\""));

    // Refuses to write into the now non-empty folder.
    let again = Command::new(cargo)
        .current_dir(&root)
        .args([
            "run", "-q", "-p", "xtask", "--", "new", "hello", "--from", "hello",
        ])
        .arg("--path")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let target_dir = root.join("target").join("xtask-new");
    for target in ["wasm32-wasip1", "wasm32-wasip2"] {
        run(
            Command::new(cargo)
                .current_dir(&dir)
                .env("CARGO_TARGET_DIR", &target_dir)
                .env_remove("RUSTFLAGS")
                .env_remove("CARGO_ENCODED_RUSTFLAGS")
                .args(["build", "--release", "--target", target]),
            &format!(
                "cargo build --release --target {target} (in {})",
                dir.display()
            ),
        );
    }
    let p1 = header(&target_dir.join("wasm32-wasip1/release/hello.wasm"));
    let p2 = header(&target_dir.join("wasm32-wasip2/release/hello.wasm"));
    assert_eq!(&p1[..4], b"\0asm");
    assert_eq!(&p2[..4], b"\0asm");
    assert_eq!(p1[4..], [0x01, 0x00, 0x00, 0x00], "a core module");
    assert_eq!(p2[4..], [0x0d, 0x00, 0x01, 0x00], "a component");
}
