//! Module sizes: release `.wasm`, after `wasm-opt -Oz`, and that gzipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::build::{optimise, wasm_opt, PROFILE, SAMPLES, TARGET};
use crate::cmd::{cargo, exec as run};

/// One sample's sizes in bytes.
#[derive(Debug, Clone)]
pub struct Size {
    pub sample: String,
    pub release: u64,
    pub optimised: u64,
    pub gzip: u64,
}

/// Builds every sample (release profile for wasm) into `target`; returns the folder.
pub fn build_samples(target: &Path) -> Result<PathBuf, String> {
    crate::build::ensure_target()?;
    let mut cmd = cargo();
    cmd.args(["build", "--target", TARGET, "--profile", PROFILE])
        .env("CARGO_TARGET_DIR", target);
    for p in SAMPLES {
        cmd.args(["-p", p]);
    }
    run(&mut cmd)?;
    Ok(target.join(TARGET).join(PROFILE))
}

/// The `wasm-opt` to use: the one xtask installs into `target/tools` when it is there, else one
/// on `PATH` (such as Debian's `binaryen` package), else xtask installs it (minutes, once).
/// Returns the tool and its `--version` line.
pub fn find_wasm_opt() -> Result<(PathBuf, String), String> {
    let installed = crate::cmd::root()
        .join("target")
        .join("tools")
        .join("bin")
        .join("wasm-opt");
    let tool = if installed.is_file() {
        installed
    } else if version(Path::new("wasm-opt")).is_some() {
        PathBuf::from("wasm-opt")
    } else {
        wasm_opt()?
    };
    let v = version(&tool).unwrap_or_else(|| "unknown version".into());
    Ok((tool, v))
}

fn version(tool: &Path) -> Option<String> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
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
