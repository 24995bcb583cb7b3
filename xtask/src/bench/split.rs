//! Where a blob-write request's CPU time goes: in the guest (WebAssembly), in the harness around
//! it (the host: HTTP, WASI, the outbound client), and in the Blob emulator; and how many
//! outbound connections the harness opened per request (its keep-alive pool should make that
//! close to 0).
//!
//! The emulator runs as its own process here, so its CPU time is its own; the guest's comes
//! from the harness's `harness_guest_cpu_seconds_total` (`[dashboard] guest_cpu = true`), the
//! host's is the harness process's CPU time minus the guest's.

use std::path::Path;

use super::load::{self, Usage};
use super::procs::{self, start_announcing, start_harness, Proc};
use super::{blob_module_toml, toml_str, Plan};
use crate::http_client::send;

/// Concurrency of the measured load.
const CONCURRENCY: u32 = 16;

/// One world's split, per request.
#[derive(Debug, Clone, Default)]
pub struct CpuSplit {
    /// `module` or `component`.
    pub world: &'static str,
    pub requests: u64,
    pub rps: f64,
    pub guest_us: f64,
    pub host_us: f64,
    pub emulator_us: f64,
    /// Outbound connections the harness opened per request.
    pub connections_per_request: f64,
}

/// Runs blob-write at concurrency 16 for the module (`module_dir/blob-write.wasm`) and the
/// component (`component_dir/blob-write.wasm`), each in a harness measuring its guest's CPU.
pub fn measure(
    harness_bin: &Path,
    emulator_bin: &Path,
    module_dir: &Path,
    component_dir: &Path,
    script: &Path,
    out: &Path,
    plan: &Plan,
) -> Result<Vec<CpuSplit>, String> {
    let port = procs::free_port()?;
    let emulator = start_announcing(emulator_bin, &[&port.to_string()])?;
    let mut splits = Vec::new();
    for (world, dir) in [("module", module_dir), ("component", component_dir)] {
        eprintln!(
            "blob-write CPU split ({world}): {} rounds of {} s at concurrency {CONCURRENCY}",
            plan.rounds, plan.secs
        );
        let config = out.join(format!("split-{world}.toml"));
        write_config(
            &config,
            &dir.join("blob-write.wasm"),
            port,
            &out.join(format!("split-cache-{world}")),
        )?;
        let log = out.join(format!("split-{world}.log"));
        let (harness, _) = start_harness(harness_bin, &config, &[], "/healthz", &log)?;
        let url = format!("http://{}/blob", harness.addr);
        load::wrk(&url, CONCURRENCY, 1, Some(script))?;
        let mut rounds = Vec::new();
        for _ in 0..plan.rounds {
            rounds.push(one_round(
                &harness, &emulator, &url, script, plan.secs, world,
            )?);
        }
        rounds.sort_by(|a, b| (a.guest_us + a.host_us).total_cmp(&(b.guest_us + b.host_us)));
        splits.push(rounds.swap_remove(rounds.len() / 2));
        harness.stop();
    }
    emulator.stop();
    Ok(splits)
}

fn one_round(
    harness: &Proc,
    emulator: &Proc,
    url: &str,
    script: &Path,
    secs: u32,
    world: &'static str,
) -> Result<CpuSplit, String> {
    let before = Counters::read(harness, emulator)?;
    let run = load::wrk(url, CONCURRENCY, secs, Some(script))?;
    let after = Counters::read(harness, emulator)?;
    if run.errors > 0 {
        return Err(format!(
            "{} blob-write request(s) failed during the CPU split ({world})",
            run.errors
        ));
    }
    // The harness's own count, not wrk's: requests wrk cut at the end still cost CPU.
    let requests = after.requests.saturating_sub(before.requests).max(1);
    let per = |x: f64| x * 1e6 / requests as f64;
    let harness_s = after.harness.cpu_seconds - before.harness.cpu_seconds;
    let guest_s = after.guest_seconds - before.guest_seconds;
    Ok(CpuSplit {
        world,
        requests,
        rps: run.rps,
        guest_us: per(guest_s),
        host_us: per(harness_s - guest_s),
        emulator_us: per(after.emulator.cpu_seconds - before.emulator.cpu_seconds),
        connections_per_request: after.connections.saturating_sub(before.connections) as f64
            / requests as f64,
    })
}

/// What the harness and the emulator report at one moment.
struct Counters {
    harness: Usage,
    emulator: Usage,
    guest_seconds: f64,
    connections: u64,
    requests: u64,
}

impl Counters {
    fn read(harness: &Proc, emulator: &Proc) -> Result<Self, String> {
        let reply = send(&harness.addr, "GET", "/metrics", &[], b"")?;
        let text = reply.text();
        let harness_usage = load::process_usage(harness.pid())
            .ok_or("cannot read the harness's /proc/<pid>/stat")?;
        let emulator_usage = load::process_usage(emulator.pid())
            .ok_or("cannot read the emulator's /proc/<pid>/stat")?;
        let guest_seconds = metric(&text, "harness_guest_cpu_seconds_total{route=\"/blob\"}")
            .ok_or("the harness reports no harness_guest_cpu_seconds_total for /blob: is [dashboard] guest_cpu on?")?;
        let connections = metric(&text, "harness_outbound_connections_total{route=\"/blob\"}")
            .ok_or("the harness reports no harness_outbound_connections_total for /blob")?;
        Ok(Self {
            harness: harness_usage,
            emulator: emulator_usage,
            guest_seconds,
            connections: connections as u64,
            requests: requests_of(&text, "/blob"),
        })
    }
}

/// The value of the sample named exactly `series` (name and labels) in Prometheus text.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// `harness_requests_total` of `route`, summed over statuses.
fn requests_of(text: &str, route: &str) -> u64 {
    let prefix = format!("harness_requests_total{{route=\"{route}\",");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn write_config(path: &Path, wasm: &Path, blob_port: u16, cache: &Path) -> Result<(), String> {
    let text = format!(
        "# Written by `cargo xtask bench` (CPU split).\n\n\
         {blob}\n\
         [cache]\ndirectory = {cache}\n\n\
         [dashboard]\nguest_cpu = true\n",
        blob = blob_module_toml("/blob", wasm, &format!("127.0.0.1:{blob_port}")),
        cache = toml_str(cache),
    );
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "# TYPE harness_requests_total counter\n\
        harness_requests_total{route=\"/blob\",status=\"201\"} 1200\n\
        harness_requests_total{route=\"/blob\",status=\"503\"} 3\n\
        harness_requests_total{route=\"/blobs\",status=\"201\"} 7\n\
        harness_outbound_connections_total{route=\"/blob\"} 16\n\
        harness_guest_cpu_seconds_total{route=\"/blob\"} 0.250000000\n";

    #[test]
    fn reads_the_series_it_needs_from_metrics() {
        assert_eq!(
            metric(METRICS, "harness_guest_cpu_seconds_total{route=\"/blob\"}"),
            Some(0.25)
        );
        assert_eq!(
            metric(
                METRICS,
                "harness_outbound_connections_total{route=\"/blob\"}"
            ),
            Some(16.0)
        );
        assert_eq!(metric(METRICS, "harness_missing{route=\"/blob\"}"), None);
        // Every status of the route, and not the route that only starts the same.
        assert_eq!(requests_of(METRICS, "/blob"), 1203);
    }

    #[test]
    fn the_config_turns_guest_cpu_on() {
        let dir = std::env::temp_dir().join(format!("xtask-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("split.toml");
        write_config(&cfg, Path::new("/w/blob-write.wasm"), 9, Path::new("/c")).unwrap();
        let text = std::fs::read_to_string(&cfg).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(text.contains("[dashboard]\nguest_cpu = true\n"), "{text}");
        assert!(text.contains("module = \"/w/blob-write.wasm\""), "{text}");
        assert!(
            text.contains("http://127.0.0.1:9/devstoreaccount1"),
            "{text}"
        );
    }
}
