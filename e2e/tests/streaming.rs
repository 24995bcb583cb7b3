//! Bodies stream through the harness: a request body reaches the guest as it arrives and the
//! guest's output reaches the client as it is written, so moving 256 MiB each way grows the
//! harness's memory (its RSS, measured in this process, which runs it) by a few MiB, not by the
//! size of the body. Real sockets, real guests: two small WAGI modules written here in WAT
//! (`cat` copies stdin to stdout 64 KiB at a time, `big` writes 256 MiB) and the
//! `component-probe` component's `copy` and `big` ops.
//!
//! The tests take turns (one lock): they measure the memory of the process they share.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use sha2::{Digest, Sha256};

use harness::{Harness, Limits, ModuleConfig, Server};

/// The body size each test moves.
const TOTAL: u64 = 256 << 20;
/// The chunk size the client sends and the WAT guests copy.
const CHUNK: usize = 64 << 10;
/// Most the harness's RSS may grow while one transfer runs.
const MAX_GROWTH: u64 = 64 << 20;

/// One test at a time: they measure the same process.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `cat`: the CGI header block, then stdin copied to stdout in reads of up to 64 KiB.
const CAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "Content-Type: application/octet-stream\0a\0a")
  (func $write_all (param $ptr i32) (param $len i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $len))
        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
          (then (call $proc_exit (i32.const 2))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const 8))))
        (local.set $len (i32.sub (local.get $len) (i32.load (i32.const 8))))
        (br $again))))
  (func (export "_start")
    (local $n i32)
    (call $write_all (i32.const 16) (i32.const 40))
    (block $eof
      (loop $next
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.const 65536))
        (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
          (then (call $proc_exit (i32.const 1))))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $eof (i32.eqz (local.get $n)))
        (call $write_all (i32.const 1024) (local.get $n))
        (br $next)))))
"#;

/// `big`: the CGI header block, then `chunks` writes of 64 KiB of `x`; then it traps if
/// `trap`.
fn big_wat(chunks: u64, trap: bool) -> String {
    let end = if trap { "unreachable" } else { "" };
    format!(
        r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "Content-Type: application/octet-stream\0a\0a")
  (func $write_all (param $ptr i32) (param $len i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $len))
        (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
          (then (call $proc_exit (i32.const 2))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const 8))))
        (local.set $len (i32.sub (local.get $len) (i32.load (i32.const 8))))
        (br $again))))
  (func (export "_start")
    (local $left i32)
    (memory.fill (i32.const 1024) (i32.const 120) (i32.const 65536))
    (call $write_all (i32.const 16) (i32.const 40))
    (local.set $left (i32.const {chunks}))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $left)))
        (call $write_all (i32.const 1024) (i32.const 65536))
        (local.set $left (i32.sub (local.get $left) (i32.const 1)))
        (br $next)))
    {end}))
"#
    )
}

/// Limits that let 256 MiB through in a slow debug build, and nothing else changed.
fn roomy() -> Limits {
    Limits {
        request_timeout: Duration::from_secs(300),
        body_read_timeout: Duration::from_secs(300),
        max_request_body_bytes: 1 << 30,
        max_response_bytes: 1 << 30,
        ..Limits::default()
    }
}

/// A harness serving the WAT guests at `/cat` and `/big`, and the component probe at `/c`.
async fn serve(limits: Limits) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("cat.wasm");
    std::fs::write(&cat, wat::parse_str(CAT).unwrap()).unwrap();
    let big = dir.path().join("big.wasm");
    let chunks = TOTAL / CHUNK as u64;
    std::fs::write(&big, wat::parse_str(big_wat(chunks, false)).unwrap()).unwrap();
    let h = Harness::builder()
        .limits(limits)
        .module(ModuleConfig::new("/cat", &cat))
        .module(ModuleConfig::new("/big", &big))
        .module(ModuleConfig::new("/c", e2e::component("component-probe")))
        .build()
        .expect("the guests load");
    let server = h.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (dir, server)
}

/// This process's resident set size, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}

/// Samples [`rss`] every 10 ms on its own thread until dropped; keeps the peak.
struct RssPeak {
    peak: Arc<Mutex<u64>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssPeak {
    fn start() -> Self {
        let peak = Arc::new(Mutex::new(rss()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (peak, stop) = (peak.clone(), stop.clone());
            move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let now = rss();
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(now);
                    drop(p);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        Self {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let peak = *self.peak.lock().unwrap();
        peak
    }
}

/// A request body of `total` bytes made on the fly in 64 KiB chunks of a position-dependent
/// pattern (so a lost, repeated or reordered chunk changes the hash); it hashes what it sends.
struct Generated {
    left: u64,
    index: u64,
    hash: Arc<Mutex<Sha256>>,
}

impl Body for Generated {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(CHUNK as u64) as usize;
        let i = self.index;
        let chunk: Vec<u8> = (0..n)
            .map(|j| ((i.wrapping_mul(31) + j as u64) % 251) as u8)
            .collect();
        self.hash.lock().unwrap().update(&chunk);
        self.left -= n as u64;
        self.index += 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// What came back: status, byte count, hash, and whether the body ended cleanly.
struct Received {
    status: u16,
    bytes: u64,
    hash: [u8; 32],
    complete: bool,
}

/// Sends `req` to `server` and reads the answer chunk by chunk (hashing, keeping nothing),
/// waiting `pause` after the head before reading the body.
async fn exchange<B>(server: &Server, req: http::Request<B>, pause: Duration) -> Received
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<B>();
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().unwrap().as_str().to_string();
    parts.uri = format!("{}{path}", server.url()).parse().unwrap();
    let resp = client
        .request(http::Request::from_parts(parts, body))
        .await
        .unwrap_or_else(|e| panic!("the harness answers {path}: {e:?}"));
    let status = resp.status().as_u16();
    tokio::time::sleep(pause).await;
    let mut body = resp.into_body();
    let mut hash = Sha256::new();
    let mut bytes = 0u64;
    let mut complete = true;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    bytes += data.len() as u64;
                    hash.update(&data);
                }
            }
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    Received {
        status,
        bytes,
        hash: hash.finalize().into(),
        complete,
    }
}

/// Warms the harness up (an instance of each guest, the client's pool) so that the baseline
/// includes what any request costs once.
async fn warm_up(server: &Server) {
    for path in ["/cat", "/c?op=big&bytes=100000"] {
        let req = http::Request::post(path)
            .body(http_body_util::Full::new(Bytes::from(vec![1u8; 100_000])))
            .unwrap();
        let got = exchange(server, req, Duration::ZERO).await;
        assert_eq!(got.status, 200);
    }
}

fn mib(n: u64) -> f64 {
    n as f64 / (1 << 20) as f64
}

/// Runs `transfer` with the RSS sampled; fails if the peak grew past [`MAX_GROWTH`].
async fn within_memory<F: std::future::Future<Output = R>, R>(what: &str, transfer: F) -> R {
    let before = rss();
    let sampler = RssPeak::start();
    let started = Instant::now();
    let result = transfer.await;
    let peak = sampler.finish();
    let growth = peak.saturating_sub(before);
    eprintln!(
        "{what}: RSS before {:.1} MiB, peak {:.1} MiB, growth {:.1} MiB, {:.1} s",
        mib(before),
        mib(peak),
        mib(growth),
        started.elapsed().as_secs_f64()
    );
    assert!(
        growth < MAX_GROWTH,
        "{what}: the harness's RSS grew by {:.1} MiB while moving {} MiB",
        mib(growth),
        TOTAL >> 20
    );
    result
}

/// Sends 256 MiB (generated, hashed as it goes) to `path` and checks every byte comes back,
/// with the harness's RSS bounded meanwhile.
async fn upload_and_back(path: &str, what: &str) {
    let _turn = TURN.lock().await;
    let (_dir, server) = serve(roomy()).await;
    warm_up(&server).await;
    let sent = Arc::new(Mutex::new(Sha256::new()));
    let body = Generated {
        left: TOTAL,
        index: 0,
        hash: sent.clone(),
    };
    let req = http::Request::post(path).body(body).unwrap();
    let got = within_memory(what, exchange(&server, req, Duration::ZERO)).await;
    assert_eq!(got.status, 200);
    assert!(got.complete, "the body ended with an error");
    assert_eq!(got.bytes, TOTAL);
    let sent: [u8; 32] = sent.lock().unwrap().clone().finalize().into();
    assert_eq!(got.hash, sent, "what came back differs from what was sent");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_upload_streams_through_a_module_and_back() {
    upload_and_back(
        "/cat",
        "upload through the cat module (256 MiB in, 256 MiB out)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_upload_streams_through_a_component_and_back() {
    upload_and_back(
        "/c?op=copy",
        "upload through the component probe's copy op (256 MiB in, 256 MiB out)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upload_past_the_cap_is_a_413_or_a_cut_in_both_worlds() {
    let _turn = TURN.lock().await;
    let limits = Limits {
        max_request_body_bytes: 1 << 20,
        ..roomy()
    };
    let (_dir, server) = serve(limits).await;
    for path in ["/cat", "/c?op=copy"] {
        // A body of unknown length (chunked) is cut where it passes the cap. Both guests send
        // their response head before they read, so the response may already be on its way:
        // the client gets a 413, or a response cut short; never a clean end.
        let req = http::Request::post(path).body(Chunked(4 << 20)).unwrap();
        let got = exchange(&server, req, Duration::ZERO).await;
        assert!(
            got.status == 413 || (got.status == 200 && !got.complete),
            "{path}: status {}, {} bytes, complete {}",
            got.status,
            got.bytes,
            got.complete
        );
        assert!(got.bytes <= (1 << 20) + 1024, "{path}: {}", got.bytes);
        // Below the cap, a chunked body arrives whole.
        let req = http::Request::post(path).body(Chunked(512 << 10)).unwrap();
        let got = exchange(&server, req, Duration::ZERO).await;
        assert_eq!(got.status, 200, "{path}");
        assert!(got.complete, "{path}");
        assert_eq!(got.bytes, 512 << 10, "{path}");
    }
    server.shutdown().await;
}

/// A body of this many bytes of 7s without a known size (so it is sent chunked).
struct Chunked(usize);

impl Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.0 == 0 {
            return Poll::Ready(None);
        }
        let n = self.0.min(CHUNK);
        self.0 -= n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![7u8; n])))))
    }
}

/// Downloads 256 MiB of `x` from `path` with a client that waits a second before reading: the
/// guest must wait too, not fill memory. Every byte is checked.
async fn download(path: &str, what: &str) {
    let _turn = TURN.lock().await;
    let (_dir, server) = serve(roomy()).await;
    warm_up(&server).await;
    let req = http::Request::get(path)
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let got = within_memory(what, exchange(&server, req, Duration::from_secs(1))).await;
    assert_eq!(got.status, 200);
    assert!(got.complete);
    assert_eq!(got.bytes, TOTAL);
    let mut expected = Sha256::new();
    let chunk = vec![b'x'; CHUNK];
    for _ in 0..TOTAL / CHUNK as u64 {
        expected.update(&chunk);
    }
    let expected: [u8; 32] = expected.finalize().into();
    assert_eq!(got.hash, expected);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_download_from_a_module_streams_with_backpressure() {
    download(
        "/big",
        "download from the big module (256 MiB, slow reader first)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_download_from_a_component_streams_with_backpressure() {
    download(
        &format!("/c?op=big&bytes={TOTAL}"),
        "download from the component probe (256 MiB, slow reader first)",
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn past_the_head_a_cap_or_a_trap_cuts_the_response_with_a_log_line() {
    let _turn = TURN.lock().await;
    let (logs, _guard) = e2e::capture_logs();
    let limits = Limits {
        max_response_bytes: 1 << 20,
        ..roomy()
    };
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.wasm");
    std::fs::write(&big, wat::parse_str(big_wat(64, false)).unwrap()).unwrap();
    let trap = dir.path().join("trap.wasm");
    std::fs::write(&trap, wat::parse_str(big_wat(8, true)).unwrap()).unwrap();
    let h = Harness::builder()
        .limits(limits)
        .module(ModuleConfig::new("/big", &big))
        .module(ModuleConfig::new("/trap", &trap))
        .module(ModuleConfig::new("/probe", e2e::wasm("cgi-probe")))
        .build()
        .unwrap();
    let server = h.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();

    // 4 MiB of output against a 1 MiB cap: the head went out, then the body is cut.
    let req = http::Request::get("/big")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let got = exchange(&server, req, Duration::ZERO).await;
    assert_eq!(got.status, 200);
    assert!(!got.complete, "the body must be cut");
    assert!(got.bytes <= 1 << 20, "{}", got.bytes);
    assert!(
        logs.text().contains("max_response_bytes"),
        "{}",
        logs.text()
    );

    // A trap right after the headers (within the harness's short hold of the head) is still
    // a 500, as when nothing was written.
    let req = http::Request::get("/probe?mode=trap")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let got = exchange(&server, req, Duration::ZERO).await;
    assert_eq!(got.status, 500);
    assert!(got.complete);

    // A trap once the body is streaming (512 KiB written, more than the channel holds, to a
    // client that waits before reading): the client sees a cut body, the log says why.
    let req = http::Request::get("/trap")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let got = exchange(&server, req, Duration::from_millis(200)).await;
    assert_eq!(got.status, 200);
    assert!(!got.complete, "the body must be cut");
    assert!(got.bytes <= 512 << 10, "{}", got.bytes);
    let text = logs.text();
    assert!(
        text.contains("response cut after its headers were sent") && text.contains("trapped"),
        "{text}"
    );

    // Before the head, the CGI rules still give their answers.
    for (mode, status) in [("noheader", 502), ("nothing", 502), ("location", 302)] {
        let req = http::Request::get(format!("/probe?mode={mode}"))
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let got = exchange(&server, req, Duration::ZERO).await;
        assert_eq!(got.status, status, "mode {mode}");
        assert!(got.complete);
    }
    server.shutdown().await;
}
