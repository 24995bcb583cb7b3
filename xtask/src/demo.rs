//! `cargo xtask demo [--components] [--serve]`: the article's scenario on the embedded emulators,
//! step by step.
//!
//! 1. build the samples: WAGI modules (`wasm32-wasip1`, release, then `wasm-opt -Oz`), or with
//!    `--components` wasi:http components (`wasm32-wasip2`, as built; `cargo xtask sizes` also
//!    measures them after `wasm-opt -Oz`);
//! 2. start `harness serve --emulators` with every sample routed (same `modules.toml` shape for
//!    both worlds, the harness detects a component from the file) and an EventGrid subscription
//!    that delivers BlobCreated events to the `eventgrid-webhook` sample;
//! 3. upload a blob through `eventgrid-publish`, which stores it and announces it;
//! 4. EventGrid validates the webhook (handshake), then delivers; the webhook reads the blob and
//!    upserts a Cosmos DB document about it;
//! 5. read the document back through the `cosmos` sample and the blob through `blob-read`;
//! 6. show the EventGrid dead letters, then the dashboard's address and what `/metrics` counted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::{build_and_optimise, build_samples, kib, optimised_dir, size, P2, SAMPLES};
use crate::cmd::{cargo, exec, root};
use crate::http_client::{send, Reply};

const TOPIC_KEY: &str = "ZW11bGF0b3ItZXZlbnRncmlkLWRldi1rZXktMDAwMDAwMDA=";
const STORAGE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const COSMOS_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

/// A harness process that is stopped when dropped.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loopback ports for the harness and the three emulators.
struct Ports {
    harness: u16,
    blob: u16,
    cosmos: u16,
    eventgrid: u16,
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn config_text(wasm: &Path, p: &Ports) -> String {
    let m = |name: &str| wasm.join(format!("{name}.wasm")).display().to_string();
    let storage_env = format!(
        "STORAGE_ACCOUNT = \"devstoreaccount1\", STORAGE_MASTER_KEY = \"{STORAGE_KEY}\", STORAGE_ENDPOINT = \"http://127.0.0.1:{}/devstoreaccount1\"",
        p.blob
    );
    let cosmos_env = format!(
        "COSMOS_ENDPOINT = \"http://127.0.0.1:{}\", COSMOS_MASTER_KEY = \"{COSMOS_KEY}\", COSMOS_DATABASE = \"wagi\"",
        p.cosmos
    );
    let blob_host = format!("\"http://127.0.0.1:{}\"", p.blob);
    let cosmos_host = format!("\"http://127.0.0.1:{}\"", p.cosmos);
    let eg_host = format!("\"http://127.0.0.1:{}\"", p.eventgrid);
    format!(
        r#"# Written by `cargo xtask demo`: every sample routed, emulators on free ports.

[[module]]
route = "/hello"
module = "{hello}"

[[module]]
route = "/echo/..."
module = "{echo}"

[[module]]
route = "/upload"
module = "{blob_write}"
allowed_hosts = [{blob_host}]
environment = {{ {storage_env} }}

[[module]]
route = "/blob"
module = "{blob_read}"
allowed_hosts = [{blob_host}]
environment = {{ {storage_env} }}

[[module]]
route = "/cosmos"
module = "{cosmos}"
allowed_hosts = [{cosmos_host}]
environment = {{ {cosmos_env} }}

[[module]]
route = "/publish"
module = "{publish}"
allowed_hosts = [{blob_host}, {eg_host}]
environment = {{ {storage_env}, EVENTGRID_ENDPOINT = "http://127.0.0.1:{eg}/api/events", EVENTGRID_KEY = "{TOPIC_KEY}" }}

[[module]]
route = "/webhook"
module = "{webhook}"
allowed_hosts = [{blob_host}, {cosmos_host}]
environment = {{ {storage_env}, {cosmos_env}, COSMOS_COLLECTION = "blobs" }}

[emulators.blob]
port = {blob}

[emulators.cosmos]
port = {cosmos_port}

[emulators.eventgrid]
port = {eg}
retry = {{ max_attempts = 5, initial_backoff_ms = 200, max_backoff_ms = 2000 }}

[[emulators.eventgrid.subscriptions]]
name = "blob-webhook"
topic = "default"
endpoint = "http://127.0.0.1:{harness}/webhook"
included_event_types = ["Microsoft.Storage.BlobCreated"]
"#,
        hello = m("hello"),
        echo = m("echo"),
        blob_write = m("blob-write"),
        blob_read = m("blob-read"),
        cosmos = m("cosmos"),
        publish = m("eventgrid-publish"),
        webhook = m("eventgrid-webhook"),
        blob = p.blob,
        cosmos_port = p.cosmos,
        eg = p.eventgrid,
        harness = p.harness,
    )
}

fn start_harness(config: &Path, addr: &str) -> Result<Running, String> {
    exec(cargo().args(["build", "--quiet", "-p", "harness"]))?;
    let bin = root().join("target").join("debug").join("harness");
    let log = config.with_extension("log");
    let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let started = Instant::now();
    let child = Command::new(bin)
        .args(["serve", "--emulators", "--config"])
        .arg(config)
        .args(["--listen", addr])
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| {
                "warn,harness=info,harness::harness=debug,emulator=info".into()
            }),
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot start the harness: {e}"))?;
    let mut running = Running { child, log };
    loop {
        if let Ok(r) = send(addr, "GET", "/healthz", &[], b"") {
            if r.status == 200 {
                println!(
                    "harness and emulators up on http://{addr} after {:.0} ms (log: {})",
                    started.elapsed().as_secs_f64() * 1e3,
                    running.log.display()
                );
                return Ok(running);
            }
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            return Err(format!(
                "the harness exited ({status}):\n{}",
                std::fs::read_to_string(&running.log).unwrap_or_default()
            ));
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the harness did not answer /healthz within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn show(title: &str, reply: &Reply, took: Duration) {
    println!(
        "\n== {title}\n   {} in {:.1} ms  [{}]\n   {}",
        reply.status,
        took.as_secs_f64() * 1e3,
        reply.header("server-timing").unwrap_or("-"),
        reply.text().trim_end().replace('\n', "\n   ")
    );
}

fn step(
    title: &str,
    expect: u16,
    f: impl FnOnce() -> Result<Reply, String>,
) -> Result<Reply, String> {
    let started = Instant::now();
    let reply = f()?;
    show(title, &reply, started.elapsed());
    if reply.status != expect {
        return Err(format!("{title}: expected {expect}, got {}", reply.status));
    }
    Ok(reply)
}

fn log_lines(log: &Path, needles: &[&str]) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)) && !l.contains("module ready"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Builds the guests the demo routes; returns their folder and the config file name.
fn build(components: bool) -> Result<(PathBuf, &'static str), String> {
    if components {
        let dir = build_samples(P2, None)?;
        println!("\n== sample components built (wasm32-wasip2, opt-level z + LTO; sizes as built; `cargo xtask sizes` also runs them through wasm-opt -Oz)");
        for name in SAMPLES {
            let bytes = size(&dir.join(format!("{name}.wasm")))?;
            println!("   {name:<18} {:>10}", kib(bytes));
        }
        Ok((dir, "wagi-components.toml"))
    } else {
        let sizes = build_and_optimise()?;
        println!(
            "\n== sample modules built and optimised (wasm32-wasip1, release -> wasm-opt -Oz)"
        );
        for (name, before, after) in &sizes {
            println!("   {name:<18} {:>10} -> {:>10}", kib(*before), kib(*after));
        }
        Ok((optimised_dir(), "wagi.toml"))
    }
}

/// Runs the demo with the WAGI modules, or with `components` the wasi:http components; with
/// `serve`, keeps everything running afterwards.
pub fn run(serve: bool, components: bool) -> Result<(), String> {
    let (guests, config_name) = build(components)?;
    let ports = Ports {
        harness: free_port()?,
        blob: free_port()?,
        cosmos: free_port()?,
        eventgrid: free_port()?,
    };
    let config = root().join("target").join("demo").join(config_name);
    std::fs::create_dir_all(config.parent().ok_or("bad path")?).map_err(|e| e.to_string())?;
    std::fs::write(&config, config_text(&guests, &ports)).map_err(|e| e.to_string())?;
    println!(
        "\n== routing the sample {}s of {}",
        if components { "component" } else { "module" },
        guests.display()
    );
    let addr = format!("127.0.0.1:{}", ports.harness);
    let mut harness = start_harness(&config, &addr)?;

    step("1. GET /hello", 200, || {
        send(&addr, "GET", "/hello?name=demo", &[], b"")
    })?;

    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let content = format!("Hello from a WebAssembly handler (unix time {stamp})\n");
    let (container, blob) = ("demo", "article.txt");
    let q = format!("container={container}&blob={blob}");
    let upload_started = Instant::now();
    step(
        "2. POST /publish: store the body as a blob and announce it on EventGrid",
        201,
        || {
            send(
                &addr,
                "POST",
                &format!("/publish?{q}"),
                &[("content-type", "text/plain")],
                content.as_bytes(),
            )
        },
    )?;

    // EventGrid validates the webhook, then delivers; the webhook writes to Cosmos DB.
    let doc_id = format!("{container}%7C{blob}");
    let mut doc = None;
    while upload_started.elapsed() < Duration::from_secs(60) {
        let asked = Instant::now();
        let r = send(
            &addr,
            "GET",
            &format!("/cosmos?collection=blobs&id={doc_id}"),
            &[],
            b"",
        )?;
        if r.status == 200 {
            doc = Some((r, asked.elapsed()));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (doc, took) =
        doc.ok_or("the webhook did not record the blob in Cosmos DB within 60 s; see the log")?;
    println!(
        "\n== 3. EventGrid -> webhook: handshake and handling ({:.0} ms from upload to Cosmos document)",
        upload_started.elapsed().as_secs_f64() * 1e3
    );
    for line in log_lines(&harness.log, &["webhook", "validat", "deliver"]) {
        println!("   {line}");
    }
    show("4. GET /cosmos: the document the webhook wrote", &doc, took);

    let read = step("5. GET /blob: the blob read back", 200, || {
        send(&addr, "GET", &format!("/blob?{q}"), &[], b"")
    })?;
    if read.body != content.as_bytes() {
        return Err("the blob read back differs from what was uploaded".into());
    }
    let dead = send(
        &format!("127.0.0.1:{}", ports.eventgrid),
        "GET",
        "/default/deadletters?api-version=2018-01-01",
        &[("aeg-sas-key", TOPIC_KEY)],
        b"",
    )?;
    println!(
        "\n== 6. EventGrid dead letters: {} {}",
        dead.status,
        dead.text().trim()
    );
    let metrics = send(&addr, "GET", "/metrics", &[], b"")?;
    let counted: Vec<String> = metrics
        .text()
        .lines()
        .filter(|l| l.starts_with("harness_requests_total{"))
        .map(|l| format!("   {l}"))
        .collect();
    println!(
        "\n== 7. dashboard: http://{addr}/_harness/ (routes, live requests, emulator contents); /metrics counted:\n{}",
        counted.join("\n")
    );
    println!(
        "\nscenario complete in {:.0} ms ({})",
        upload_started.elapsed().as_secs_f64() * 1e3,
        if components {
            "wasi:http components, wasm32-wasip2"
        } else {
            "WAGI modules, wasm32-wasip1"
        }
    );

    if serve {
        println!(
            "\nserving on http://{addr} (config {}); open the dashboard at http://{addr}/_harness/ and try:\n  curl -X POST --data-binary @README.md 'http://{addr}/publish?container=c&blob=readme.md'\n  curl 'http://{addr}/blob?container=c&blob=readme.md'\npress Ctrl-C to stop",
            config.display()
        );
        let _ = harness.child.wait();
    }
    Ok(())
}
