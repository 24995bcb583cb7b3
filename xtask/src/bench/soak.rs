//! `cargo xtask bench --soak [--minutes N]`: a bounded run of mixed traffic against the release
//! harness (successes, blob uploads to the embedded emulator, denied outbound calls, traps,
//! timeouts, large bodies, in both worlds), then the harness's resident memory and open file
//! descriptors compared with what they were after the warm-up. A leak of either fails the run.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::build::{build_for, P1, P1_TEST_GUESTS, P2, P2_TEST_GUESTS};
use crate::http_client::send;

use super::procs::{free_port, release_build, start_harness, status_kib, Proc};
use super::{blob_module_toml, sizes, toml_str};

/// Client threads sending the mix.
const CLIENTS: usize = 4;
/// Traffic before the first measurement (allocator and pools settle).
const WARM_UP: Duration = Duration::from_secs(20);
/// Allowed growth from the warm-up figures to the end: a few percent plus a little slack for
/// the allocator's page granularity.
const RSS_GROWTH_PERCENT: u64 = 5;
const RSS_SLACK_KIB: u64 = 4 * 1024;
const FD_SLACK: usize = 4;

/// One kind of request in the mix, and the statuses that count as its expected outcome.
struct Kind {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Vec<u8>,
    expect: &'static [u16],
}

fn mix() -> Vec<Kind> {
    let denied = "http%3A%2F%2Fdenied.example%2F";
    vec![
        Kind {
            name: "hello (module)",
            method: "GET",
            path: "/hello?name=soak".into(),
            body: vec![],
            expect: &[200],
        },
        Kind {
            name: "hello (component)",
            method: "GET",
            path: "/c/hello?name=soak".into(),
            body: vec![],
            expect: &[200],
        },
        Kind {
            name: "blob upload (module)",
            method: "POST",
            path: "/blob?container=soak&blob=b".into(),
            body: vec![b'x'; 16 * 1024],
            expect: &[201],
        },
        Kind {
            name: "denied outbound call",
            method: "GET",
            path: format!("/fetch?url={denied}"),
            body: vec![],
            expect: &[502],
        },
        Kind {
            name: "trap (component)",
            method: "GET",
            path: "/c/probe?op=trap".into(),
            body: vec![],
            expect: &[500],
        },
        Kind {
            name: "time limit (component spins)",
            method: "GET",
            path: "/c/probe?op=spin".into(),
            body: vec![],
            expect: &[503],
        },
        Kind {
            name: "1 MiB echo (module)",
            method: "POST",
            path: "/probe?mode=binary".into(),
            body: vec![7u8; 1 << 20],
            expect: &[200],
        },
        Kind {
            name: "1 MiB download (component)",
            method: "GET",
            path: "/c/probe?op=big&bytes=1048576".into(),
            body: vec![],
            expect: &[200],
        },
    ]
}

/// Memory and descriptors of a process at one moment.
#[derive(Debug, Clone, Copy)]
struct Footprint {
    rss_kib: u64,
    fds: usize,
}

fn footprint(pid: u32) -> Result<Footprint, String> {
    let rss_kib = status_kib(pid, "VmRSS")?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map_err(|e| format!("cannot list /proc/{pid}/fd: {e}"))?
        .count();
    Ok(Footprint { rss_kib, fds })
}

/// Whether `end` is within the allowed growth from `start`; the reasons when not.
fn leaks(start: Footprint, end: Footprint) -> Vec<String> {
    let mut out = Vec::new();
    let rss_limit = start.rss_kib + start.rss_kib * RSS_GROWTH_PERCENT / 100 + RSS_SLACK_KIB;
    if end.rss_kib > rss_limit {
        out.push(format!(
            "resident memory grew from {} KiB to {} KiB (limit {rss_limit} KiB)",
            start.rss_kib, end.rss_kib
        ));
    }
    if end.fds > start.fds + FD_SLACK {
        out.push(format!(
            "open file descriptors grew from {} to {}",
            start.fds, end.fds
        ));
    }
    out
}

/// Counts per kind: expected outcomes, other statuses, transport errors.
#[derive(Default, Clone)]
struct Tally {
    expected: u64,
    other: Vec<u16>,
    errors: u64,
}

/// Runs the soak for `minutes` (after a warm-up) and fails on a leak.
pub fn run(minutes: u64) -> Result<(), String> {
    let (target, out) = release_build(&["harness"])?;
    let modules = sizes::build_samples(&target, P1)?;
    let components = sizes::build_samples(&target, P2)?;
    build_for(P1, P1_TEST_GUESTS, Some(&target))?;
    build_for(P2, P2_TEST_GUESTS, Some(&target))?;

    let blob_port = free_port()?;
    let config = out.join("soak.toml");
    write_config(
        &config,
        &modules,
        &components,
        blob_port,
        &out.join("soak-cache"),
    )?;
    let harness_bin = target.join("release").join("harness");
    let (harness, _) = start_harness(
        &harness_bin,
        &config,
        &["--emulators"],
        "/hello",
        &out.join("soak.log"),
    )?;

    let kinds = Arc::new(mix());
    let tallies = Arc::new(Mutex::new(vec![Tally::default(); kinds.len()]));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (kinds, tallies, stop, addr) = (
                kinds.clone(),
                tallies.clone(),
                stop.clone(),
                harness.addr.clone(),
            );
            std::thread::spawn(move || {
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let k = &kinds[i % kinds.len()];
                    let reply = send(
                        &addr,
                        k.method,
                        &k.path,
                        &[("Content-Type", "application/octet-stream")],
                        &k.body,
                    );
                    let mut t = tallies.lock().unwrap_or_else(|e| e.into_inner());
                    match reply {
                        Ok(r) if k.expect.contains(&r.status) => t[i % kinds.len()].expected += 1,
                        Ok(r) => t[i % kinds.len()].other.push(r.status),
                        Err(_) => t[i % kinds.len()].errors += 1,
                    }
                    i += 1;
                }
            })
        })
        .collect();

    eprintln!(
        "soak: {CLIENTS} clients, {}s warm-up, then {minutes} min",
        WARM_UP.as_secs()
    );
    std::thread::sleep(WARM_UP);
    let start = footprint(harness.pid())?;
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(minutes * 60));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    // Let timed-out guests and closed connections wind down before the second reading.
    std::thread::sleep(Duration::from_secs(3));
    let end = footprint(harness.pid())?;
    let elapsed = started.elapsed();
    report(
        &kinds,
        &tallies.lock().unwrap_or_else(|e| e.into_inner()),
        start,
        end,
        elapsed,
        &harness,
    );

    let mut problems = leaks(start, end);
    for (k, t) in kinds
        .iter()
        .zip(tallies.lock().unwrap_or_else(|e| e.into_inner()).iter())
    {
        if t.expected == 0 {
            problems.push(format!(
                "no {} request got its expected status {:?}",
                k.name, k.expect
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("soak failed: {}", problems.join("; ")))
    }
}

fn report(
    kinds: &[Kind],
    tallies: &[Tally],
    start: Footprint,
    end: Footprint,
    elapsed: Duration,
    harness: &Proc,
) {
    println!("\n| request | expected | other statuses | transport errors |");
    println!("|---|---:|---|---:|");
    for (k, t) in kinds.iter().zip(tallies) {
        let mut other = t.other.clone();
        other.sort_unstable();
        other.dedup();
        println!(
            "| {} ({}) | {} | {:?} | {} |",
            k.name,
            k.expect
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join("/"),
            t.expected,
            other,
            t.errors
        );
    }
    println!(
        "\nafter the warm-up: RSS {} KiB, {} fds; after {:.0} s more: RSS {} KiB, {} fds; peak RSS {} KiB",
        start.rss_kib,
        start.fds,
        elapsed.as_secs_f64(),
        end.rss_kib,
        end.fds,
        harness.peak_rss_kib().unwrap_or(0)
    );
}

fn write_config(
    path: &Path,
    modules: &Path,
    components: &Path,
    blob_port: u16,
    cache: &Path,
) -> Result<(), String> {
    let m = |name: &str| toml_str(&modules.join(format!("{name}.wasm")));
    let c = |name: &str| toml_str(&components.join(format!("{name}.wasm")));
    let text = format!(
        "# Written by `cargo xtask bench --soak`.\n\n\
         [limits]\nrequest_timeout_secs = 2\n\n\
         [[module]]\nroute = \"/hello\"\nmodule = {hello}\n\n\
         [[module]]\nroute = \"/c/hello\"\nmodule = {hello_c}\n\n\
         {blob}\n\
         [[module]]\nroute = \"/fetch\"\nmodule = {fetch}\n\n\
         [[module]]\nroute = \"/probe\"\nmodule = {probe}\n\n\
         [[module]]\nroute = \"/c/probe\"\nmodule = {probe_c}\n\n\
         [cache]\ndirectory = {cache}\n\n\
         [emulators.blob]\nport = {blob_port}\n\n[emulators.eventgrid]\nport = 0\n\n[emulators.cosmos]\nenabled = false\n",
        hello = m("hello"),
        hello_c = c("hello"),
        blob = blob_module_toml(
            "/blob",
            &modules.join("blob-write.wasm"),
            &format!("127.0.0.1:{blob_port}")
        ),
        fetch = m("fetch"),
        probe = m("cgi-probe"),
        probe_c = c("component-probe"),
        cache = toml_str(cache),
    );
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_within_a_few_percent_passes_and_a_leak_fails() {
        let start = Footprint {
            rss_kib: 100_000,
            fds: 20,
        };
        assert!(leaks(
            start,
            Footprint {
                rss_kib: 104_000,
                fds: 22
            }
        )
        .is_empty());
        let grown = leaks(
            start,
            Footprint {
                rss_kib: 130_000,
                fds: 20,
            },
        );
        assert_eq!(grown.len(), 1, "{grown:?}");
        assert!(grown[0].contains("resident memory"), "{grown:?}");
        assert_eq!(
            leaks(
                start,
                Footprint {
                    rss_kib: 100_000,
                    fds: 200
                }
            )
            .len(),
            1
        );
    }

    #[test]
    fn reads_this_process_footprint() {
        let f = footprint(std::process::id()).unwrap();
        assert!(f.rss_kib > 0 && f.fds >= 3, "{f:?}");
    }

    #[test]
    fn every_kind_of_request_has_a_route_in_the_config() {
        let dir = std::env::temp_dir().join(format!("xtask-soak-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("soak.toml");
        write_config(
            &cfg,
            Path::new("/m"),
            Path::new("/c"),
            1234,
            Path::new("/cache"),
        )
        .unwrap();
        let text = std::fs::read_to_string(&cfg).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        for k in mix() {
            let route = k.path.split('?').next().unwrap();
            assert!(
                text.contains(&format!("route = \"{route}\"")),
                "{route} in {text}"
            );
        }
    }
}
