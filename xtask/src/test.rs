//! `cargo xtask test` and `cargo xtask lint`.

use crate::build::{build_guests, Built, SAMPLES, TARGETS};
use crate::cmd::{cargo, exec, output};

/// Guest library crates: their graphs for wasm32-wasip1 and wasm32-wasip2 must stay free of
/// host networking.
const GUEST_LIBS: &[&str] = &[
    "azure-wasi",
    "azure-wasi-handler",
    "azure-wasi-outbound",
    "azure-wasi-core",
    "azure-wasi-storage",
    "azure-wasi-cosmos",
    "azure-wasi-eventgrid",
];
/// Crates that must never be in a guest's dependency graph (`azure_identity`: a guest gets
/// tokens from the host's broker through `azure_wasi_core::HostTokenCredential`, never by
/// holding a credential itself).
const FORBIDDEN: &[&str] = &[
    "tokio",
    "reqwest",
    "hyper",
    "mio",
    "socket2",
    "azure_identity",
];

/// Lints (fail fast), builds guests for both targets, checks both guest dependency graphs, runs
/// every test, then the interop tests.
pub fn run() -> Result<(), String> {
    lint()?;
    let built = build_guests()?;
    for target in TARGETS {
        check_guest_dependencies(target)?;
    }
    exec(test_env(
        cargo().args(["test", "--workspace", "--no-fail-fast"]),
        &built,
    ))?;
    crate::interop::run(&built)
}

/// Sets the folders of the built guests for the tests.
pub fn test_env<'a>(
    cmd: &'a mut std::process::Command,
    built: &Built,
) -> &'a mut std::process::Command {
    cmd.env("AZURE_WASI_WASM_DIR", &built.modules)
        .env("AZURE_WASI_COMPONENT_DIR", &built.components)
}

/// Fails when a guest crate pulls a forbidden crate into its graph for `target`.
pub fn check_guest_dependencies(target: &str) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args([
        "tree", "--target", target, "-e", "normal", "--prefix", "none", "--format", "{p}",
    ]);
    for p in GUEST_LIBS.iter().chain(SAMPLES) {
        cmd.args(["-p", p]);
    }
    let tree = output(&mut cmd)?;
    check_idna_backend(&tree)?;
    let bad = forbidden_in(&tree);
    if bad.is_empty() {
        eprintln!(
            "guest dependency graph for {target} ({} crates) has none of {}",
            tree.lines().count(),
            FORBIDDEN.join(", ")
        );
        Ok(())
    } else {
        Err(format!(
            "the guest dependency graph for {target} contains {}; find who pulls it in with `cargo tree --target {target} -e normal -i <crate>`",
            bad.join(", ")
        ))
    }
}

/// The guests resolve host names in ASCII only: Cargo.lock pins `idna_adapter` to its 1.0 stub
/// (no Unicode tables), which keeps about 80 KB of ICU4X data out of every Azure guest. A
/// `cargo update` that moves it is caught here.
fn check_idna_backend(tree: &str) -> Result<(), String> {
    match tree
        .lines()
        .find_map(|l| l.strip_prefix("idna_adapter v"))
    {
        Some(version) if !version.starts_with("1.0.") => Err(format!(
            "idna_adapter {version} is in the guest graph: it carries ICU4X's Unicode tables into every guest; run `cargo update -p idna_adapter --precise 1.0.0` (guests only talk to ASCII host names)"
        )),
        _ => Ok(()),
    }
}

fn forbidden_in(tree: &str) -> Vec<String> {
    let mut bad: Vec<String> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| FORBIDDEN.contains(name))
        .map(str::to_string)
        .collect();
    bad.sort();
    bad.dedup();
    bad
}

/// `cargo fmt --check` and clippy with warnings as errors; each failure says how to fix it.
pub fn lint() -> Result<(), String> {
    exec(cargo().args(["fmt", "--all", "--", "--check"])).map_err(|e| {
        format!("{e}\nformatting differs (diff above): run `cargo fmt --all` and commit the result")
    })?;
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
    .map_err(|e| {
        format!(
            "{e}\nclippy found problems (above): fix them, or try `cargo clippy --fix --workspace --all-targets --allow-dirty` for the mechanical ones, then run again"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_forbidden_crates_in_a_tree() {
        let tree = "hello v0.1.0\nhttp v1.3.1\ntokio v1.47.0\nmio v1.0.0\ntokio v1.47.0\n";
        assert_eq!(forbidden_in(tree), ["mio", "tokio"]);
        assert!(forbidden_in("wstd v0.6.0\nwasip2 v1.0.0\n").is_empty());
        assert_eq!(
            forbidden_in("azure-wasi-core v0.1.0\nazure_identity v1.0.0\n"),
            ["azure_identity"]
        );
    }

    #[test]
    fn idna_backend_must_be_the_ascii_stub() {
        assert!(check_idna_backend("url v2.5.8\nidna_adapter v1.0.0\n").is_ok());
        assert!(check_idna_backend("hello v0.1.0\n").is_ok());
        let err = check_idna_backend("idna_adapter v1.2.2\n").unwrap_err();
        assert!(err.contains("--precise 1.0.0"), "{err}");
    }
}
