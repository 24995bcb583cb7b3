//! Load generation with `wrk` (Debian's package), installed when missing, and its output parsed.

use std::path::Path;
use std::process::Command;

use crate::cmd::output;

/// What one load run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    /// Completed requests per second.
    pub rps: f64,
    /// Median latency in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency in milliseconds.
    pub p99_ms: f64,
    /// Answers that were not 2xx/3xx, plus socket errors.
    pub errors: u64,
    /// Requests completed.
    pub requests: u64,
    /// CPU time (user + system) the server process used per completed request, in
    /// microseconds; 0 when not measured. Unlike req/s, this hardly moves when other work
    /// shares the machine, so it is the figure to compare between runs.
    pub cpu_us: f64,
    /// Minor page faults of the server process per completed request (each is a page the
    /// process touched for the first time, or again after it was reset: for the harness,
    /// mostly the guest's fresh memory pages); 0 when not measured.
    pub faults: f64,
    /// CPU time (user + system) `wrk` itself used per completed request, in microseconds; 0
    /// when not measured. On a machine the load shares, a server that answers more slowly
    /// than `wrk` reads finds `wrk` asleep more often, and each wake-up costs both sides.
    pub client_cpu_us: f64,
}

/// Makes sure `wrk` runs; installs it with apt-get when it is missing.
pub fn ensure_wrk() -> Result<(), String> {
    crate::apt::ensure(
        "wrk (the load generator)",
        wrk_present,
        "wrk",
        "apt-get install wrk, brew install wrk",
    )
}

fn wrk_present() -> bool {
    // `wrk -v` prints its version and exits with 1; only a missing binary is an error here.
    Command::new("wrk").arg("-v").output().is_ok()
}

/// Runs `wrk` against `url` with `connections` open connections for `secs` seconds.
pub fn wrk(url: &str, connections: u32, secs: u32, script: Option<&Path>) -> Result<Load, String> {
    let threads = connections.clamp(1, 2);
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("--latency");
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(url);
    let text = output(&mut cmd)?;
    parse(&text).map_err(|e| format!("{e} in wrk's output:\n{text}"))
}

/// Like [`wrk`], and also measures the CPU time process `pid` used per request meanwhile.
pub fn wrk_on(
    pid: u32,
    url: &str,
    connections: u32,
    secs: u32,
    script: Option<&Path>,
) -> Result<Load, String> {
    let before = process_usage(pid);
    let children_before = children_cpu_seconds();
    let mut load = wrk(url, connections, secs, script)?;
    if load.requests > 0 {
        let n = load.requests as f64;
        if let (Some(b), Some(a)) = (before, process_usage(pid)) {
            load.cpu_us = (a.cpu_seconds - b.cpu_seconds) * 1e6 / n;
            load.faults = (a.minor_faults - b.minor_faults) / n;
        }
        // `wrk` is the only child waited for meanwhile, so the children's CPU grew by its own.
        if let (Some(b), Some(a)) = (children_before, children_cpu_seconds()) {
            load.client_cpu_us = (a - b) * 1e6 / n;
        }
    }
    Ok(load)
}

/// CPU time (user + system, seconds) of this process's children that have been waited for,
/// from `/proc/self/stat` (`cutime` and `cstime`).
fn children_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields = stat_fields(&stat)?;
    let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    Some((field(16)? + field(17)?) / clock_ticks_per_second())
}

/// The fields of a `/proc/<pid>/stat` line after the command name (which is in parentheses
/// and may hold spaces): field N (numbered as in `man proc`) is at index N - 3.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    Some(stat[stat.rfind(')')? + 2..].split_whitespace().collect())
}

/// What a process has used so far.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// CPU time, user + system, in seconds.
    pub cpu_seconds: f64,
    /// Minor page faults.
    pub minor_faults: f64,
}

/// [`Usage`] of process `pid`, from `/proc/<pid>/stat`.
pub fn process_usage(pid: u32) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat_fields(&stat)?;
    let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    Some(Usage {
        cpu_seconds: (field(14)? + field(15)?) / clock_ticks_per_second(),
        minor_faults: field(10)?,
    })
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        output(Command::new("getconf").arg("CLK_TCK"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Parses wrk's text report (with `--latency`).
pub fn parse(text: &str) -> Result<Load, String> {
    let mut load = Load::default();
    let mut in_distribution = false;
    let mut seen_rps = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            load.rps = v.trim().parse().map_err(|_| "bad Requests/sec")?;
            seen_rps = true;
        } else if t.starts_with("Latency Distribution") {
            in_distribution = true;
        } else if in_distribution && t.starts_with("50%") {
            load.p50_ms = duration_ms(t.trim_start_matches("50%").trim())?;
        } else if in_distribution && t.starts_with("99%") {
            load.p99_ms = duration_ms(t.trim_start_matches("99%").trim())?;
            in_distribution = false;
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            load.errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Socket errors:") {
            load.errors += v
                .split(',')
                .filter_map(|part| part.split_whitespace().last())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum::<u64>();
        } else if t.contains(" requests in ") {
            load.requests = t
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    if !seen_rps {
        return Err("no Requests/sec line".into());
    }
    Ok(load)
}

/// `123.45us`, `1.20ms`, `2.00s`, `1.5m` as milliseconds.
fn duration_ms(text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("no unit in {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("bad number in {text:?}"))?;
    let factor = match unit {
        "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        _ => return Err(format!("unknown unit in {text:?}")),
    };
    Ok(n * factor)
}

/// The median of each field over several runs (errors and requests are summed).
pub fn median(runs: &[Load]) -> Load {
    let pick = |f: fn(&Load) -> f64| super::stats::median(runs.iter().map(f).collect());
    Load {
        rps: pick(|l| l.rps),
        p50_ms: pick(|l| l.p50_ms),
        p99_ms: pick(|l| l.p99_ms),
        errors: runs.iter().map(|l| l.errors).sum(),
        requests: runs.iter().map(|l| l.requests).sum(),
        cpu_us: pick(|l| l.cpu_us),
        faults: pick(|l| l.faults),
        client_cpu_us: pick(|l| l.client_cpu_us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 2s test @ http://127.0.0.1:3000/hello
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  300.00us   5.00ms   80.00%
    Req/Sec    15.00k     1.00k   17.00k    70.00%
  Latency Distribution
     50%  830.00us
     75%    1.10ms
     90%    1.40ms
     99%    2.50ms
  60000 requests in 2.00s, 7.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  29990.12
Transfer/sec:      3.50MB
";

    #[test]
    fn reads_this_process_cpu_time_and_page_faults() {
        let before = process_usage(std::process::id()).expect("/proc/self/stat");
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        // 64 MiB touched for the first time: thousands of pages (fewer with huge pages).
        let touched = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = process_usage(std::process::id()).unwrap();
        drop(touched);
        let cpu = after.cpu_seconds - before.cpu_seconds;
        assert!(cpu >= 0.05, "{cpu} s of CPU after 100 ms of spinning");
        assert!(
            after.minor_faults > before.minor_faults,
            "{before:?} -> {after:?}"
        );
        assert!(process_usage(u32::MAX).is_none());
    }

    #[test]
    fn counts_the_cpu_of_a_child_once_it_is_waited_for() {
        let before = children_cpu_seconds().expect("/proc/self/stat");
        // A shell that spins for about 200 ms of CPU, then exits and is waited for.
        let status = Command::new("sh")
            .args([
                "-c",
                "end=$(($(date +%s%N) + 200000000)); while [ $(date +%s%N) -lt $end ]; do :; done",
            ])
            .status()
            .expect("sh runs");
        assert!(status.success());
        let grown = children_cpu_seconds().unwrap() - before;
        assert!(
            grown >= 0.05,
            "{grown} s of children's CPU after a 200 ms spin"
        );
    }

    #[test]
    fn parses_a_wrk_report() {
        let l = parse(SAMPLE).unwrap();
        assert!((l.rps - 29990.12).abs() < 1e-6);
        assert!((l.p50_ms - 0.83).abs() < 1e-9);
        assert!((l.p99_ms - 2.5).abs() < 1e-9);
        assert_eq!(l.errors, 7);
        assert_eq!(l.requests, 60000);
    }

    #[test]
    fn a_report_without_throughput_is_an_error() {
        assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
    }

    #[test]
    fn units_convert() {
        assert_eq!(duration_ms("2.00s").unwrap(), 2000.0);
        assert!(duration_ms("3.0x").is_err());
    }
}
