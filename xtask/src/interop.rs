//! Interop tests against software we did not write: Microsoft's Azure SDKs for Python (from
//! PyPI) and Microsoft's Azurite storage emulator (from npm), installed under `target/`,
//! `wasmtime serve` (the wasmtime CLI, from the tool cache) running our sample components, and
//! Debian's chromium (driven by selenium from PyPI) loading the harness's dashboard.

use std::path::PathBuf;
use std::process::Command;

use crate::build::{component_dir, wasm_dir, Built};
use crate::cmd::{cargo, exec, root};

const PY_PACKAGES: &[&str] = &[
    "azure-storage-blob",
    "azure-cosmos",
    "azure-eventgrid",
    "selenium",
];
const AZURITE: &str = "azurite@3";

/// A Python virtual environment with Microsoft's SDKs and selenium; returns its interpreter.
/// Reinstalled when the package list changed since it was made.
pub fn python() -> Result<PathBuf, String> {
    let venv = root().join("target").join("interop-venv");
    let py = venv.join("bin").join("python");
    let stamp = venv.join(".installed");
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if installed != PY_PACKAGES.join("\n") {
        exec(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        exec(
            Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(PY_PACKAGES),
        )?;
        std::fs::write(&stamp, PY_PACKAGES.join("\n")).map_err(|e| e.to_string())?;
    }
    Ok(py)
}

/// Azurite installed from npm; returns the path of its blob server script.
pub fn azurite() -> Result<PathBuf, String> {
    let dir = root().join("target").join("azurite");
    let bin = dir.join("node_modules").join(".bin").join("azurite-blob");
    if !bin.is_file() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        exec(Command::new("npm").current_dir(&dir).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            AZURITE,
        ]))?;
    }
    Ok(bin)
}

/// `cargo xtask interop` on its own: the guests already built by `cargo xtask build`.
pub fn run_standalone() -> Result<(), String> {
    run(&Built {
        modules: wasm_dir(),
        components: component_dir(),
    })
}

/// Installs the peers and runs the interop tests (the ignored ones) against `built`.
pub fn run(built: &Built) -> Result<(), String> {
    let py = python()?;
    let azurite = azurite()?;
    let wasmtime = crate::tools::wasmtime_cli()?;
    let (chromium, chromedriver) = crate::browser::chromium()?;
    exec(
        crate::test::test_env(
            cargo()
                // Same package selection as `cargo xtask test`, so nothing is compiled a second time.
                .args([
                    "test",
                    "--workspace",
                    "--tests",
                    "--no-fail-fast",
                    "--",
                    "--ignored",
                ]),
            built,
        )
        .env("INTEROP_PYTHON", &py)
        .env("AZURITE_BLOB", &azurite)
        .env("WASMTIME_CLI", &wasmtime)
        .env("CHROMIUM", &chromium)
        .env("CHROMEDRIVER", &chromedriver),
    )
}
