//! `cargo xtask <command>`: the one entry point for people and CI.
//!
//! Dependency-free on purpose, so it compiles in a second on a fresh clone.

mod bench;
mod build;
mod cmd;
mod demo;
mod http_client;
mod interop;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  build          install the wasm32-wasip1 target if missing and build every guest (.wasm)
  sizes          build, optimise with wasm-opt -Oz, and print each sample's size before and after
  test           build guests, check the guest dependency graph, run all tests and interop
  demo [--serve] run the article's scenario on the embedded emulators (--serve: keep serving)
  interop        run the interop tests against Microsoft's Azurite and Azure SDKs for Python
  bench [--quick] measure sizes, instantiation, cold start, throughput vs native hyper, blob writes
  lint           cargo fmt --check and cargo clippy --all-targets -- -D warnings
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build::build_guests().map(|_| ()),
        Some("sizes") => build::sizes(),
        Some("test") => test::run(),
        Some("demo") => demo::run(args.iter().any(|a| a == "--serve")),
        Some("interop") => interop::run(),
        Some("lint") => test::lint(),
        Some("bench") => bench::run(args.iter().any(|a| a == "--quick")),
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
