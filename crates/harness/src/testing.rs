//! Helpers for tests that run the workspace's own guest modules and components.

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

/// Path of a component built with
/// `cargo build --target wasm32-wasip2 --profile wasm-release -p <name>`:
/// `<workspace>/target/wasm32-wasip2/wasm-release/<name>.wasm`, or under
/// `AZURE_WASI_COMPONENT_DIR`.
///
/// ```
/// let p = harness::guest_component("component-probe");
/// assert!(p.ends_with("component-probe.wasm"));
/// ```
pub fn guest_component(name: &str) -> PathBuf {
    let dir = match std::env::var_os("AZURE_WASI_COMPONENT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/wasm32-wasip2/wasm-release"),
    };
    dir.join(format!("{name}.wasm"))
}
