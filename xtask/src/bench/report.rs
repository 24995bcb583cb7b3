//! The Markdown table and the JSON document of a benchmark run.

use super::json::Json;
use super::load::Load;
use super::stats::median;
use super::{Results, Scenario};

/// The targets of the performance issues (round 2 for speed, issue 10 for size).
const HELLO_INST_US: f64 = 5.0;
const BLOB_INST_US: f64 = 20.0;
const HELLO_RATIO: f64 = 0.30;
const BLOB_OPT_BYTES: u64 = 600_000;
const WARM_START_MS: f64 = 10.0;
/// hello on the harness vs the same module on WAGI 0.8 (when `--wagi` is given).
const VS_WAGI: f64 = 5.0;
/// Component hello on the harness vs the same component on `wasmtime serve`.
pub const VS_WASMTIME_SERVE: f64 = 1.0;

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn mib_from_kib(k: u64) -> String {
    format!("{:.1} MiB", k as f64 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "missed"
    }
}

fn ratio(s: &Scenario) -> Option<f64> {
    s.native
        .filter(|n| n.rps > 0.0)
        .map(|n| s.harness.rps / n.rps)
}

fn ratio_vs_wasmtime(s: &Scenario) -> Option<f64> {
    s.wasmtime_serve
        .filter(|w| w.rps > 0.0)
        .map(|w| s.harness.rps / w.rps)
}

fn ratio_vs_wagi(s: &Scenario) -> Option<f64> {
    s.wagi
        .filter(|w| w.rps > 0.0)
        .map(|w| s.harness.rps / w.rps)
}

fn ratio_vs_baseline(s: &Scenario) -> Option<f64> {
    s.baseline
        .filter(|b| b.rps > 0.0)
        .map(|b| s.harness.rps / b.rps)
}

fn percent(x: Option<f64>) -> String {
    x.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn load_cells(l: &Load) -> String {
    format!("{:.0} | {:.3} ms | {:.3} ms", l.rps, l.p50_ms, l.p99_ms)
}

fn optimised(r: &Results, sample: &str) -> Option<u64> {
    r.sizes
        .iter()
        .find(|s| s.sample == sample)
        .map(|s| s.optimised)
}

/// The report as Markdown.
pub fn markdown(r: &Results) -> String {
    let mut o = String::new();
    let p = &r.plan;
    o.push_str(&format!(
        "## cargo xtask bench{} — {} round(s) of {} s per load figure (medians), wrk over loopback\n\n",
        if p.quick { " --quick" } else { "" },
        p.rounds,
        p.secs
    ));
    o.push_str(&format!("### Module size ({})\n\n", r.wasm_opt_version));
    o.push_str("| sample | release .wasm | wasm-opt -Oz | gzip -9 |\n|---|---:|---:|---:|\n");
    for s in &r.sizes {
        o.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            s.sample,
            kib(s.release),
            kib(s.optimised),
            kib(s.gzip)
        ));
    }
    o.push_str(&format!("\n### Component size (wasm32-wasip2: as built with opt-level z + LTO, then `jco opt` running {} -Oz on each core module inside)\n\n| sample | component | gzip -9 | wasm-opt -Oz | gzip -9 |\n|---|---:|---:|---:|---:|\n", r.wasm_opt_version));
    for s in &r.component_sizes {
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            s.sample,
            kib(s.built),
            kib(s.gzip),
            kib(s.optimised),
            kib(s.optimised_gzip)
        ));
    }
    o.push_str("\n### Instantiation per request (harness `server-timing`, warm cache)\n\n| guest | p50 | p99 | requests |\n|---|---:|---:|---:|\n");
    for (name, i) in [
        ("hello", r.inst_hello),
        ("blob-write", r.inst_blob),
        ("hello (component)", r.inst_hello_component),
        ("blob-write (component)", r.inst_blob_component),
    ] {
        o.push_str(&format!(
            "| {name} | {:.1} µs | {:.1} µs | {} |\n",
            i.p50_us, i.p99_us, i.samples
        ));
    }
    o.push_str(&format!(
        "\n### Cold start (launch of `harness serve` to first 200 on /hello; hello + blob-write routed)\n\n| compile cache | median | launches |\n|---|---:|---:|\n| empty | {:.1} ms | {} |\n| warm | {:.1} ms | {} |\n",
        median(r.cold_ms.clone()),
        r.cold_ms.len(),
        median(r.warm_ms.clone()),
        r.warm_ms.len()
    ));
    o.push_str("\n### Throughput and latency\n\n| scenario | concurrency | harness req/s | p50 | p99 | native req/s | p50 | p99 | harness / native | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in &r.scenarios {
        let native = match &s.native {
            Some(n) => load_cells(n),
            None => "– | – | –".into(),
        };
        let rat = percent(ratio(s));
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            s.label(),
            s.concurrency,
            load_cells(&s.harness),
            native,
            rat,
            s.harness.errors
        ));
    }
    let compared: Vec<&Scenario> = r
        .scenarios
        .iter()
        .filter(|s| s.wasmtime_serve.is_some())
        .collect();
    if !compared.is_empty() {
        o.push_str(&format!(
            "\n### Components: our harness vs `wasmtime serve -O pooling-allocator` ({}), same component, same run\n\n| scenario | concurrency | harness req/s | p50 | p99 | wasmtime serve req/s | p50 | p99 | harness / wasmtime serve | failed (wasmtime serve) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            r.wasmtime_version
        ));
        for s in compared {
            if let Some(w) = &s.wasmtime_serve {
                o.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    s.label(),
                    s.concurrency,
                    load_cells(&s.harness),
                    load_cells(w),
                    percent(ratio_vs_wasmtime(s)),
                    w.errors
                ));
            }
        }
    }
    let with_wagi: Vec<&Scenario> = r.scenarios.iter().filter(|s| s.wagi.is_some()).collect();
    if !with_wagi.is_empty() {
        o.push_str("\n### Modules: our harness vs WAGI 0.8 (`--wagi`), same module, same run\n\n| scenario | concurrency | harness req/s | p50 | p99 | WAGI req/s | p50 | p99 | harness / WAGI | harness CPU | WAGI CPU |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for s in with_wagi {
            if let Some(w) = &s.wagi {
                o.push_str(&format!(
                    "| {} | {} | {} | {} | {:.1}x | {:.1} µs | {:.1} µs |\n",
                    s.label(),
                    s.concurrency,
                    load_cells(&s.harness),
                    load_cells(w),
                    ratio_vs_wagi(s).unwrap_or(0.0),
                    s.harness.cpu_us,
                    w.cpu_us
                ));
            }
        }
    }
    let with_baseline: Vec<&Scenario> = r
        .scenarios
        .iter()
        .filter(|s| s.baseline.is_some())
        .collect();
    if !with_baseline.is_empty() {
        o.push_str("\n### This harness vs the baseline harness (`--baseline`), same module, same run (read this, not \"since the previous run\", for what a change did)\n\n| scenario | concurrency | harness req/s | p50 | p99 | baseline req/s | p50 | p99 | harness / baseline | harness CPU | baseline CPU | CPU change |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for s in with_baseline {
            if let Some(b) = &s.baseline {
                let change = if b.cpu_us > 0.0 {
                    format!("{:+.1}%", (s.harness.cpu_us / b.cpu_us - 1.0) * 100.0)
                } else {
                    "–".into()
                };
                o.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {:.1} µs | {:.1} µs | {} |\n",
                    s.label(),
                    s.concurrency,
                    load_cells(&s.harness),
                    load_cells(b),
                    percent(ratio_vs_baseline(s)),
                    s.harness.cpu_us,
                    b.cpu_us,
                    change
                ));
            }
        }
    }
    o.push_str("\n### CPU time and page faults per request (the server process's user + system CPU and minor faults over the load run / requests)\n\nThese are the figures to compare between runs: they hardly move when other work shares the machine, where req/s does. A page fault is a page touched for the first time since it was mapped or reset: for the harness, mostly the guest's fresh memory. `wrk` shares the machine's cores with the server, so req/s is bounded by server CPU plus `wrk` CPU per request; `wrk` costs more per request against a slower server, which finds it asleep (each response then pays a wake-up on both sides).\n\n| scenario | concurrency | harness CPU | faults | wrk CPU (vs harness) | native hyper CPU | wrk CPU (vs native) | wasmtime serve CPU | faults |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let cpu = |l: Option<&Load>| match l {
        Some(l) if l.cpu_us > 0.0 => format!("{:.1} µs", l.cpu_us),
        _ => "–".into(),
    };
    let faults = |l: Option<&Load>| match l {
        Some(l) if l.cpu_us > 0.0 => format!("{:.1}", l.faults),
        _ => "–".into(),
    };
    let client = |l: Option<&Load>| match l {
        Some(l) if l.client_cpu_us > 0.0 => format!("{:.1} µs", l.client_cpu_us),
        _ => "–".into(),
    };
    for s in &r.scenarios {
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            s.label(),
            s.concurrency,
            cpu(Some(&s.harness)),
            faults(Some(&s.harness)),
            client(Some(&s.harness)),
            cpu(s.native.as_ref()),
            client(s.native.as_ref()),
            cpu(s.wasmtime_serve.as_ref()),
            faults(s.wasmtime_serve.as_ref())
        ));
    }
    if !r.cpu_split.is_empty() {
        o.push_str("\n### blob-write: CPU per request in the guest, the host and the emulator (concurrency 16; Blob emulator in its own process; guest time from the harness's call hooks, `[dashboard] guest_cpu`)\n\n| world | req/s | guest | host (harness minus guest) | emulator | outbound connections opened per request |\n|---|---:|---:|---:|---:|---:|\n");
        for c in &r.cpu_split {
            o.push_str(&format!(
                "| {} | {:.0} | {:.1} µs | {:.1} µs | {:.1} µs | {:.4} |\n",
                c.world, c.rps, c.guest_us, c.host_us, c.emulator_us, c.connections_per_request
            ));
        }
    }
    o.push_str(&format!(
        "\n### Peak RSS of the harness process (VmHWM, restarted after start-up and warm-up, so compiling the guests is not counted)\n\n| after | peak RSS |\n|---|---:|\n| hello load | {} |\n| blob-write load{} | {} |\n| components: hello and blob-write loads (second harness process, emulator elsewhere) | {} |\n",
        mib_from_kib(r.rss_hello_kib),
        if r.emulator_in_harness {
            " (Blob emulator in the same process)"
        } else {
            " (Blob emulator in its own process)"
        },
        mib_from_kib(r.rss_blob_kib),
        mib_from_kib(r.rss_component_kib)
    ));
    o.push_str("\n### Targets and the article's figures\n\n| what | article | target | measured | |\n|---|---:|---:|---:|---|\n");
    let hello_at = |c: u32| {
        r.scenarios
            .iter()
            .find(|s| s.name == "hello" && !s.component && s.concurrency == c)
    };
    let hello16 = hello_at(16).and_then(ratio).unwrap_or(0.0);
    let hello32 = hello_at(32).and_then(ratio).unwrap_or(0.0);
    let vs_serve = min_vs_wasmtime_serve(r).unwrap_or(0.0);
    let blob_opt = optimised(r, "blob-write").unwrap_or(u64::MAX);
    let warm = median(r.warm_ms.clone());
    let rows = [
        (
            "hello instantiation p50",
            "2.5 ms".to_string(),
            format!("≤ {HELLO_INST_US} µs"),
            format!("{:.1} µs", r.inst_hello.p50_us),
            r.inst_hello.p50_us <= HELLO_INST_US,
        ),
        (
            "blob-write instantiation p50",
            "10.6 ms".to_string(),
            format!("≤ {BLOB_INST_US} µs"),
            format!("{:.1} µs", r.inst_blob.p50_us),
            r.inst_blob.p50_us <= BLOB_INST_US,
        ),
        (
            "hello req/s vs native, c=16",
            "–".to_string(),
            format!("≥ {:.0}%", HELLO_RATIO * 100.0),
            format!("{:.0}%", hello16 * 100.0),
            hello16 >= HELLO_RATIO,
        ),
        (
            "hello req/s vs native, c=32",
            "–".to_string(),
            format!("≥ {:.0}%", HELLO_RATIO * 100.0),
            format!("{:.0}%", hello32 * 100.0),
            hello32 >= HELLO_RATIO,
        ),
        (
            "blob-write after wasm-opt",
            "2.3 MB".to_string(),
            "≤ 600 KB".to_string(),
            format!("{:.0} KB", blob_opt as f64 / 1000.0),
            blob_opt <= BLOB_OPT_BYTES,
        ),
        (
            "cold start, warm cache",
            "–".to_string(),
            format!("< {WARM_START_MS} ms"),
            format!("{warm:.1} ms"),
            warm < WARM_START_MS,
        ),
        (
            "component hello vs wasmtime serve (lowest)",
            "–".to_string(),
            format!("≥ {VS_WASMTIME_SERVE:.1}x"),
            format!("{vs_serve:.2}x"),
            vs_serve >= VS_WASMTIME_SERVE,
        ),
    ];
    let mut rows = rows.to_vec();
    for c in [16, 32] {
        if let Some(x) = hello_at(c).and_then(ratio_vs_wagi) {
            rows.push((
                if c == 16 {
                    "hello req/s vs WAGI 0.8, c=16"
                } else {
                    "hello req/s vs WAGI 0.8, c=32"
                },
                "–".to_string(),
                format!("≥ {VS_WAGI:.0}x"),
                format!("{x:.1}x"),
                x >= VS_WAGI,
            ));
        }
    }
    for (what, article, target, measured, ok) in rows {
        o.push_str(&format!(
            "| {what} | {article} | {target} | {measured} | {} |\n",
            verdict(ok)
        ));
    }
    o
}

/// The lowest ratio of component hello on the harness to `wasmtime serve` over the measured
/// concurrencies; `None` when nothing was compared.
pub fn min_vs_wasmtime_serve(r: &Results) -> Option<f64> {
    r.scenarios
        .iter()
        .filter_map(ratio_vs_wasmtime)
        .min_by(f64::total_cmp)
}

fn load_json(l: &Load) -> Json {
    Json::obj([
        ("requests_per_sec", Json::Num(l.rps)),
        ("p50_ms", Json::Num(l.p50_ms)),
        ("p99_ms", Json::Num(l.p99_ms)),
        ("requests", Json::Num(l.requests as f64)),
        ("failed", Json::Num(l.errors as f64)),
        ("cpu_us_per_request", Json::Num(l.cpu_us)),
        ("page_faults_per_request", Json::Num(l.faults)),
        ("wrk_cpu_us_per_request", Json::Num(l.client_cpu_us)),
    ])
}

fn inst_json(i: &super::Inst) -> Json {
    Json::obj([
        ("p50", Json::Num(i.p50_us)),
        ("p99", Json::Num(i.p99_us)),
        ("requests", Json::Num(i.samples as f64)),
    ])
}

/// The report as JSON.
pub fn json(r: &Results, unix_time: u64) -> Json {
    let p = &r.plan;
    Json::obj([
        ("unix_time", Json::Num(unix_time as f64)),
        (
            "plan",
            Json::obj([
                ("quick", Json::Bool(p.quick)),
                ("rounds", Json::Num(p.rounds.into())),
                ("seconds_per_round", Json::Num(p.secs.into())),
                ("load_generator", Json::Str("wrk".into())),
                ("wasm_opt", Json::Str(r.wasm_opt_version.clone())),
                ("wasmtime_serve", Json::Str(r.wasmtime_version.clone())),
            ]),
        ),
        (
            "sizes",
            Json::Arr(
                r.sizes
                    .iter()
                    .map(|s| {
                        Json::obj([
                            ("sample", Json::Str(s.sample.clone())),
                            ("release_bytes", Json::Num(s.release as f64)),
                            ("wasm_opt_oz_bytes", Json::Num(s.optimised as f64)),
                            ("gzip_bytes", Json::Num(s.gzip as f64)),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "component_sizes",
            Json::Arr(
                r.component_sizes
                    .iter()
                    .map(|s| {
                        Json::obj([
                            ("sample", Json::Str(s.sample.clone())),
                            ("as_built_bytes", Json::Num(s.built as f64)),
                            ("gzip_bytes", Json::Num(s.gzip as f64)),
                            ("wasm_opt_oz_bytes", Json::Num(s.optimised as f64)),
                            ("wasm_opt_oz_gzip_bytes", Json::Num(s.optimised_gzip as f64)),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "instantiation_us",
            Json::obj([
                ("hello", inst_json(&r.inst_hello)),
                ("blob-write", inst_json(&r.inst_blob)),
                ("hello-component", inst_json(&r.inst_hello_component)),
                ("blob-write-component", inst_json(&r.inst_blob_component)),
            ]),
        ),
        (
            "cold_start_ms",
            Json::obj([
                ("empty_cache_median", Json::Num(median(r.cold_ms.clone()))),
                ("warm_cache_median", Json::Num(median(r.warm_ms.clone()))),
                (
                    "empty_cache",
                    Json::Arr(r.cold_ms.iter().map(|v| Json::Num(*v)).collect()),
                ),
                (
                    "warm_cache",
                    Json::Arr(r.warm_ms.iter().map(|v| Json::Num(*v)).collect()),
                ),
            ]),
        ),
        (
            "load",
            Json::Arr(
                r.scenarios
                    .iter()
                    .map(|s| {
                        Json::obj([
                            ("scenario", Json::Str(s.name.into())),
                            (
                                "guest",
                                Json::Str(if s.component { "component" } else { "module" }.into()),
                            ),
                            ("concurrency", Json::Num(s.concurrency.into())),
                            ("harness", load_json(&s.harness)),
                            (
                                "native",
                                s.native.as_ref().map(load_json).unwrap_or(Json::Null),
                            ),
                            ("ratio", ratio(s).map(Json::Num).unwrap_or(Json::Null)),
                            (
                                "wasmtime_serve",
                                s.wasmtime_serve
                                    .as_ref()
                                    .map(load_json)
                                    .unwrap_or(Json::Null),
                            ),
                            (
                                "ratio_vs_wasmtime_serve",
                                ratio_vs_wasmtime(s).map(Json::Num).unwrap_or(Json::Null),
                            ),
                            ("wagi", s.wagi.as_ref().map(load_json).unwrap_or(Json::Null)),
                            (
                                "baseline",
                                s.baseline.as_ref().map(load_json).unwrap_or(Json::Null),
                            ),
                            (
                                "ratio_vs_wagi",
                                ratio_vs_wagi(s).map(Json::Num).unwrap_or(Json::Null),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "blob_write_cpu_split",
            Json::Arr(
                r.cpu_split
                    .iter()
                    .map(|c| {
                        Json::obj([
                            ("world", Json::Str(c.world.into())),
                            ("requests", Json::Num(c.requests as f64)),
                            ("requests_per_sec", Json::Num(c.rps)),
                            ("guest_cpu_us_per_request", Json::Num(c.guest_us)),
                            ("host_cpu_us_per_request", Json::Num(c.host_us)),
                            ("emulator_cpu_us_per_request", Json::Num(c.emulator_us)),
                            (
                                "outbound_connections_per_request",
                                Json::Num(c.connections_per_request),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "peak_rss_kib",
            Json::obj([
                ("after_hello", Json::Num(r.rss_hello_kib as f64)),
                ("after_blob_write", Json::Num(r.rss_blob_kib as f64)),
                (
                    "component_harness_after_loads",
                    Json::Num(r.rss_component_kib as f64),
                ),
                ("emulator_in_harness", Json::Bool(r.emulator_in_harness)),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::sizes::{ComponentSize, Size};
    use super::super::{Inst, Plan};
    use super::*;

    fn load(rps: f64) -> Load {
        Load {
            rps,
            p50_ms: 1.0,
            p99_ms: 2.0,
            errors: 0,
            requests: 100,
            cpu_us: 40.0,
            faults: 12.0,
            client_cpu_us: 15.0,
        }
    }

    fn results() -> Results {
        let inst = |p50_us| Inst {
            p50_us,
            p99_us: p50_us * 2.0,
            samples: 10,
        };
        let scenario = |name: &'static str,
                        component: bool,
                        concurrency: u32,
                        harness: f64,
                        native: Option<f64>,
                        wasmtime: Option<f64>| Scenario {
            name,
            component,
            concurrency,
            harness: load(harness),
            native: native.map(load),
            wasmtime_serve: wasmtime.map(load),
            wagi: None,
            baseline: None,
        };
        Results {
            plan: Plan {
                quick: true,
                rounds: 3,
                secs: 2,
                cold_rounds: 1,
                warm_rounds: 3,
                hello_samples: 10,
                blob_samples: 10,
            },
            sizes: vec![Size {
                sample: "blob-write".into(),
                release: 700_000,
                optimised: 600_000,
                gzip: 250_000,
            }],
            component_sizes: vec![ComponentSize {
                sample: "blob-write".into(),
                built: 650 * 1024,
                gzip: 260_000,
                optimised: 520 * 1024,
                optimised_gzip: 230_000,
            }],
            inst_hello: inst(4.0),
            inst_blob: inst(15.0),
            inst_hello_component: inst(30.0),
            inst_blob_component: inst(60.0),
            cold_ms: vec![500.0],
            warm_ms: vec![5.0],
            scenarios: vec![
                scenario("hello", false, 32, 3000.0, Some(10000.0), None),
                scenario("hello", true, 32, 2000.0, Some(10000.0), Some(4000.0)),
                scenario("blob-write", true, 16, 500.0, None, None),
            ],
            rss_hello_kib: 18 * 1024,
            rss_blob_kib: 30 * 1024,
            rss_component_kib: 40 * 1024,
            emulator_in_harness: true,
            cpu_split: vec![super::super::split::CpuSplit {
                world: "module",
                requests: 1000,
                rps: 900.0,
                guest_us: 210.0,
                host_us: 290.0,
                emulator_us: 120.0,
                connections_per_request: 0.016,
            }],
            wasm_opt_version: "wasm-opt version 132".into(),
            wasmtime_version: "wasmtime 48.0.2".into(),
        }
    }

    #[test]
    fn the_report_has_component_rows_and_both_ratios() {
        let md = markdown(&results());
        assert!(md.contains("| blob-write | 650.0 KiB |"), "{md}");
        assert!(
            md.contains("| hello (component) | 30.0 µs | 60.0 µs | 10 |"),
            "{md}"
        );
        assert!(md.contains("| hello (component) | 32 | 2000 |"), "{md}");
        // Component vs native (20%) and vs wasmtime serve (50%).
        assert!(md.contains("| 20% | 0 |"), "{md}");
        assert!(
            md.contains("`wasmtime serve -O pooling-allocator` (wasmtime 48.0.2)"),
            "{md}"
        );
        assert!(md.contains("| 50% | 0 |"), "{md}");
        assert!(md.contains("| blob-write (component) | 16 |"), "{md}");
        // The module target row still reads the module scenario (30%).
        assert!(md.contains("| 30% | met |"), "{md}");
        let json = json(&results(), 1).pretty();
        assert!(json.contains("\"ratio_vs_wasmtime_serve\": 0.5"), "{json}");
        // CPU per request: harness and wrk against it, native and wrk against it, wasmtime
        // serve (the component row has all of them).
        assert!(
            md.contains(
                "| hello (component) | 32 | 40.0 µs | 12.0 | 15.0 µs | 40.0 µs | 15.0 µs | 40.0 µs | 12.0 |"
            ),
            "{md}"
        );
        assert!(json.contains("\"cpu_us_per_request\": 40"), "{json}");
        assert!(json.contains("\"wrk_cpu_us_per_request\": 15"), "{json}");
        assert!(json.contains("\"hello-component\""), "{json}");
        assert!(json.contains("\"as_built_bytes\": 665600"), "{json}");
        // The component as built and after wasm-opt -Oz, each with its gzip -9.
        assert!(
            md.contains("| blob-write | 650.0 KiB | 253.9 KiB | 520.0 KiB | 224.6 KiB |"),
            "{md}"
        );
        assert!(json.contains("\"wasm_opt_oz_bytes\": 532480"), "{json}");
        assert!(
            json.contains("\"wasm_opt_oz_gzip_bytes\": 230000"),
            "{json}"
        );
        // The CPU split, and the lowest ratio to wasmtime serve as a target row (0.5x: missed).
        assert!(
            md.contains("| module | 900 | 210.0 µs | 290.0 µs | 120.0 µs | 0.0160 |"),
            "{md}"
        );
        assert!(json.contains("\"guest_cpu_us_per_request\": 210"), "{json}");
        assert!(md.contains("| ≥ 1.0x | 0.50x | missed |"), "{md}");
        assert_eq!(min_vs_wasmtime_serve(&results()), Some(0.5));
        assert!(!md.contains("WAGI"), "no WAGI rows without --wagi: {md}");
    }

    #[test]
    fn baseline_rows_appear_when_a_baseline_harness_was_measured() {
        let mut r = results();
        assert!(
            !markdown(&r).contains("baseline harness"),
            "no rows without --baseline"
        );
        let mut baseline = load(2000.0);
        baseline.cpu_us = 50.0;
        r.scenarios[0].baseline = Some(baseline);
        let md = markdown(&r);
        assert!(md.contains("This harness vs the baseline harness"), "{md}");
        // hello module at c=32: 3000 vs 2000 req/s, 40 vs 50 µs of CPU.
        assert!(md.contains("| 150% | 40.0 µs | 50.0 µs | -20.0% |"), "{md}");
        let json = json(&r, 1).pretty();
        assert!(json.contains("\"baseline\": {"), "{json}");
    }

    #[test]
    fn wagi_rows_and_targets_appear_when_wagi_was_measured() {
        let mut r = results();
        r.scenarios[0].wagi = Some(load(500.0));
        let md = markdown(&r);
        assert!(md.contains("our harness vs WAGI 0.8"), "{md}");
        // hello module at c=32: 3000 vs 500 req/s.
        assert!(md.contains("| 6.0x | 40.0 µs | 40.0 µs |"), "{md}");
        assert!(
            md.contains("| hello req/s vs WAGI 0.8, c=32 | – | ≥ 5x | 6.0x | met |"),
            "{md}"
        );
        let json = json(&r, 1).pretty();
        assert!(json.contains("\"ratio_vs_wagi\": 6"), "{json}");
    }
}
