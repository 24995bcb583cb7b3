//! Building the guests and optimising them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{cargo, exec, output, root};

/// The wasm target.
pub const TARGET: &str = "wasm32-wasip1";
/// The size-optimised profile of the root Cargo.toml.
pub const PROFILE: &str = "wasm-release";
/// Handlers a user copies.
pub const SAMPLES: &[&str] = &[
    "hello",
    "echo",
    "fetch",
    "blob-write",
    "blob-read",
    "cosmos",
    "eventgrid-publish",
    "eventgrid-webhook",
];
/// Guests that only the tests use.
pub const TEST_GUESTS: &[&str] = &["cgi-probe", "outbound-probe"];

/// Installs the wasm target with rustup when it is missing.
pub fn ensure_target() -> Result<(), String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .map_err(|e| format!("{e}\nrustup is needed to install the {TARGET} target"))?;
    if installed.lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    exec(Command::new("rustup").args(["target", "add", TARGET]))
}

/// The folder the guests are built into.
pub fn wasm_dir() -> PathBuf {
    root().join("target").join(TARGET).join(PROFILE)
}

/// Builds every sample and test guest; returns the folder of the `.wasm` files.
pub fn build_guests() -> Result<PathBuf, String> {
    ensure_target()?;
    let mut cmd = cargo();
    cmd.args(["build", "--target", TARGET, "--profile", PROFILE]);
    for p in SAMPLES.iter().chain(TEST_GUESTS) {
        cmd.args(["-p", p]);
    }
    exec(&mut cmd)?;
    Ok(wasm_dir())
}

/// Path of the `wasm-opt` binary, installed from crates.io into `target/tools` on first use.
pub fn wasm_opt() -> Result<PathBuf, String> {
    let tools = root().join("target").join("tools");
    let bin = tools.join("bin").join("wasm-opt");
    if !bin.is_file() {
        eprintln!("installing wasm-opt (Binaryen) from crates.io into target/tools; this takes a few minutes once");
        exec(cargo().args([
            "install",
            "wasm-opt",
            "--version",
            "0.116.1",
            "--locked",
            "--root",
            tools.to_str().ok_or("non-UTF-8 path")?,
        ]))?;
    }
    Ok(bin)
}

/// Optimises `input` with `wasm-opt -Oz` into `output`.
pub fn optimise(wasm_opt: &Path, input: &Path, output_path: &Path) -> Result<(), String> {
    if let Some(dir) = output_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    exec(
        Command::new(wasm_opt)
            .arg("-Oz")
            .arg("--enable-bulk-memory")
            .arg("--enable-sign-ext")
            .arg("--enable-nontrapping-float-to-int")
            .arg("--enable-mutable-globals")
            .arg(input)
            .arg("-o")
            .arg(output_path),
    )
}

/// The folder of optimised samples.
pub fn optimised_dir() -> PathBuf {
    root().join("target").join("wasm-opt")
}

/// Builds, optimises every sample, and returns `(name, release bytes, optimised bytes)`.
pub fn build_and_optimise() -> Result<Vec<(String, u64, u64)>, String> {
    let dir = build_guests()?;
    let wasm_opt = wasm_opt()?;
    let mut rows = Vec::new();
    for name in SAMPLES {
        let input = dir.join(format!("{name}.wasm"));
        let out = optimised_dir().join(format!("{name}.wasm"));
        optimise(&wasm_opt, &input, &out)?;
        rows.push((name.to_string(), size(&input)?, size(&out)?));
    }
    Ok(rows)
}

fn size(p: &Path) -> Result<u64, String> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// `cargo xtask sizes`.
pub fn sizes() -> Result<(), String> {
    let rows = build_and_optimise()?;
    println!("| sample | release .wasm | after wasm-opt -Oz |");
    println!("|---|---:|---:|");
    for (name, before, after) in rows {
        println!("| {name} | {} | {} |", kib(before), kib(after));
    }
    Ok(())
}

/// Bytes as KiB with one decimal.
pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}
