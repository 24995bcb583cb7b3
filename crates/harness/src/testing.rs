//! Helpers for tests that run the workspace's own guest modules.

use std::path::PathBuf;

/// Path of a guest built by `cargo xtask build`:
/// `<workspace>/target/wasm32-wasip1/wasm-release/<name>.wasm`, or under `AZURE_WASI_WASM_DIR`.
///
/// ```
/// let p = harness::guest_wasm("hello");
/// assert!(p.ends_with("hello.wasm"));
/// ```
pub fn guest_wasm(name: &str) -> PathBuf {
    let dir = match std::env::var_os("AZURE_WASI_WASM_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/wasm32-wasip1/wasm-release"),
    };
    dir.join(format!("{name}.wasm"))
}
