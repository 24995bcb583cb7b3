//! Building the guests for both worlds and measuring or optimising them.
//!
//! - `wasm32-wasip1`: WAGI modules (CGI + `wasi_experimental_http`), optimised with `wasm-opt -Oz`;
//! - `wasm32-wasip2`: wasi:http components from the same sample sources. `wasm-opt` cannot read
//!   components, so `jco opt` runs the same `wasm-opt -Oz` on each core module inside them and
//!   re-assembles the component; the result is checked to still be a component.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{cargo, exec, output, root};

/// The module world (WAGI).
pub const P1: &str = "wasm32-wasip1";
/// The component world (wasi:http 0.2).
pub const P2: &str = "wasm32-wasip2";
/// Both targets, in build order.
pub const TARGETS: &[&str] = &[P1, P2];
/// The size-optimised profile of the root Cargo.toml.
pub const PROFILE: &str = "wasm-release";
/// Handlers a user copies; each builds for both targets.
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
/// Guests that only the tests use, per target.
pub const P1_TEST_GUESTS: &[&str] = &["cgi-probe", "outbound-probe"];
pub const P2_TEST_GUESTS: &[&str] = &["component-probe"];

/// What `--profile wasm-release` produces for a target: "module" or "component".
pub fn kind(target: &str) -> &'static str {
    if target == P2 {
        "component"
    } else {
        "module"
    }
}

/// Installs the wasm targets with rustup when they are missing.
pub fn ensure_targets() -> Result<(), String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .map_err(|e| {
            format!(
                "{e}\nrustup is needed to install the {} targets",
                TARGETS.join(" and ")
            )
        })?;
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    exec(
        Command::new("rustup")
            .args(["target", "add"])
            .args(&missing),
    )
}

/// The folder a target's guests are built into, under `target_dir`.
pub fn out_dir_in(target_dir: &Path, target: &str) -> PathBuf {
    target_dir.join(target).join(PROFILE)
}

/// The folder of the WAGI modules (`wasm32-wasip1`).
pub fn wasm_dir() -> PathBuf {
    out_dir_in(&root().join("target"), P1)
}

/// The folder of the components (`wasm32-wasip2`).
pub fn component_dir() -> PathBuf {
    out_dir_in(&root().join("target"), P2)
}

/// Where the guests of both worlds are.
#[derive(Debug, Clone)]
pub struct Built {
    /// `wasm32-wasip1` modules.
    pub modules: PathBuf,
    /// `wasm32-wasip2` components.
    pub components: PathBuf,
}

/// Builds `packages` for `target` in one cargo invocation into `target_dir` (None: the default).
pub fn build_for(
    target: &str,
    packages: &[&str],
    target_dir: Option<&Path>,
) -> Result<PathBuf, String> {
    build_with_profile(target, packages, PROFILE, target_dir)
}

/// Builds `packages` for `target` with cargo profile `profile`; returns the output folder.
fn build_with_profile(
    target: &str,
    packages: &[&str],
    profile: &str,
    target_dir: Option<&Path>,
) -> Result<PathBuf, String> {
    let mut cmd = cargo();
    cmd.args(["build", "--target", target, "--profile", profile]);
    if let Some(dir) = target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    for p in packages {
        cmd.args(["-p", p]);
    }
    exec(&mut cmd).map_err(|e| {
        format!(
            "{e}\nbuilding the {} {}s failed; the compiler's messages are above",
            target,
            kind(target)
        )
    })?;
    let dir = target_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root().join("target"));
    Ok(dir.join(target).join(profile))
}

/// Every package built for `target`: the samples and that target's test guests.
pub fn guests_of(target: &str) -> Vec<&'static str> {
    let tests = if target == P2 {
        P2_TEST_GUESTS
    } else {
        P1_TEST_GUESTS
    };
    SAMPLES.iter().chain(tests).copied().collect()
}

/// Builds every sample for both targets, and the test guests of each target.
pub fn build_guests() -> Result<Built, String> {
    ensure_targets()?;
    let modules = build_for(P1, &guests_of(P1), None)?;
    let components = build_for(P2, &guests_of(P2), None)?;
    Ok(Built {
        modules,
        components,
    })
}

/// Builds only the samples for one target (the demo uses this).
pub fn build_samples(target: &str, target_dir: Option<&Path>) -> Result<PathBuf, String> {
    ensure_targets()?;
    build_for(target, SAMPLES, target_dir)
}

/// The `wasm-opt` to use (from the tool cache; see [`crate::tools`]).
pub fn wasm_opt() -> Result<PathBuf, String> {
    crate::tools::wasm_opt()
}

/// `wasm-opt`'s flags for modules and for the core modules inside components: `-Oz` and the
/// features Rust's wasm targets emit.
pub const WASM_OPT_FLAGS: &[&str] = &[
    "-Oz",
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
];

fn create_parent(p: &Path) -> Result<(), String> {
    match p.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display())),
        None => Ok(()),
    }
}

/// Optimises the module `input` with `wasm-opt -Oz` into `output`.
pub fn optimise(wasm_opt: &Path, input: &Path, output_path: &Path) -> Result<(), String> {
    create_parent(output_path)?;
    exec(
        Command::new(wasm_opt)
            .args(WASM_OPT_FLAGS)
            .arg(input)
            .arg("-o")
            .arg(output_path),
    )
}

/// Optimises the component `input` into `output`: `jco opt` runs `wasm_opt` with
/// [`WASM_OPT_FLAGS`] on every core module inside it and re-assembles the component. Fails when
/// the output is not a component.
pub fn optimise_component(
    jco: &Path,
    wasm_opt: &Path,
    input: &Path,
    output_path: &Path,
) -> Result<(), String> {
    create_parent(output_path)?;
    exec(
        Command::new(jco)
            .arg("opt")
            .arg(input)
            .arg("-o")
            .arg(output_path)
            .arg("--quiet")
            .arg("--wasm-opt-bin")
            .arg(wasm_opt)
            .arg("--")
            .args(WASM_OPT_FLAGS),
    )?;
    check_component(output_path)
}

/// What the 8-byte preamble of a `.wasm` file says it is (the harness's `WasmKind::detect`
/// reads the same bytes): `\0asm`, then version 1 and layer 0 for a core module, version 0x0d
/// and layer 1 for a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    Module,
    Component,
    Other,
}

impl Preamble {
    pub fn of(bytes: &[u8]) -> Self {
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Self::Module,
            Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => Self::Component,
            _ => Self::Other,
        }
    }
}

/// Fails unless the file at `p` starts with a component's preamble.
pub fn check_component(p: &Path) -> Result<(), String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8);
    std::fs::File::open(p)
        .and_then(|f| f.take(8).read_to_end(&mut head))
        .map_err(|e| format!("{}: {e}", p.display()))?;
    match Preamble::of(&head) {
        Preamble::Component => Ok(()),
        other => Err(format!(
            "{} is not a component after optimising (preamble {head:02x?}: {other:?})",
            p.display()
        )),
    }
}

/// The folder of optimised modules.
pub fn optimised_dir() -> PathBuf {
    root().join("target").join("wasm-opt")
}

/// The folder of optimised components.
pub fn optimised_component_dir() -> PathBuf {
    optimised_dir().join("components")
}

/// Builds the p1 samples, optimises each, and returns `(name, release bytes, optimised bytes)`.
pub fn build_and_optimise() -> Result<Vec<(String, u64, u64)>, String> {
    let dir = build_samples(P1, None)?;
    optimise_all(&dir)
}

fn optimise_all(dir: &Path) -> Result<Vec<(String, u64, u64)>, String> {
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

/// Bytes of a file.
pub fn size(p: &Path) -> Result<u64, String> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// Size budgets that `cargo xtask sizes` enforces: (sample, what is measured, most bytes).
const BUDGETS: &[(&str, Measure, u64)] = &[
    ("hello", Measure::PlainRelease(P1), 100_000),
    ("blob-write", Measure::Optimised, 600_000),
];

/// One way of building a sample for the size table.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Measure {
    /// `cargo build --release --target T`, as a user builds it with no profile settings (the
    /// workspace's `[profile.release]` sets nothing).
    PlainRelease(&'static str),
    /// Our `wasm-release` profile and then `wasm-opt -Oz` (of the module).
    Optimised,
}

/// `cargo xtask sizes`: every sample both ways (a user's plain `--release` build, our
/// `wasm-release` profile plus `wasm-opt -Oz`, through `jco opt` for components) for both
/// targets, checked against [`BUDGETS`]; then the optimised hello component is served once (see
/// [`serve_optimised_hello`]).
pub fn sizes() -> Result<(), String> {
    let built = build_guests()?;
    let optimised = optimise_all(&built.modules)?;
    let optimised_components = optimise_components(&built.components)?;
    let plain_p1 = build_with_profile(P1, SAMPLES, "release", None)?;
    let plain_p2 = build_with_profile(P2, SAMPLES, "release", None)?;
    println!("| sample | wasip1 `--release` | wasip1 wasm-release + wasm-opt -Oz | wasip2 `--release` | wasip2 wasm-release | wasip2 wasm-release + wasm-opt -Oz |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut over = Vec::new();
    for ((name, _, opt), (_, p2_small, p2_opt)) in optimised.iter().zip(&optimised_components) {
        let file = format!("{name}.wasm");
        let p1 = size(&plain_p1.join(&file))?;
        let p2 = size(&plain_p2.join(&file))?;
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            kib(p1),
            kib(*opt),
            kib(p2),
            kib(*p2_small),
            kib(*p2_opt)
        );
        for (sample, measure, budget) in BUDGETS {
            let got = match measure {
                Measure::PlainRelease(t) if *t == P1 => p1,
                Measure::PlainRelease(_) => p2,
                Measure::Optimised => *opt,
            };
            if sample == name && got > *budget {
                over.push(format!(
                    "{name} ({measure:?}) is {got} bytes, over its budget of {budget}"
                ));
            }
        }
    }
    println!(
        "\ncomponents: `jco opt` ran wasm-opt -Oz on each core module inside them; every output is a component (preamble checked)"
    );
    match serve_optimised_hello()? {
        Some(answer) => println!("optimised hello component on `wasmtime serve`: GET /hello?name=x answered {answer:?}"),
        None => println!("optimised hello component not served: no wasmtime 48 CLI in the tool cache yet (`cargo xtask tools` installs it)"),
    }
    println!(
        "budgets: {}",
        BUDGETS
            .iter()
            .map(|(n, m, b)| format!("{n} {m:?} <= {b} bytes"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if over.is_empty() {
        Ok(())
    } else {
        Err(over.join("\n"))
    }
}

/// Optimises every sample component in `dir` into [`optimised_component_dir`]; returns
/// `(name, built bytes, optimised bytes)`.
fn optimise_components(dir: &Path) -> Result<Vec<(String, u64, u64)>, String> {
    let jco = crate::tools::jco()?;
    let wasm_opt = wasm_opt()?;
    let mut rows = Vec::new();
    for name in SAMPLES {
        let input = dir.join(format!("{name}.wasm"));
        let out = optimised_component_dir().join(format!("{name}.wasm"));
        optimise_component(&jco, &wasm_opt, &input, &out)?;
        rows.push((name.to_string(), size(&input)?, size(&out)?));
    }
    Ok(rows)
}

/// Serves the optimised hello component with `wasmtime serve` (the bench's way) and asks it
/// `GET /hello?name=x`; fails unless it answers `hello, x`. Returns the answer, or None when no
/// wasmtime 48 CLI is cached (nothing is installed for this check).
fn serve_optimised_hello() -> Result<Option<String>, String> {
    let Some(wasmtime) = crate::tools::cached_wasmtime_cli() else {
        return Ok(None);
    };
    let component = optimised_component_dir().join("hello.wasm");
    let log = optimised_component_dir().join("wasmtime-serve-hello.log");
    let (proc, _) = crate::bench::procs::start_wasmtime_serve(
        &wasmtime,
        &component,
        &[],
        "/hello?name=x",
        &log,
    )?;
    let reply = crate::http_client::send(&proc.addr, "GET", "/hello?name=x", &[], b"");
    proc.stop();
    let answer = reply?.text().trim().to_string();
    if answer == "hello, x" {
        Ok(Some(answer))
    } else {
        Err(format!(
            "the optimised hello component answered {answer:?}, not \"hello, x\" (log: {})",
            log.display()
        ))
    }
}

/// Bytes as KiB with one decimal.
pub fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preamble_tells_a_component_from_a_module() {
        assert_eq!(Preamble::of(b"\0asm\x01\0\0\0rest"), Preamble::Module);
        assert_eq!(Preamble::of(b"\0asm\x0d\0\x01\0rest"), Preamble::Component);
        // Version 0x0d with layer 0, a short file, text: neither.
        assert_eq!(Preamble::of(b"\0asm\x0d\0\0\0"), Preamble::Other);
        assert_eq!(Preamble::of(b"\0asm"), Preamble::Other);
        assert_eq!(Preamble::of(b"(component)"), Preamble::Other);
    }

    #[test]
    fn a_module_is_not_accepted_as_an_optimised_component() {
        let dir = std::env::temp_dir().join(format!("xtask-preamble-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let module = dir.join("m.wasm");
        let component = dir.join("c.wasm");
        std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(&component, b"\0asm\x0d\0\x01\0\x00").unwrap();
        let err = check_component(&module).unwrap_err();
        assert!(
            err.contains("is not a component") && err.contains("Module"),
            "{err}"
        );
        assert!(check_component(&component).is_ok());
        assert!(check_component(&dir.join("missing.wasm")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
