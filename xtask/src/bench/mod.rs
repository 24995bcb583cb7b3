//! `cargo xtask bench [--quick]`: what users feel, against baselines measured in the same run.
//!
//! Builds the harness and a native hyper server in release, builds the samples as modules
//! (`wasm32-wasip1`, then `wasm-opt -Oz`) and as components (`wasm32-wasip2`; their sizes also
//! after `jco opt` runs `wasm-opt -Oz` inside them, the load runs use them as built), then
//! measures sizes, per-request instantiation (the harness's own `server-timing`), cold start
//! with an empty and a warm compile cache, hello throughput and latency against the native
//! server (and, for the hello component, against `wasmtime serve` with the same pooling
//! allocator), blob-write end to end against the embedded Blob emulator, and the harness's peak
//! RSS. Prints a Markdown table and writes JSON to `<target>/bench/`.

pub mod big;
pub mod dashboard;
pub mod instructions;
mod json;
mod load;
mod previous;
pub mod procs;
mod report;
mod sizes;
pub mod soak;
mod split;
mod stats;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::build::{P1, P2};
use crate::http_client::send;
use load::Load;
use procs::{start_announcing, start_harness, start_wagi, start_wasmtime_serve, Proc};

/// The public key of the storage emulators' development account `devstoreaccount1`.
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Body of each blob-write request.
const BLOB_BYTES: usize = 1024;

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub quick: bool,
    /// Rounds of each load run (the median is reported).
    pub rounds: u32,
    /// Seconds of each load run.
    pub secs: u32,
    /// Launches with an empty cache / with a warm cache.
    pub cold_rounds: u32,
    pub warm_rounds: u32,
    /// Sequential requests for the instantiation percentiles.
    pub hello_samples: u32,
    pub blob_samples: u32,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                rounds: 3,
                secs: 2,
                cold_rounds: 1,
                warm_rounds: 3,
                hello_samples: 300,
                blob_samples: 100,
            }
        } else {
            Self {
                quick,
                rounds: 5,
                secs: 10,
                cold_rounds: 3,
                warm_rounds: 7,
                hello_samples: 2000,
                blob_samples: 500,
            }
        }
    }
}

/// A load scenario measured for the harness and possibly the baselines of the same run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    /// A wasi:http component (`wasm32-wasip2`) rather than a WAGI module.
    pub component: bool,
    pub concurrency: u32,
    pub harness: Load,
    pub native: Option<Load>,
    /// The same component on `wasmtime serve -O pooling-allocator`.
    pub wasmtime_serve: Option<Load>,
    /// The same module on WAGI 0.8 (`--wagi=PATH`).
    pub wagi: Option<Load>,
    /// The same module on another harness binary (`--baseline=PATH`), such as the previous
    /// build: a same-run A/B, where "since the previous run" compares machine states too.
    pub baseline: Option<Load>,
}

impl Scenario {
    /// `hello`, or `hello (component)`.
    pub fn label(&self) -> String {
        if self.component {
            format!("{} (component)", self.name)
        } else {
            self.name.to_string()
        }
    }
}

/// Instantiation percentiles of one module, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inst {
    pub p50_us: f64,
    pub p99_us: f64,
    pub samples: usize,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Results {
    pub plan: Plan,
    pub sizes: Vec<sizes::Size>,
    pub component_sizes: Vec<sizes::ComponentSize>,
    pub inst_hello: Inst,
    pub inst_blob: Inst,
    pub inst_hello_component: Inst,
    pub inst_blob_component: Inst,
    pub cold_ms: Vec<f64>,
    pub warm_ms: Vec<f64>,
    pub scenarios: Vec<Scenario>,
    pub rss_hello_kib: u64,
    pub rss_blob_kib: u64,
    /// Peak RSS of the harness serving the components, after their hello and blob-write loads.
    pub rss_component_kib: u64,
    pub emulator_in_harness: bool,
    /// blob-write's CPU per request in the guest, the host and the emulator, both worlds.
    pub cpu_split: Vec<split::CpuSplit>,
    pub wasm_opt_version: String,
    pub wasmtime_version: String,
}

/// Runs the benchmark (`quick`: a short run, under a minute once everything is built); `wagi`,
/// a WAGI 0.8 binary to serve the hello module beside the harness; `baseline`, another harness
/// binary (say, the previous build) to serve the same modules beside it.
pub fn run(quick: bool, wagi: Option<PathBuf>, baseline: Option<PathBuf>) -> Result<(), String> {
    let plan = Plan::new(quick);
    load::ensure_wrk()?;
    let (target, out) = procs::release_build(&["harness", "bench-native"])?;
    let wasm_dir = sizes::build_samples(&target, P1)?;
    let component_dir = sizes::build_samples(&target, P2)?;
    let wasmtime = crate::tools::wasmtime_cli()?;
    let wasmtime_version =
        crate::tools::version_of(&wasmtime).unwrap_or_else(|| "wasmtime (unknown version)".into());
    let (wasm_opt, wasm_opt_version) = sizes::find_wasm_opt()?;
    // One folder per wasm-opt version, so a new tool never reuses another's output.
    let tool_tag: String = wasm_opt_version
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let opt_dir = out.join("wasm-opt").join(tool_tag);
    eprintln!(
        "optimising with {} ({wasm_opt_version})",
        wasm_opt.display()
    );
    let sizes = sizes::measure(&wasm_opt, &wasm_dir, &opt_dir)?;
    let jco = crate::tools::jco()?;
    let jco_version = crate::tools::version_of(&jco).unwrap_or_else(|| "unknown".into());
    eprintln!(
        "optimising the components with {} {jco_version} (wasm-opt -Oz on each core module inside)",
        jco.display()
    );
    // Per jco version too, for the same reason.
    let jco_tag: String = jco_version
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let component_opt_dir = opt_dir.join(format!("components-jco-{jco_tag}"));
    let component_sizes =
        sizes::measure_components(&jco, &wasm_opt, &component_dir, &component_opt_dir)?;
    let release = target.join("release");
    let harness_bin = release.join("harness");

    let emulator_in_harness = procs::harness_has_flag(&harness_bin, "--emulators");
    let blob_port = procs::free_port()?;
    let _emulator: Option<Proc> = if emulator_in_harness {
        None
    } else {
        eprintln!("`harness serve` has no --emulators switch yet: starting the Blob emulator as its own process");
        Some(start_announcing(
            &release.join("bench-blob-emulator"),
            &[&blob_port.to_string()],
        )?)
    };
    let extra: Vec<&str> = if emulator_in_harness {
        vec!["--emulators"]
    } else {
        vec![]
    };

    let cache = out.join("module-cache");
    let config = out.join("wagi.toml");
    write_config(&config, &opt_dir, blob_port, &cache, emulator_in_harness)?;
    let log = out.join("harness.log");
    // The components run in a second harness process (its own compile cache, no emulators of its
    // own: it writes to the same Blob emulator), so the module figures stay as they were.
    let config_c = out.join("wagi-components.toml");
    write_config(
        &config_c,
        &component_dir,
        blob_port,
        &out.join("component-cache"),
        false,
    )?;
    let log_c = out.join("harness-components.log");

    eprintln!(
        "cold start: {} launch(es) with an empty compile cache, {} with a warm one",
        plan.cold_rounds, plan.warm_rounds
    );
    let mut cold_ms = Vec::new();
    for _ in 0..plan.cold_rounds {
        let _ = std::fs::remove_dir_all(&cache);
        let (h, took) = start_harness(&harness_bin, &config, &extra, "/hello", &log)?;
        cold_ms.push(ms(took));
        h.stop();
    }
    let mut warm_ms = Vec::new();
    for _ in 0..plan.warm_rounds {
        let (h, took) = start_harness(&harness_bin, &config, &extra, "/hello", &log)?;
        warm_ms.push(ms(took));
        h.stop();
    }

    let (harness, _) = start_harness(&harness_bin, &config, &extra, "/hello", &log)?;
    let body = blob_body();
    eprintln!(
        "instantiation: {} sequential hello and {} blob-write requests",
        plan.hello_samples, plan.blob_samples
    );
    let inst_hello = instantiation(&harness.addr, plan.hello_samples, |_| {
        send(&harness.addr, "GET", "/hello", &[], b"")
    })?;
    let inst_blob = instantiation(&harness.addr, plan.blob_samples, |i| {
        send(
            &harness.addr,
            "POST",
            &format!("/blob?container=bench&blob=inst-{}", i % 50),
            &[("Content-Type", "text/plain")],
            &body,
        )
    })?;

    let (harness_c, _) = start_harness(&harness_bin, &config_c, &[], "/hello", &log_c)?;
    eprintln!(
        "instantiation (components): {} sequential hello and {} blob-write requests",
        plan.hello_samples, plan.blob_samples
    );
    let inst_hello_component = instantiation(&harness_c.addr, plan.hello_samples, |_| {
        send(&harness_c.addr, "GET", "/hello", &[], b"")
    })?;
    let inst_blob_component = instantiation(&harness_c.addr, plan.blob_samples, |i| {
        send(
            &harness_c.addr,
            "POST",
            &format!("/blob?container=bench&blob=inst-c-{}", i % 50),
            &[("Content-Type", "text/plain")],
            &body,
        )
    })?;

    let native = start_announcing(&release.join("bench-native"), &["127.0.0.1:0"])?;
    let (wasmtime_serve, _) = start_wasmtime_serve(
        &wasmtime,
        &component_dir.join("hello.wasm"),
        &[],
        "/hello",
        &out.join("wasmtime-serve.log"),
    )?;
    let wagi_server = match &wagi {
        Some(bin) => {
            let modules = out.join("wagi-modules.toml");
            std::fs::write(
                &modules,
                format!(
                    "# Written by `cargo xtask bench` for WAGI.\n\n[[module]]\nroute = \"/hello\"\nmodule = {}\n",
                    toml_str(&opt_dir.join("hello.wasm"))
                ),
            )
            .map_err(|e| format!("{}: {e}", modules.display()))?;
            let (w, _) = start_wagi(bin, &modules, "/hello", &out.join("wagi.log"))?;
            Some(w)
        }
        None => None,
    };
    let baseline_server = match &baseline {
        Some(bin) => {
            // The same modules and routes, its own compile cache, no emulators (its blob route
            // points at the same emulator; only hello is loaded).
            let config_b = out.join("wagi-baseline.toml");
            write_config(
                &config_b,
                &opt_dir,
                blob_port,
                &out.join("baseline-cache"),
                false,
            )?;
            let (b, _) = start_harness(bin, &config_b, &[], "/hello", &out.join("baseline.log"))
                .map_err(|e| format!("the --baseline harness {}: {e}", bin.display()))?;
            Some(b)
        }
        None => None,
    };
    let hello_baseline = baseline_server
        .as_ref()
        .map(|b| format!("http://{}/hello", b.addr));
    let hello_h = format!("http://{}/hello", harness.addr);
    let hello_n = format!("http://{}/hello", native.addr);
    let hello_hc = format!("http://{}/hello", harness_c.addr);
    let hello_w = format!("http://{}/hello", wasmtime_serve.addr);
    eprintln!("warming up the four servers");
    let hello_wagi = wagi_server
        .as_ref()
        .map(|w| format!("http://{}/hello", w.addr));
    for url in [&hello_h, &hello_n, &hello_hc, &hello_w]
        .into_iter()
        .chain(hello_wagi.as_ref())
        .chain(hello_baseline.as_ref())
    {
        load::wrk(url, 32, 1, None)?;
    }
    // The peak RSS figures are for the loads: compiling the guests (a cold cache) is left out.
    for server in [&harness, &harness_c] {
        if let Err(e) = server.reset_peak_rss() {
            eprintln!("{e}; the peak RSS figures include start-up");
        }
    }
    let mut scenarios = Vec::new();
    for concurrency in [1, 16, 32] {
        eprintln!(
            "hello at concurrency {concurrency}: {} rounds of {} s, alternating harness (module), native, harness (component), wasmtime serve{}{}",
            plan.rounds,
            plan.secs,
            if wagi_server.is_some() { ", WAGI" } else { "" },
            if baseline_server.is_some() { ", baseline harness" } else { "" }
        );
        let (mut h, mut n, mut hc, mut w) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut wg, mut bl) = (Vec::new(), Vec::new());
        for _ in 0..plan.rounds {
            let run = |pid: u32, url: &str| load::wrk_on(pid, url, concurrency, plan.secs, None);
            h.push(run(harness.pid(), &hello_h)?);
            n.push(run(native.pid(), &hello_n)?);
            hc.push(run(harness_c.pid(), &hello_hc)?);
            w.push(run(wasmtime_serve.pid(), &hello_w)?);
            if let (Some(server), Some(url)) = (&wagi_server, &hello_wagi) {
                wg.push(run(server.pid(), url)?);
            }
            if let (Some(server), Some(url)) = (&baseline_server, &hello_baseline) {
                bl.push(run(server.pid(), url)?);
            }
        }
        scenarios.push(Scenario {
            name: "hello",
            component: false,
            concurrency,
            harness: load::median(&h),
            native: Some(load::median(&n)),
            wasmtime_serve: None,
            wagi: (!wg.is_empty()).then(|| load::median(&wg)),
            baseline: (!bl.is_empty()).then(|| load::median(&bl)),
        });
        scenarios.push(Scenario {
            name: "hello",
            component: true,
            concurrency,
            harness: load::median(&hc),
            native: Some(load::median(&n)),
            wasmtime_serve: Some(load::median(&w)),
            wagi: None,
            baseline: None,
        });
    }
    native.stop();
    wasmtime_serve.stop();
    if let Some(w) = wagi_server {
        w.stop();
    }
    if let Some(b) = baseline_server {
        b.stop();
    }
    let rss_hello_kib = harness.peak_rss_kib()?;

    let script = out.join("blob-write.lua");
    std::fs::write(&script, wrk_blob_script()).map_err(|e| format!("{}: {e}", script.display()))?;
    let blob_url = format!("http://{}/blob", harness.addr);
    for concurrency in [1, 16] {
        eprintln!(
            "blob-write at concurrency {concurrency}: {} rounds of {} s",
            plan.rounds, plan.secs
        );
        let mut h = Vec::new();
        for _ in 0..plan.rounds {
            h.push(load::wrk_on(
                harness.pid(),
                &blob_url,
                concurrency,
                plan.secs,
                Some(&script),
            )?);
        }
        scenarios.push(Scenario {
            name: "blob-write",
            component: false,
            concurrency,
            harness: load::median(&h),
            native: None,
            wasmtime_serve: None,
            wagi: None,
            baseline: None,
        });
    }
    let rss_blob_kib = harness.peak_rss_kib()?;
    let blob_url_c = format!("http://{}/blob", harness_c.addr);
    for concurrency in [1, 16] {
        eprintln!(
            "blob-write (component) at concurrency {concurrency}: {} rounds of {} s",
            plan.rounds, plan.secs
        );
        let mut h = Vec::new();
        for _ in 0..plan.rounds {
            h.push(load::wrk_on(
                harness_c.pid(),
                &blob_url_c,
                concurrency,
                plan.secs,
                Some(&script),
            )?);
        }
        scenarios.push(Scenario {
            name: "blob-write",
            component: true,
            concurrency,
            harness: load::median(&h),
            native: None,
            wasmtime_serve: None,
            wagi: None,
            baseline: None,
        });
    }
    let rss_component_kib = harness_c.peak_rss_kib()?;
    harness_c.stop();
    harness.stop();
    let cpu_split = split::measure(
        &harness_bin,
        &release.join("bench-blob-emulator"),
        &opt_dir,
        &component_dir,
        &script,
        &out,
        &plan,
    )?;

    let results = Results {
        plan,
        sizes,
        component_sizes,
        inst_hello,
        inst_blob,
        inst_hello_component,
        inst_blob_component,
        cold_ms,
        warm_ms,
        scenarios,
        rss_hello_kib,
        rss_blob_kib,
        rss_component_kib,
        emulator_in_harness,
        cpu_split,
        wasm_opt_version,
        wasmtime_version,
    };
    let kind = if quick { "quick" } else { "full" };
    let figures_path = out.join(format!("latest-{kind}.figures"));
    let figures = previous::figures(&results);
    let table = format!(
        "{}{}",
        report::markdown(&results),
        previous::compare(&previous::read(&figures_path), &figures)
    );
    std::fs::write(&figures_path, previous::render(&figures))
        .map_err(|e| format!("{}: {e}", figures_path.display()))?;
    println!("{table}");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let json = report::json(&results, stamp).pretty();
    for name in [
        format!("{kind}-{stamp}.json"),
        format!("latest-{kind}.json"),
    ] {
        let p = out.join(name);
        std::fs::write(&p, &json).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let dashboard = dashboard::measure(&harness_bin, &opt_dir, &out, &plan)?.line();
    println!("{dashboard}");
    let md = out.join(format!("latest-{kind}.md"));
    std::fs::write(&md, format!("{table}\n{dashboard}\n"))
        .map_err(|e| format!("{}: {e}", md.display()))?;
    eprintln!(
        "wrote {} and {}",
        out.join(format!("latest-{kind}.json")).display(),
        md.display()
    );
    let errors: u64 = results.scenarios.iter().map(|s| s.harness.errors).sum();
    if errors > 0 {
        return Err(format!(
            "{errors} request(s) failed under load (non-2xx answers or socket errors); see {} and {}",
            log.display(),
            log_c.display()
        ));
    }
    match report::min_vs_wasmtime_serve(&results) {
        Some(r) if r < report::VS_WASMTIME_SERVE => Err(format!(
            "component hello on the harness ran at {r:.2}x of `wasmtime serve` in this run: it must not be slower (see the table above)"
        )),
        _ => Ok(()),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn blob_body() -> Vec<u8> {
    b"0123456789abcdef"
        .iter()
        .copied()
        .cycle()
        .take(BLOB_BYTES)
        .collect()
}

/// A wrk script: POST a 1 KiB text body to 100 rotating blob names.
fn wrk_blob_script() -> String {
    format!(
        "-- Written by `cargo xtask bench`.\n\
         wrk.method = \"POST\"\n\
         wrk.body = string.rep(\"0123456789abcdef\", {})\n\
         wrk.headers[\"Content-Type\"] = \"text/plain\"\n\
         local n = 0\n\
         request = function()\n  n = n + 1\n  return wrk.format(nil, \"/blob?container=bench&blob=load-\" .. (n % 100))\nend\n",
        BLOB_BYTES / 16
    )
}

/// Sends `count` sequential requests and collects the `instantiate` of `server-timing`.
fn instantiation(
    addr: &str,
    count: u32,
    mut send_one: impl FnMut(u32) -> Result<crate::http_client::Reply, String>,
) -> Result<Inst, String> {
    let mut values = Vec::with_capacity(count as usize);
    for i in 0..count {
        let reply = send_one(i)?;
        if !(200..300).contains(&reply.status) {
            return Err(format!(
                "http://{addr} answered {} during the instantiation run: {}",
                reply.status,
                reply.text().trim()
            ));
        }
        let timing = reply.header("server-timing").ok_or_else(|| {
            format!("http://{addr} sent no server-timing header; is this the harness?")
        })?;
        values.push(instantiate_us(timing).ok_or_else(|| {
            format!("cannot read the instantiate duration in server-timing {timing:?}")
        })?);
    }
    Ok(Inst {
        p50_us: stats::percentile(&values, 50.0),
        p99_us: stats::percentile(&values, 99.0),
        samples: values.len(),
    })
}

/// `instantiate;dur=<ms>` of a `server-timing` value, in microseconds.
fn instantiate_us(header: &str) -> Option<f64> {
    header.split(',').find_map(|metric| {
        let mut parts = metric.trim().split(';');
        if parts.next()? != "instantiate" {
            return None;
        }
        parts
            .find_map(|p| p.trim().strip_prefix("dur="))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|ms| ms * 1e3)
    })
}

/// A `[[module]]` routed at `route` for `wasm`, with the Blob emulator at `blob_addr`
/// (`127.0.0.1:<port>`) allowed and the development account's settings in its environment.
fn blob_module_toml(route: &str, wasm: &Path, blob_addr: &str) -> String {
    format!(
        "[[module]]\nroute = \"{route}\"\nmodule = {}\n\
         allowed_hosts = [\"http://{blob_addr}\"]\n\
         environment = {{ STORAGE_ACCOUNT = \"devstoreaccount1\", STORAGE_MASTER_KEY = \"{DEV_KEY}\", STORAGE_ENDPOINT = \"http://{blob_addr}/devstoreaccount1\" }}\n",
        toml_str(wasm)
    )
}

fn toml_str(p: &Path) -> String {
    let s = p.display().to_string();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn write_config(
    path: &Path,
    wasm: &Path,
    blob_port: u16,
    cache: &Path,
    emulators: bool,
) -> Result<(), String> {
    let module = |name: &str| toml_str(&wasm.join(format!("{name}.wasm")));
    let mut text = format!(
        "# Written by `cargo xtask bench`.\n\n\
         [[module]]\nroute = \"/hello\"\nmodule = {hello}\n\n\
         {blob}\n\
         [cache]\ndirectory = {cache}\n",
        hello = module("hello"),
        blob = blob_module_toml(
            "/blob",
            &wasm.join("blob-write.wasm"),
            &format!("127.0.0.1:{blob_port}")
        ),
        cache = toml_str(cache),
    );
    if emulators {
        text.push_str(&format!(
            "\n[emulators.blob]\nport = {blob_port}\n\n[emulators.eventgrid]\nport = 0\n\n[emulators.cosmos]\nenabled = false\n"
        ));
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_instantiate_from_server_timing() {
        assert_eq!(
            instantiate_us("instantiate;dur=0.015, run;dur=0.300"),
            Some(15.0)
        );
        assert_eq!(instantiate_us("run;dur=1"), None);
        assert_eq!(instantiate_us("instantiate;dur=x"), None);
    }

    #[test]
    fn the_blob_script_posts_the_same_size_as_the_sequential_run() {
        let s = wrk_blob_script();
        assert!(s.contains("string.rep(\"0123456789abcdef\", 64)"), "{s}");
        assert_eq!(blob_body().len(), BLOB_BYTES);
    }

    #[test]
    fn the_config_routes_both_modules() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("wagi.toml");
        write_config(&cfg, Path::new("/w"), 1234, Path::new("/c"), true).unwrap();
        let text = std::fs::read_to_string(&cfg).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(text.contains("module = \"/w/hello.wasm\""), "{text}");
        assert!(
            text.contains("allowed_hosts = [\"http://127.0.0.1:1234\"]"),
            "{text}"
        );
        assert!(text.contains("directory = \"/c\""), "{text}");
        assert!(text.contains("[emulators.blob]\nport = 1234"), "{text}");
    }
}
