//! `cargo xtask bench --big [--mib=N]`: the large-transfer proof. N MiB (default 1024) go up
//! through the `blob-write` sample and come back down through `blob-read`, in both worlds,
//! against the Blob emulator running as its own process; meanwhile the harness's resident
//! memory is sampled every 10 ms (after a warm-up of one 5 MiB transfer each way and world). Every byte that comes back is compared with what was sent,
//! and the run fails if the harness's memory grows by more than [`MAX_GROWTH_MIB`] during a
//! transfer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::build::P2;

use super::procs::{release_build, start_announcing, start_harness, status_kib};
use super::{blob_module_toml, sizes, toml_str};

/// Most the harness's resident memory may grow while one transfer runs.
const MAX_GROWTH_MIB: u64 = 16;
/// The size of each write the client makes.
const CHUNK: usize = 64 * 1024;

/// Byte `i` of the generated body (a pattern that shifts every 4 KiB, so a block sent twice or
/// out of order is caught).
fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(31).wrapping_add(i >> 12) % 251) as u8
}

fn fill(buf: &mut [u8], offset: u64) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = byte_at(offset + k as u64);
    }
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS").ok()
}

/// Samples a process's RSS every 10 ms on its own thread; keeps the peak.
struct RssPeak {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssPeak {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(now) = rss_kib(pid) {
                    p.fetch_max(now, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Self {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// One measured transfer.
struct Transfer {
    what: String,
    bytes: u64,
    seconds: f64,
    rss_before_kib: u64,
    rss_peak_kib: u64,
}

impl Transfer {
    fn growth_mib(&self) -> f64 {
        self.rss_peak_kib.saturating_sub(self.rss_before_kib) as f64 / 1024.0
    }
}

/// The response head: status and lower-case headers.
fn read_head(reader: &mut BufReader<TcpStream>) -> Result<(u16, Vec<(String, String)>), String> {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| format!("reading the status line: {e}"))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {line:?}"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("reading a header: {e}"))?;
        let l = line.trim_end();
        if l.is_empty() {
            return Ok((status, headers));
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
}

/// Reads a body (Content-Length or chunked), handing each piece to `sink`; returns its length.
fn read_body(
    reader: &mut BufReader<TcpStream>,
    headers: &[(String, String)],
    mut sink: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<u64, String> {
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut copy = |reader: &mut BufReader<TcpStream>, mut left: u64| -> Result<(), String> {
        while left > 0 {
            let want = left.min(CHUNK as u64) as usize;
            let n = reader
                .read(&mut buf[..want])
                .map_err(|e| format!("reading the body: {e}"))?;
            if n == 0 {
                return Err(format!("the body ended {left} bytes early"));
            }
            sink(&buf[..n])?;
            left -= n as u64;
            total += n as u64;
        }
        Ok(())
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut line = String::new();
        loop {
            line.clear();
            reader
                .read_line(&mut line)
                .map_err(|e| format!("reading a chunk size: {e}"))?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size line {line:?}"))?;
            if size == 0 {
                return Ok(total);
            }
            copy(reader, size)?;
            line.clear();
            reader
                .read_line(&mut line)
                .map_err(|e| format!("reading a chunk end: {e}"))?;
        }
    }
    let len = header("content-length")
        .and_then(|v| v.parse().ok())
        .ok_or("the response has neither a length nor chunked encoding")?;
    copy(reader, len)?;
    Ok(total)
}

fn connect(addr: &str) -> Result<TcpStream, String> {
    let s = TcpStream::connect(addr).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(600)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// Streams `bytes` generated bytes to `POST path`; returns the response status and body text.
fn upload(addr: &str, path: &str, bytes: u64) -> Result<(u16, String), String> {
    let mut stream = connect(addr)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nContent-Length: {bytes}\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(CHUNK as u64) as usize;
        fill(&mut buf[..n], sent);
        stream
            .write_all(&buf[..n])
            .map_err(|e| format!("sending byte {sent}: {e}"))?;
        sent += n as u64;
    }
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader)?;
    let mut body = Vec::new();
    read_body(&mut reader, &headers, |b| {
        body.extend_from_slice(b);
        Ok(())
    })?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Downloads `GET path` and checks every byte against the generator; returns the length.
fn download(addr: &str, path: &str) -> Result<(u16, u64), String> {
    let mut stream = connect(addr)?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader)?;
    let mut offset = 0u64;
    let mut expected = vec![0u8; CHUNK];
    let len = read_body(&mut reader, &headers, |got| {
        fill(&mut expected[..got.len()], offset);
        if got != &expected[..got.len()] {
            return Err(format!(
                "the bytes at offset {offset} differ from those sent"
            ));
        }
        offset += got.len() as u64;
        Ok(())
    })?;
    Ok((status, len))
}

fn measure<T>(
    pid: u32,
    what: String,
    bytes: u64,
    run: impl FnOnce() -> Result<T, String>,
) -> Result<(Transfer, T), String> {
    let before = rss_kib(pid).ok_or("cannot read the harness's memory")?;
    let sampler = RssPeak::start(pid);
    let started = Instant::now();
    let out = run();
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.finish();
    let t = Transfer {
        what,
        bytes,
        seconds,
        rss_before_kib: before,
        rss_peak_kib: peak,
    };
    eprintln!(
        "{}: {:.1} s, {:.0} MiB/s, harness RSS {:.1} -> peak {:.1} MiB (+{:.1})",
        t.what,
        t.seconds,
        t.bytes as f64 / (1 << 20) as f64 / t.seconds.max(1e-9),
        t.rss_before_kib as f64 / 1024.0,
        t.rss_peak_kib as f64 / 1024.0,
        t.growth_mib()
    );
    Ok((t, out?))
}

fn write_config(
    path: &Path,
    modules: &Path,
    components: &Path,
    blob_addr: &str,
    mib: u64,
) -> Result<(), String> {
    let mut text = format!(
        "# Written by `cargo xtask bench --big`.\n\n[[module]]\nroute = \"/hello\"\nmodule = {}\n\n",
        toml_str(&modules.join("hello.wasm"))
    );
    for (route, dir, sample) in [
        ("/up", modules, "blob-write"),
        ("/down", modules, "blob-read"),
        ("/c/up", components, "blob-write"),
        ("/c/down", components, "blob-read"),
    ] {
        let wasm = dir.join(format!("{sample}.wasm"));
        text.push_str(&blob_module_toml(route, &wasm, blob_addr));
        text.push('\n');
    }
    let cap = mib + 64;
    text.push_str(&format!(
        "[limits]\nrequest_timeout_secs = 1800\nbody_read_timeout_secs = 1800\nmax_request_body_mib = {cap}\nmax_response_mib = {cap}\n"
    ));
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the proof with `mib` MiB each way in each world.
pub fn run(mib: u64) -> Result<(), String> {
    let (target, out) = release_build(&["harness", "bench-native"])?;
    let modules = sizes::build_samples(&target, crate::build::P1)?;
    let components = sizes::build_samples(&target, P2)?;
    let release = target.join("release");
    let emulator = start_announcing(&release.join("bench-blob-emulator"), &["0"])?;
    let config = out.join("big.toml");
    write_config(&config, &modules, &components, &emulator.addr, mib)?;
    let (harness, _) = start_harness(
        &release.join("harness"),
        &config,
        &[],
        "/hello",
        &out.join("big.log"),
    )?;
    // Warm-up: one small transfer each way in each world, so one-time growth (the first
    // instances' pages, connection pools) is not counted against a transfer.
    for prefix in ["", "/c"] {
        let path = format!("{prefix}/up?container=big&blob=warm-up");
        upload(&harness.addr, &path, 5 << 20)?;
        let path = format!("{prefix}/down?container=big&blob=warm-up");
        download(&harness.addr, &path)?;
    }
    let bytes = mib << 20;
    let mut transfers = Vec::new();
    let mut problems = Vec::new();
    for (world, prefix) in [("module", ""), ("component", "/c")] {
        let blob = format!("big-{world}.bin");
        let (t, (status, body)) = measure(
            harness.pid(),
            format!("{mib} MiB up through blob-write ({world})"),
            bytes,
            || {
                upload(
                    &harness.addr,
                    &format!("{prefix}/up?container=big&blob={blob}"),
                    bytes,
                )
            },
        )?;
        if status != 201 || !body.contains(&format!("\"bytes\":{bytes}")) {
            problems.push(format!("{}: status {status}, body {body}", t.what));
        }
        transfers.push(t);
        let (t, (status, len)) = measure(
            harness.pid(),
            format!("{mib} MiB down through blob-read ({world})"),
            bytes,
            || {
                download(
                    &harness.addr,
                    &format!("{prefix}/down?container=big&blob={blob}"),
                )
            },
        )?;
        if status != 200 || len != bytes {
            problems.push(format!("{}: status {status}, {len} bytes", t.what));
        }
        transfers.push(t);
    }
    drop(harness);
    drop(emulator);
    println!("\n| transfer | MiB/s | harness RSS before | peak | growth |\n|---|---|---|---|---|");
    for t in &transfers {
        println!(
            "| {} | {:.0} | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            t.what,
            t.bytes as f64 / (1 << 20) as f64 / t.seconds.max(1e-9),
            t.rss_before_kib as f64 / 1024.0,
            t.rss_peak_kib as f64 / 1024.0,
            t.growth_mib()
        );
        if t.growth_mib() > MAX_GROWTH_MIB as f64 {
            problems.push(format!(
                "{}: the harness's memory grew by {:.1} MiB (limit {MAX_GROWTH_MIB})",
                t.what,
                t.growth_mib()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("bench --big failed: {}", problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_differs_between_neighbouring_4_kib_runs() {
        let mut a = vec![0u8; 4096];
        let mut b = vec![0u8; 4096];
        fill(&mut a, 0);
        fill(&mut b, 4096);
        assert_ne!(a, b);
        let mut again = vec![0u8; 4096];
        fill(&mut again, 0);
        assert_eq!(a, again);
    }
}
