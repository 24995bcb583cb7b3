//! Processes the benchmark starts: the harness, the native baseline, the Blob emulator and
//! `wasmtime serve`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http_client::send;

/// A child process that is killed when dropped.
pub struct Proc {
    child: Child,
    /// `127.0.0.1:<port>` it listens on.
    pub addr: String,
}

impl Proc {
    /// The process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        status_kib(self.pid(), "VmHWM")
    }

    /// Restarts the peak resident set size from the current one (Linux 4.0+), so a later
    /// [`Proc::peak_rss_kib`] counts the load alone, not start-up (compiling guests).
    pub fn reset_peak_rss(&self) -> Result<(), String> {
        let path = format!("/proc/{}/clear_refs", self.pid());
        std::fs::write(&path, "5").map_err(|e| format!("cannot reset the peak RSS ({path}): {e}"))
    }

    /// Kills it and waits for it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `kB` figure of `/proc/<pid>/status`, such as `VmRSS` (resident now) or `VmHWM` (peak).
pub fn status_kib(pid: u32, field: &str) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("{path} has no {field} line (is this Linux?)"))
}

/// Builds `packages` in release into the target folder in use; returns that folder and its
/// `bench/` folder (created), where the benchmarks write their configs, logs and reports.
pub fn release_build(packages: &[&str]) -> Result<(PathBuf, PathBuf), String> {
    let target = target_dir();
    let out = target.join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "building {} in release (minutes, once)",
        packages.join(", ")
    );
    let mut cmd = crate::cmd::cargo();
    cmd.env("CARGO_TARGET_DIR", &target)
        .args(["build", "--release"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    crate::cmd::exec(&mut cmd)?;
    Ok((target, out))
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Starts `harness serve` and waits for `GET probe` to answer 200; returns the process and the
/// time from spawning to that first 200.
pub fn start_harness(
    bin: &Path,
    config: &Path,
    extra_args: &[&str],
    probe: &str,
    log: &Path,
) -> Result<(Proc, Duration), String> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &addr])
        .args(extra_args);
    start_listening(
        cmd,
        addr,
        probe,
        log,
        "the harness",
        Duration::from_micros(500),
    )
}

/// Starts `wasmtime serve` with the pooling allocator on a free port for `component`, with
/// `env` as the component's environment, and waits for `GET probe` to answer 200; returns the
/// process and the time from spawning to that first 200.
pub fn start_wasmtime_serve(
    bin: &Path,
    component: &Path,
    env: &[(&str, String)],
    probe: &str,
    log: &Path,
) -> Result<(Proc, Duration), String> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut cmd = Command::new(bin);
    cmd.args([
        "serve",
        "-O",
        "pooling-allocator",
        "-S",
        "cli",
        "--addr",
        &addr,
    ]);
    for (k, v) in env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    cmd.arg(component);
    start_listening(
        cmd,
        addr,
        probe,
        log,
        "wasmtime serve",
        Duration::from_millis(2),
    )
}

/// Starts a WAGI binary (deislabs' WAGI 0.8) on a free port with `modules_toml` and waits for
/// `GET probe` to answer 200.
pub fn start_wagi(
    bin: &Path,
    modules_toml: &Path,
    probe: &str,
    log: &Path,
) -> Result<(Proc, Duration), String> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut cmd = Command::new(bin);
    cmd.arg("--config")
        .arg(modules_toml)
        .args(["--listen", &addr]);
    start_listening(cmd, addr, probe, log, "WAGI", Duration::from_millis(2))
}

/// Spawns `cmd` (a server that will listen on `addr`), its stderr to `log` and `RUST_LOG=warn`,
/// and waits for `GET probe` to answer 200 (see [`wait_ready`]).
pub fn start_listening(
    mut cmd: Command,
    addr: String,
    probe: &str,
    log: &Path,
    who: &str,
    poll: Duration,
) -> Result<(Proc, Duration), String> {
    let log_file =
        std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let started = Instant::now();
    let child = cmd
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot start {who} ({:?}): {e}", cmd.get_program()))?;
    wait_ready(Proc { child, addr }, started, probe, log, who, poll)
}

/// Polls `GET probe` on `proc` every `poll` until it answers 200 (returning the time since
/// `started`), answers anything else, exits, or 120 s pass; errors name `who` and its log.
fn wait_ready(
    mut proc: Proc,
    started: Instant,
    probe: &str,
    log: &Path,
    who: &str,
    poll: Duration,
) -> Result<(Proc, Duration), String> {
    loop {
        if let Ok(r) = send(&proc.addr, "GET", probe, &[], b"") {
            if r.status == 200 {
                return Ok((proc, started.elapsed()));
            }
            return Err(format!(
                "{who} answered GET {probe} with {}: {}; its log is {}",
                r.status,
                r.text().trim(),
                log.display()
            ));
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            return Err(format!(
                "{who} exited ({status}) before answering; its log is {}",
                log.display()
            ));
        }
        if started.elapsed() > Duration::from_secs(120) {
            proc.kill();
            return Err(format!(
                "{who} did not answer GET {probe} within 120 s; its log is {}",
                log.display()
            ));
        }
        std::thread::sleep(poll);
    }
}

/// Starts a program that prints `listening on <addr>` on stdout once it accepts connections.
pub fn start_announcing(bin: &Path, args: &[&str]) -> Result<Proc, String> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| format!("no stdout from {}", bin.display()))?;
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .map(str::to_string);
    match (read, addr) {
        (Ok(_), Some(addr)) => Ok(Proc { child, addr }),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "{} did not announce its address (got {:?})",
                bin.display(),
                line.trim()
            ))
        }
    }
}

/// Whether `harness serve --help` offers a switch.
pub fn harness_has_flag(bin: &Path, flag: &str) -> bool {
    Command::new(bin)
        .args(["serve", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(flag))
        .unwrap_or(false)
}

/// The cargo target folder in use (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                crate::cmd::root().join(dir)
            }
        }
        None => crate::cmd::root().join("target"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kb_figures_of_a_process_status() {
        let me = std::process::id();
        let rss = status_kib(me, "VmRSS").unwrap();
        let peak = status_kib(me, "VmHWM").unwrap();
        assert!(rss > 0 && peak >= rss, "VmRSS {rss} kB, VmHWM {peak} kB");
        // A field is matched whole: `VmRS` is not `VmRSS`.
        let err = status_kib(me, "VmRS").unwrap_err();
        assert!(err.contains("no VmRS line"), "{err}");
        assert!(status_kib(u32::MAX, "VmRSS").is_err());
    }
}
