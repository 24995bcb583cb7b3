//! `cargo xtask test` and `cargo xtask lint`.

use crate::build::{build_guests, SAMPLES, TARGET};
use crate::cmd::{cargo, exec, output};

/// Guest library crates: their graph for wasm32-wasip1 must stay free of host networking.
const GUEST_LIBS: &[&str] = &[
    "wasi-experimental-http",
    "wagi",
    "azure-core-wasi",
    "azure-storage-wasi",
    "azure-cosmos-wasi",
    "azure-eventgrid-wasi",
];
/// Crates that must never be in a guest's dependency graph.
const FORBIDDEN: &[&str] = &["tokio", "reqwest", "hyper", "mio", "socket2"];

/// Builds guests, checks their dependency graph, runs every test, then the interop tests.
pub fn run() -> Result<(), String> {
    let wasm_dir = build_guests()?;
    check_guest_dependencies()?;
    exec(
        cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .env("AZURE_WASI_WASM_DIR", &wasm_dir),
    )?;
    crate::interop::run()
}

/// Fails when a guest crate pulls a forbidden crate into its wasm32-wasip1 graph.
pub fn check_guest_dependencies() -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args([
        "tree", "--target", TARGET, "-e", "normal", "--prefix", "none", "--format", "{p}",
    ]);
    for p in GUEST_LIBS.iter().chain(SAMPLES) {
        cmd.args(["-p", p]);
    }
    let tree = output(&mut cmd)?;
    let mut bad: Vec<String> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| FORBIDDEN.contains(name))
        .map(str::to_string)
        .collect();
    bad.sort();
    bad.dedup();
    if bad.is_empty() {
        eprintln!(
            "guest dependency graph ({} crates) has none of {}",
            tree.lines().count(),
            FORBIDDEN.join(", ")
        );
        Ok(())
    } else {
        Err(format!(
            "the guest dependency graph for {TARGET} contains {}; find who pulls it in with `cargo tree --target {TARGET} -e normal -i <crate>`",
            bad.join(", ")
        ))
    }
}

/// `cargo fmt --check` and clippy with warnings as errors.
pub fn lint() -> Result<(), String> {
    exec(cargo().args(["fmt", "--all", "--", "--check"]))?;
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}
