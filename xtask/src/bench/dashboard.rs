//! What the dashboard and `/metrics` cost the request path: hello throughput of two harness
//! processes serving the same module in the same run, one with `[dashboard] enabled = true`
//! (and a live viewer on its event stream, so every record is broadcast) and one with
//! `enabled = false`, in alternating rounds.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;

use super::load::{self, Load};
use super::procs::{start_harness, Proc};
use super::{toml_str, Plan};

/// Concurrency of the comparison (the throughput table's busier column).
const CONCURRENCY: u32 = 32;

/// Medians of both sides.
pub struct Cost {
    pub on: Load,
    pub off: Load,
}

impl Cost {
    /// Throughput with the dashboard on, as a share of off.
    pub fn ratio(&self) -> f64 {
        if self.off.rps > 0.0 {
            self.on.rps / self.off.rps
        } else {
            0.0
        }
    }

    /// One line for the report.
    pub fn line(&self) -> String {
        format!(
            "hello at concurrency {CONCURRENCY}, dashboard + /metrics on (one live viewer) vs off: {:.0} vs {:.0} req/s ({:.1}%), p99 {:.2} vs {:.2} ms",
            self.on.rps,
            self.off.rps,
            self.ratio() * 100.0,
            self.on.p99_ms,
            self.off.p99_ms
        )
    }
}

/// Measures hello (from `wasm_dir`) in two harness processes of `harness_bin`, configs and logs
/// under `out`.
pub fn measure(
    harness_bin: &Path,
    wasm_dir: &Path,
    out: &Path,
    plan: &Plan,
) -> Result<Cost, String> {
    let start = |enabled: bool| -> Result<Proc, String> {
        let name = if enabled {
            "dashboard-on"
        } else {
            "dashboard-off"
        };
        let config = out.join(format!("{name}.toml"));
        let text = format!(
            "# Written by `cargo xtask bench`.\n\n[[module]]\nroute = \"/hello\"\nmodule = {}\n\n[cache]\ndirectory = {}\n\n[dashboard]\nenabled = {enabled}\n",
            toml_str(&wasm_dir.join("hello.wasm")),
            toml_str(&out.join("module-cache")),
        );
        std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
        let (proc, _) = start_harness(
            harness_bin,
            &config,
            &[],
            "/hello",
            &out.join(format!("{name}.log")),
        )?;
        Ok(proc)
    };
    let on = start(true)?;
    let off = start(false)?;
    let _viewer = watch_events(&on.addr)?;
    eprintln!(
        "dashboard cost: hello at concurrency {CONCURRENCY}, {} alternating rounds of {} s with the dashboard on and off",
        plan.rounds, plan.secs
    );
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..plan.rounds {
        with.push(load::wrk(
            &format!("http://{}/hello", on.addr),
            CONCURRENCY,
            plan.secs,
            None,
        )?);
        without.push(load::wrk(
            &format!("http://{}/hello", off.addr),
            CONCURRENCY,
            plan.secs,
            None,
        )?);
    }
    let metrics = crate::http_client::send(&on.addr, "GET", "/metrics", &[], b"")?;
    if metrics.status != 200
        || !metrics
            .text()
            .contains("harness_requests_total{route=\"/hello\",status=\"200\"}")
    {
        return Err(format!(
            "the dashboard-on harness did not count its requests: {} {}",
            metrics.status,
            metrics.text()
        ));
    }
    on.stop();
    off.stop();
    Ok(Cost {
        on: load::median(&with),
        off: load::median(&without),
    })
}

/// A reader of the dashboard's event stream on its own thread; it ends when the harness stops.
fn watch_events(addr: &str) -> Result<std::thread::JoinHandle<()>, String> {
    use std::io::Write;
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .write_all(b"GET /_harness/api/events HTTP/1.1\r\nhost: bench\r\n\r\n")
        .map_err(|e| format!("the event stream: {e}"))?;
    Ok(std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    }))
}

/// `cargo xtask bench --dashboard [--quick]`: only this comparison (the release harness and the
/// hello module as built, without wasm-opt).
pub fn run(quick: bool) -> Result<(), String> {
    let plan = Plan::new(quick);
    load::ensure_wrk()?;
    let (target, out) = super::procs::release_build(&["harness"])?;
    let wasm_dir = super::sizes::build_samples(&target, crate::build::P1)?;
    let cost = measure(
        &target.join("release").join("harness"),
        &wasm_dir,
        &out,
        &plan,
    )?;
    println!("{}", cost.line());
    Ok(())
}
