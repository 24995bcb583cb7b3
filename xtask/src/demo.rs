//! `cargo xtask demo`: build the samples, start the harness, run the scenario, print each step.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::{build_guests, wasm_dir};
use crate::cmd::{cargo, root, run};
use crate::http_client::{send, Reply};

/// A harness process that is killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn write_config(path: &Path, wasm: &Path) -> Result<(), String> {
    let m = |name: &str| wasm.join(format!("{name}.wasm")).display().to_string();
    let text = format!(
        "# Written by `cargo xtask demo`.\n\n[[module]]\nroute = \"/hello\"\nmodule = \"{}\"\n",
        m("hello")
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn start_harness(config: &Path, addr: &str) -> Result<Running, String> {
    run(cargo().args(["build", "--quiet", "-p", "harness"]))?;
    let bin = root().join("target").join("debug").join("harness");
    let child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", addr])
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the harness: {e}"))?;
    let running = Running(child);
    let started = Instant::now();
    loop {
        if let Ok(r) = send(addr, "GET", "/healthz", &[], b"") {
            if r.status == 200 {
                println!(
                    "harness up on http://{addr} after {:.0} ms",
                    started.elapsed().as_secs_f64() * 1e3
                );
                return Ok(running);
            }
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the harness did not answer /healthz within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn step(title: &str, f: impl FnOnce() -> Result<Reply, String>) -> Result<Reply, String> {
    let started = Instant::now();
    let reply = f()?;
    let timing = reply.header("server-timing").unwrap_or("").to_string();
    println!(
        "\n== {title}: {} in {:.1} ms  [{timing}]\n{}",
        reply.status,
        started.elapsed().as_secs_f64() * 1e3,
        reply.text().trim_end()
    );
    Ok(reply)
}

/// Runs the demo; with `serve`, keeps the harness running afterwards.
pub fn run(serve: bool) -> Result<(), String> {
    let wasm = build_guests()?;
    let _ = wasm_dir();
    let config = root().join("target").join("demo").join("wagi.toml");
    write_config(&config, &wasm)?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut harness = start_harness(&config, &addr)?;
    let reply = step("GET /hello", || send(&addr, "GET", "/hello", &[], b""))?;
    if reply.status != 200 {
        return Err(format!("hello answered {}", reply.status));
    }
    if serve {
        println!(
            "\nserving on http://{addr} (config {}); press Ctrl-C to stop",
            config.display()
        );
        let _ = harness.0.wait();
    }
    Ok(())
}
