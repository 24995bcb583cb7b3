//! Sizes: modules as built, after `wasm-opt -Oz`, and that gzipped; components as built and
//! gzipped, and after `wasm-opt -Oz` (through `jco opt`, which runs it on each core module
//! inside) and gzipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::build::{build_for, ensure_targets, optimise, optimise_component, SAMPLES};

/// One sample module's sizes in bytes.
#[derive(Debug, Clone)]
pub struct Size {
    pub sample: String,
    pub release: u64,
    pub optimised: u64,
    pub gzip: u64,
}

/// One sample component's sizes in bytes.
#[derive(Debug, Clone)]
pub struct ComponentSize {
    pub sample: String,
    /// As built (opt-level z with LTO).
    pub built: u64,
    /// `gzip -9` of the component as built.
    pub gzip: u64,
    /// After `jco opt` with `wasm-opt -Oz`.
    pub optimised: u64,
    /// `gzip -9` of the optimised component.
    pub optimised_gzip: u64,
}

/// Builds every sample for `target` (release profile for wasm) into `target_dir`; returns the
/// folder.
pub fn build_samples(target_dir: &Path, target: &str) -> Result<PathBuf, String> {
    ensure_targets()?;
    build_for(target, SAMPLES, Some(target_dir))
}

/// The `wasm-opt` to use (npm's binaryen from the tool cache, installed when missing) and its
/// `--version` line.
pub fn find_wasm_opt() -> Result<(PathBuf, String), String> {
    let tool = crate::tools::wasm_opt()?;
    let v = crate::tools::version_of(&tool).unwrap_or_else(|| "unknown version".into());
    Ok((tool, v))
}

/// Optimises every sample component of `dir` into `out_dir` with `jco` driving `wasm_opt`
/// (skipped when the output is newer than the input; every output is checked to be a
/// component) and measures the four sizes.
pub fn measure_components(
    jco: &Path,
    wasm_opt: &Path,
    dir: &Path,
    out_dir: &Path,
) -> Result<Vec<ComponentSize>, String> {
    SAMPLES
        .iter()
        .map(|name| {
            let input = dir.join(format!("{name}.wasm"));
            let output = out_dir.join(format!("{name}.wasm"));
            if is_newer(&output, &input) {
                crate::build::check_component(&output)?;
            } else {
                optimise_component(jco, wasm_opt, &input, &output)?;
            }
            Ok(ComponentSize {
                sample: name.to_string(),
                built: len(&input)?,
                gzip: gzip_len(&input)?,
                optimised: len(&output)?,
                optimised_gzip: gzip_len(&output)?,
            })
        })
        .collect()
}

/// Optimises every sample into `out_dir` with `tool` (skipped when the output is newer than
/// the input) and measures the three sizes.
pub fn measure(tool: &Path, wasm_dir: &Path, out_dir: &Path) -> Result<Vec<Size>, String> {
    let mut rows = Vec::new();
    for name in SAMPLES {
        let input = wasm_dir.join(format!("{name}.wasm"));
        let output = out_dir.join(format!("{name}.wasm"));
        if !is_newer(&output, &input) {
            optimise(tool, &input, &output)?;
        }
        rows.push(Size {
            sample: name.to_string(),
            release: len(&input)?,
            optimised: len(&output)?,
            gzip: gzip_len(&output)?,
        });
    }
    Ok(rows)
}

fn is_newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(x), Some(y)) if x > y)
}

fn len(p: &Path) -> Result<u64, String> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// Bytes of `gzip -9 -c <file>`.
pub fn gzip_len(p: &Path) -> Result<u64, String> {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(p)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run gzip (install it): {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout from gzip")?;
    let mut count = 0u64;
    let mut buf = [0u8; 64 << 10];
    loop {
        let n = stdout
            .read(&mut buf)
            .map_err(|e| format!("reading gzip's output: {e}"))?;
        if n == 0 {
            break;
        }
        count += n as u64;
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("gzip -9 -c {} failed ({status})", p.display()));
    }
    Ok(count)
}
