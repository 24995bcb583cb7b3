//! Graceful shutdown of the real `harness` binary: SIGTERM (or Ctrl-C) closes the listener,
//! lets the request in flight finish within `[limits] shutdown_grace_secs`, closes the
//! emulators' stores and exits 0; a second signal exits at once.
//!
//! The slow request is `component-probe`'s `op=sleep` (built by `cargo xtask build`).

#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `harness serve`, killed when dropped (if it is still running).
struct Running {
    child: Child,
    /// The harness's own address.
    addr: Option<SocketAddr>,
    /// The Blob emulator's address, when `--emulators` started it.
    blob: Option<SocketAddr>,
    /// Every stderr line, for failure messages.
    log: mpsc::Receiver<String>,
}

impl Running {
    /// Starts `harness serve --listen 127.0.0.1:0 <args>` and waits until it serves.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the harness binary");
        let (tx, log) = mpsc::channel();
        let err = child.stderr.take().expect("piped");
        let err_tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let out = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut running = Self {
            child,
            addr: None,
            blob: None,
            log,
        };
        let emulators = args.contains(&"--emulators");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = running.log.recv_timeout(left).unwrap_or_else(|_| {
                panic!("the harness did not start: {:?}", running.child.try_wait())
            });
            if let Some(rest) = line.split("Blob Storage on ").nth(1) {
                running.blob = rest.split(',').next().and_then(|a| a.parse().ok());
            }
            if let Some(url) = line.split(" on http://").nth(1) {
                if line.starts_with("harness: serving") {
                    running.addr = Some(url.trim().parse().expect("an address"));
                }
            }
            // stdout and stderr arrive through two threads: wait for both lines.
            if running.addr.is_some() && (!emulators || running.blob.is_some()) {
                break;
            }
        }
        running
    }

    fn addr(&self) -> SocketAddr {
        self.addr.expect("serving modules")
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: sends a signal to the child this test started.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits up to `limit` for the process to exit.
    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the harness did not exit within {limit:?}; log: {:?}",
                self.log.try_iter().collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A config serving `component-probe` on `/probe` with the given `[limits]` lines.
fn probe_config(dir: &Path, limits: &str) -> String {
    let file = dir.join("harness.toml");
    let component = harness::guest_component("component-probe");
    assert!(
        component.is_file(),
        "{} is missing; run `cargo xtask build`",
        component.display()
    );
    std::fs::write(
        &file,
        format!(
            "[[module]]\nroute = \"/probe\"\nmodule = {:?}\n\n[cache]\ndirectory = {:?}\n\n[limits]\n{limits}\n",
            component.display().to_string(),
            dir.join("cache").display().to_string(),
        ),
    )
    .expect("write the config");
    file.display().to_string()
}

/// Sends `GET <path>` with `connection: close` on a new connection; read the answer with
/// [`read_all`].
fn send_get(addr: SocketAddr, path: &str) -> TcpStream {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .expect("send");
    conn
}

/// Everything the peer sends until it closes (a reset ends the text too).
fn read_all(conn: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Waits (up to 5 s) until connecting to `addr` is refused.
fn wait_refused(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "{addr} still accepts connections"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_refuses_new_ones_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = probe_config(dir.path(), "shutdown_grace_secs = 20");
    let mut h = Running::start(&["--config", &config]);
    let addr = h.addr();

    // An idle keep-alive connection must not hold the shutdown up.
    let mut idle = TcpStream::connect(addr).expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("send");
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));

    let mut slow = send_get(addr, "/probe?op=sleep&ms=3000");
    // Let the request reach the guest.
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    h.signal(libc::SIGTERM);

    wait_refused(addr);
    assert!(
        signalled.elapsed() < Duration::from_millis(2500),
        "the listener closed only after {:?}, not at once",
        signalled.elapsed()
    );
    let reply = read_all(&mut slow);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // Chunked: the body's one chunk, then the last chunk.
    assert!(reply.contains("\r\nslept\r\n"), "{reply}");
    assert!(reply.ends_with("0\r\n\r\n"), "{reply}");
    let status = h.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(15),
        "exit took {:?}",
        signalled.elapsed()
    );
    assert_eq!(
        idle.read(&mut buf).unwrap_or(0),
        0,
        "the idle connection is closed"
    );
    let log: Vec<String> = h.log.try_iter().collect();
    assert!(
        log.iter()
            .any(|l| l.contains("SIGTERM: no new connections")),
        "{log:#?}"
    );
}

#[test]
fn a_request_longer_than_the_grace_is_cut_and_the_exit_is_still_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = probe_config(dir.path(), "shutdown_grace_secs = 0.5");
    let mut h = Running::start(&["--config", &config]);
    let mut slow = send_get(h.addr(), "/probe?op=sleep&ms=20000");
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    h.signal(libc::SIGINT);
    let status = h.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "exit took {:?} with a 0.5 s grace",
        signalled.elapsed()
    );
    let reply = read_all(&mut slow);
    assert!(!reply.contains("slept"), "{reply}");
    let log: Vec<String> = h.log.try_iter().collect();
    assert!(log.iter().any(|l| l.contains("were cut")), "{log:#?}");
}

#[test]
fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = probe_config(dir.path(), "shutdown_grace_secs = 60");
    let mut h = Running::start(&["--config", &config]);
    let _slow = send_get(h.addr(), "/probe?op=sleep&ms=30000");
    std::thread::sleep(Duration::from_millis(500));
    h.signal(libc::SIGTERM);
    wait_refused(h.addr());
    let signalled = Instant::now();
    h.signal(libc::SIGTERM);
    let status = h.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(143), "{status}");
    assert!(signalled.elapsed() < Duration::from_secs(3));
}

/// `date` in the form `x-ms-date` takes.
fn http_date() -> String {
    let out = Command::new("date")
        .args(["-u", "+%a, %d %b %Y %H:%M:%S GMT"])
        .env("LC_ALL", "C")
        .output()
        .expect("run date");
    String::from_utf8(out.stdout)
        .expect("ascii")
        .trim()
        .to_string()
}

/// Sends a Shared Key signed request to the Blob emulator; returns the whole answer.
fn blob_request(
    blob: SocketAddr,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> String {
    let date = http_date();
    let uri: http::Uri = format!("http://{blob}{path}").parse().expect("uri");
    let mut headers = http::HeaderMap::new();
    headers.insert("x-ms-date", date.parse().expect("value"));
    headers.insert("x-ms-version", "2021-08-06".parse().expect("value"));
    headers.insert("content-length", body.len().into());
    for (name, value) in extra {
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    let method: http::Method = method.parse().expect("method");
    let auth = emulator::blob::auth::authorization(
        emulator::DEV_ACCOUNT,
        emulator::DEV_ACCOUNT_KEY,
        &method,
        &uri,
        &headers,
    )
    .expect("sign");
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: {blob}\r\nconnection: close\r\nauthorization: {auth}\r\n");
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {}\r\n", value.to_str().expect("ascii")));
    }
    request.push_str("\r\n");
    let mut conn = TcpStream::connect(blob).expect("connect to the Blob emulator");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    conn.write_all(request.as_bytes()).expect("send");
    conn.write_all(body).expect("send body");
    read_all(&mut conn)
}

/// The `[emulators]` table with every emulator on a free port.
const FREE_PORTS: &str =
    "[emulators.blob]\nport = 0\n[emulators.cosmos]\nport = 0\n[emulators.eventgrid]\nport = 0\n";

#[test]
fn emulator_data_written_before_sigterm_is_there_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.display().to_string();
    let config = probe_config(dir.path(), "shutdown_grace_secs = 10");
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str(FREE_PORTS);
    std::fs::write(&config, text).expect("write");
    let args = ["--config", &config, "--emulators", "--data-dir", &data];

    let mut first = Running::start(&args);
    let blob = first.blob.expect("the Blob emulator's address is printed");
    let made = blob_request(
        blob,
        "PUT",
        "/devstoreaccount1/kept?restype=container",
        &[],
        b"",
    );
    assert!(made.starts_with("HTTP/1.1 201"), "{made}");
    let put = blob_request(
        blob,
        "PUT",
        "/devstoreaccount1/kept/note.txt",
        &[("x-ms-blob-type", "BlockBlob")],
        b"written before SIGTERM",
    );
    assert!(put.starts_with("HTTP/1.1 201"), "{put}");
    first.signal(libc::SIGTERM);
    let status = first.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{status}");
    let log: Vec<String> = first.log.try_iter().collect();
    assert!(
        log.iter().any(|l| l.contains("emulators stopped")),
        "{log:#?}"
    );
    drop(first);

    let second = Running::start(&args);
    let blob = second.blob.expect("the Blob emulator's address is printed");
    let got = blob_request(blob, "GET", "/devstoreaccount1/kept/note.txt", &[], b"");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.ends_with("written before SIGTERM"), "{got}");
}
