//! A guest's stderr: kept up to a cap for the log, never an error for the guest.
//!
//! wasmtime's `MemoryOutputPipe` refuses writes past its capacity, so a guest that printed more
//! than the cap saw its next `eprintln!` fail (and Rust's `eprintln!` panics on failure: the
//! request became a 500). [`GuestLog`] accepts every write, keeps the first
//! [`GuestLog::new`]`(cap)` bytes and counts the rest, and the log shows a marker where it cut.
//! The log lines of one request are summarised by [`GuestLog::log_lines`] so that a flooding
//! guest costs a bounded number of log lines.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Most stderr lines of one request written to the log one by one; the rest are summarised.
pub const MAX_LOG_LINES: usize = 50;

/// The largest write the guest is told it may make at once (it may make as many as it likes).
const WRITE_PERMIT: usize = 64 * 1024;

/// A guest's stderr for one request: the first `cap` bytes, and a count of the bytes dropped.
///
/// ```
/// use harness::GuestLog;
/// let log = GuestLog::new(8);
/// log.append(b"0123456789");
/// log.append(b"more");
/// assert_eq!(log.dropped(), 6);
/// assert_eq!(&log.contents()[..], b"01234567\n[truncated: 6 more bytes of stderr]\n");
/// ```
#[derive(Clone, Debug)]
pub struct GuestLog {
    cap: usize,
    state: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    bytes: Vec<u8>,
    dropped: u64,
}

impl GuestLog {
    /// A log that keeps at most `cap` bytes.
    ///
    /// ```
    /// assert!(harness::GuestLog::new(1024).contents().is_empty());
    /// ```
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            state: Arc::default(),
        }
    }

    /// Takes `data`: kept while under the cap, counted past it. Never fails.
    ///
    /// ```
    /// let log = harness::GuestLog::new(4);
    /// log.append(b"ab");
    /// log.append(b"cdef");
    /// assert_eq!(log.dropped(), 2);
    /// ```
    pub fn append(&self, data: &[u8]) {
        let mut kept = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.cap.saturating_sub(kept.bytes.len());
        let take = room.min(data.len());
        kept.bytes.extend_from_slice(&data[..take]);
        kept.dropped += (data.len() - take) as u64;
    }

    /// Bytes written past the cap and not kept.
    ///
    /// ```
    /// assert_eq!(harness::GuestLog::new(4).dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).dropped
    }

    /// What was kept, followed by a `[truncated: N more bytes of stderr]` line when bytes were
    /// dropped.
    ///
    /// ```
    /// let log = harness::GuestLog::new(64);
    /// log.append(b"hello\n");
    /// assert_eq!(&log.contents()[..], b"hello\n");
    /// ```
    pub fn contents(&self) -> Bytes {
        let kept = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = kept.bytes.clone();
        if kept.dropped > 0 {
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(
                format!("[truncated: {} more bytes of stderr]\n", kept.dropped).as_bytes(),
            );
        }
        out.into()
    }

    /// The lines to log for one request: the first [`MAX_LOG_LINES`] lines of `stderr` as they
    /// are, then one line counting the rest, then the `[truncated: ...]` marker of
    /// [`GuestLog::contents`] if there is one, so a flooding guest costs a bounded number of
    /// log lines.
    ///
    /// ```
    /// let text: String = (0..60).map(|i| format!("line {i}\n")).collect();
    /// let lines = harness::GuestLog::log_lines(text.as_bytes());
    /// assert_eq!(lines.len(), harness::guest_log::MAX_LOG_LINES + 1);
    /// assert_eq!(lines[0], "line 0");
    /// assert!(lines.last().unwrap().contains("10 more lines"), "{lines:?}");
    /// ```
    pub fn log_lines(stderr: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(stderr);
        let mut lines: Vec<String> = Vec::new();
        let (mut more, mut more_bytes) = (0usize, 0usize);
        let mut marker = None;
        for line in text.lines() {
            if line.starts_with("[truncated: ") {
                // Written by `contents`; always shown, after the summary.
                marker = Some(line.to_string());
            } else if lines.len() < MAX_LOG_LINES {
                lines.push(line.to_string());
            } else {
                more += 1;
                more_bytes += line.len() + 1;
            }
        }
        if more > 0 {
            lines.push(format!(
                "[{more} more lines ({more_bytes} bytes) of stderr from this request not logged one by one]"
            ));
        }
        lines.extend(marker);
        lines
    }
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestLog {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestLog {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
