//! `cargo xtask bench --instructions [--baseline=PATH]`: user-space instructions per hello
//! request, counted by valgrind's callgrind, for the harness (module and component), the
//! native hyper server and, with `--baseline`, another harness binary.
//!
//! req/s and CPU time move with the machine (the same harness binary varied by 40% within
//! twenty minutes on the 2-core VM), so an A/B of a small change drowns in them. An instruction
//! count does not move between runs of the same binaries and inputs, so it shows a 2% change.
//! It is not time: kernel work (the socket calls, the wake-ups) is not counted, and a
//! `rep stos`/`rep movs` (memset and memcpy of a reset page) counts once per byte.
//!
//! Each server runs under `valgrind --tool=callgrind`, is warmed up, then its counters are
//! zeroed, `wrk -t1 -c1` loads it on one keep-alive connection, and the counters are dumped:
//! the instructions of that window divided by the requests `wrk` completed. The harness runs
//! with `[limits] max_instances = 2`, since valgrind cannot map the default pool's reservation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::build::{P1, P2};

use super::load;
use super::procs::{free_port, release_build, start_announcing, start_listening, Proc};
use super::{sizes, toml_str};

/// Seconds of the measured `wrk` run per server (about 3 000 requests under valgrind).
const SECS: u32 = 4;
/// Requests before the counters are zeroed (the first ones fill caches and pools).
const WARM_UP: u32 = 30;

/// The native server's name in the table: the count the others are compared with.
const NATIVE: &str = "native hyper";

/// One server's count.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    pub server: String,
    pub requests: u64,
    pub instructions: u64,
}

impl Count {
    /// Instructions per request.
    pub fn per_request(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.instructions as f64 / self.requests as f64
        }
    }
}

/// Measures and prints the table; writes it to `<target>/bench/instructions.md`.
pub fn run(baseline: Option<PathBuf>) -> Result<(), String> {
    load::ensure_wrk()?;
    ensure_valgrind()?;
    let (target, out) = release_build(&["harness", "bench-native"])?;
    let release = target.join("release");
    let module = sizes::build_samples(&target, P1)?.join("hello.wasm");
    let component = sizes::build_samples(&target, P2)?.join("hello.wasm");
    let dir = out.join("instructions");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let harness = release.join("harness");
    let mut counts = vec![
        count_harness("harness, hello module", &harness, &module, &dir, "module")?,
        count_harness(
            "harness, hello component",
            &harness,
            &component,
            &dir,
            "component",
        )?,
        count_native(&release.join("bench-native"), &dir)?,
    ];
    if let Some(bin) = &baseline {
        let name = format!("baseline harness ({}), hello module", bin.display());
        counts.push(count_harness(&name, bin, &module, &dir, "baseline")?);
    }
    let table = table(&counts);
    println!("{table}");
    let path = out.join("instructions.md");
    std::fs::write(&path, &table).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Makes sure valgrind runs; installs it with apt-get when it is missing.
fn ensure_valgrind() -> Result<(), String> {
    crate::apt::ensure(
        "valgrind",
        || Command::new("valgrind").arg("--version").output().is_ok(),
        "valgrind",
        "apt-get install valgrind",
    )
}

/// valgrind's arguments to run a program under callgrind with its dumps at `file` (and
/// `file.1`, `file.2`, ...); the program and its arguments follow.
fn callgrind_args(file: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", file.display()),
        "--quiet".into(),
    ]
}

/// Counts `bin serve` with hello at `/hello` from `wasm`; files in `dir` named after `tag`.
fn count_harness(
    name: &str,
    bin: &Path,
    wasm: &Path,
    dir: &Path,
    tag: &str,
) -> Result<Count, String> {
    let config = dir.join(format!("{tag}.toml"));
    let text = format!(
        "# Written by `cargo xtask bench --instructions`.\n\n[[module]]\nroute = \"/hello\"\nmodule = {}\n\n[cache]\ndirectory = {}\n\n[limits]\nmax_instances = 2\n",
        toml_str(wasm),
        toml_str(&dir.join(format!("{tag}-cache")))
    );
    std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
    let file = fresh_dumps(dir, tag)?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut cmd = Command::new("valgrind");
    cmd.args(callgrind_args(&file))
        .arg(bin)
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", &addr]);
    let log = dir.join(format!("{tag}.log"));
    let (server, _) = start_listening(
        cmd,
        addr,
        "/hello",
        &log,
        &format!("{name} under callgrind"),
        Duration::from_millis(100),
    )?;
    measure(name, &server, &file)
}

/// Counts the native hyper server.
fn count_native(bin: &Path, dir: &Path) -> Result<Count, String> {
    let file = fresh_dumps(dir, "native")?;
    let mut args = callgrind_args(&file);
    args.extend([bin.display().to_string(), "127.0.0.1:0".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = start_announcing(Path::new("valgrind"), &args)?;
    measure(NATIVE, &server, &file)
}

/// Where a server's dumps go, with none left from an earlier run.
fn fresh_dumps(dir: &Path, tag: &str) -> Result<PathBuf, String> {
    let file = dir.join(format!("callgrind.{tag}"));
    for n in ["".to_string(), ".1".to_string()] {
        let old = PathBuf::from(format!("{}{n}", file.display()));
        if old.exists() {
            std::fs::remove_file(&old).map_err(|e| format!("{}: {e}", old.display()))?;
        }
    }
    Ok(file)
}

/// Warms `server` up, zeroes its counters, loads it, dumps them and reads the count.
fn measure(name: &str, server: &Proc, file: &Path) -> Result<Count, String> {
    let url = format!("http://{}/hello", server.addr);
    for _ in 0..WARM_UP {
        crate::http_client::send(&server.addr, "GET", "/hello", &[], b"")?;
    }
    control(server.pid(), "--zero")?;
    let requests = load::wrk(&url, 1, SECS, None)?.requests;
    control(server.pid(), "--dump")?;
    let dump = PathBuf::from(format!("{}.1", file.display()));
    // The dump is written by the server's own thread after the request: wait for it whole.
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&dump).unwrap_or_default();
        if totals(&text).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let instructions = totals(&text)
        .ok_or_else(|| format!("{} has no totals line after the dump", dump.display()))?;
    eprintln!("{name}: {requests} requests, {instructions} instructions");
    Ok(Count {
        server: name.to_string(),
        requests,
        instructions,
    })
}

/// Runs `callgrind_control OPTION PID`.
fn control(pid: u32, option: &str) -> Result<(), String> {
    let out = Command::new("callgrind_control")
        .arg(option)
        .arg(pid.to_string())
        .output()
        .map_err(|e| format!("cannot run callgrind_control: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "callgrind_control {option} {pid} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The instruction total of a callgrind dump (its `totals:` line).
fn totals(dump: &str) -> Option<u64> {
    dump.lines()
        .find_map(|l| l.strip_prefix("totals:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The Markdown table: each server's instructions per request and its multiple of native's.
fn table(counts: &[Count]) -> String {
    let native = counts
        .iter()
        .find(|c| c.server == NATIVE)
        .map(Count::per_request)
        .filter(|n| *n > 0.0);
    let mut t = String::from(
        "### Instructions per hello request (callgrind, user space only; wrk -t1 -c1, one keep-alive connection)\n\n\
         | server | requests | instructions per request | vs native |\n|---|---:|---:|---:|\n",
    );
    for c in counts {
        let ratio = native.map_or("–".to_string(), |n| {
            format!("{:.1}x", c.per_request() / n)
        });
        t.push_str(&format!(
            "| {} | {} | {:.0} | {ratio} |\n",
            c.server,
            c.requests,
            c.per_request()
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_line_of_a_dump() {
        let dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 74600420\ntotals: 74602114\n";
        assert_eq!(totals(dump), Some(74_602_114));
        assert_eq!(totals("summary: 5\n"), None, "a dump still being written");
        assert_eq!(totals("totals: many\n"), None);
    }

    #[test]
    fn the_table_gives_each_server_per_request_and_against_native() {
        let count = |server: &str, requests, instructions| Count {
            server: server.into(),
            requests,
            instructions,
        };
        let t = table(&[
            count("harness, hello module", 3_000, 360_000_000),
            count("native hyper", 10_000, 120_000_000),
            count("idle", 0, 5),
        ]);
        assert!(
            t.contains("| harness, hello module | 3000 | 120000 | 10.0x |"),
            "{t}"
        );
        assert!(t.contains("| native hyper | 10000 | 12000 | 1.0x |"), "{t}");
        assert!(t.contains("| idle | 0 | 0 | 0.0x |"), "{t}");
        let without_native = table(&[count("harness, hello module", 1, 7)]);
        assert!(without_native.contains("| 7 | – |"), "{without_native}");
    }
}
