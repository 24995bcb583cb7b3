//! A WAGI module's stdin and stdout as streams between the client and the guest.
//!
//! [`BodyStdin`] gives the guest the request body as it arrives: a read waits for the next
//! chunk from the client, so the client is read only as fast as the guest reads.
//!
//! [`CgiStdout`] keeps the guest's output only until its CGI header block is complete (at most
//! [`MAX_CGI_HEAD`] bytes), parses it with the rules of [`crate::parse_cgi_output`], hands the
//! response head to the dispatcher, then passes the body on through a small bounded channel
//! ([`BODY_CHUNKS`] writes of at most [`WRITE_PERMIT`] bytes): when the client reads slowly the
//! guest's writes wait (`check-write` grants nothing until there is room). Output past
//! `max_response_bytes`, or a guest that stops badly after its headers were sent, cuts the
//! response (the client sees it end early) and leaves a log line.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, Notify};
use wasmtime_wasi::cli::{IsTerminal, StdinStream, StdoutStream};
use wasmtime_wasi::p2::{InputStream, OutputStream, Pollable, StreamError};

use crate::bodies::{RequestBody, RequestFaults};
use crate::cgi_response::{find_blank_line, parse_cgi_head};
use crate::outcome::Outcome;

/// Largest CGI header block a module may write before its blank line.
pub const MAX_CGI_HEAD: usize = 64 << 10;

/// The largest write the guest is told it may make at once.
pub const WRITE_PERMIT: usize = 64 << 10;

/// Body writes held between the guest and the client at most (each up to [`WRITE_PERMIT`]).
pub const BODY_CHUNKS: usize = 4;

/// The request body as a guest's stdin.
#[derive(Clone)]
pub(crate) struct BodyStdin(Arc<tokio::sync::Mutex<StdinState>>);

struct StdinState {
    body: RequestBody,
    pending: Bytes,
    end: Option<Result<(), String>>,
}

impl BodyStdin {
    /// Stdin reading `body`.
    pub(crate) fn new(body: RequestBody) -> Self {
        Self(Arc::new(tokio::sync::Mutex::new(StdinState {
            body,
            pending: Bytes::new(),
            end: None,
        })))
    }
}

impl IsTerminal for BodyStdin {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdinStream for BodyStdin {
    fn p2_stream(&self) -> Box<dyn InputStream> {
        Box::new(self.clone())
    }

    /// Only WASI 0.3 guests use this; the harness links none, so it is always at its end.
    fn async_stream(&self) -> Box<dyn AsyncRead + Send + Sync> {
        Box::new(Unsupported)
    }
}

#[wasmtime_wasi::async_trait]
impl InputStream for BodyStdin {
    fn read(&mut self, size: usize) -> Result<Bytes, StreamError> {
        let Ok(mut state) = self.0.try_lock() else {
            return Err(StreamError::trap(
                "concurrent reads of stdin are not supported",
            ));
        };
        if !state.pending.is_empty() {
            let n = size.min(state.pending.len());
            return Ok(state.pending.split_to(n));
        }
        match &state.end {
            None => Ok(Bytes::new()),
            Some(Ok(())) => Err(StreamError::Closed),
            Some(Err(reason)) => Err(StreamError::LastOperationFailed(wasmtime::format_err!(
                "{reason}"
            ))),
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for BodyStdin {
    async fn ready(&mut self) {
        let mut state = self.0.lock().await;
        while state.pending.is_empty() && state.end.is_none() {
            // `frame` is cancel-safe: a frame is stored as soon as it is taken.
            match state.body.frame().await {
                None => state.end = Some(Ok(())),
                Some(Err(fault)) => state.end = Some(Err(fault.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        state.pending = data;
                    }
                }
            }
        }
    }
}

/// The response head the dispatcher gets: parsed, or why the header block is unusable (a 502).
pub(crate) type Head = Result<http::Response<()>, String>;

/// A module's stdout: the CGI header block, then the body streamed to the client.
#[derive(Clone)]
pub(crate) struct CgiStdout {
    shared: Arc<Mutex<Out>>,
    cut: Arc<Mutex<Option<String>>>,
    /// Notified when the guest has to wait because the body channel is full.
    blocked: Arc<Notify>,
}

struct Out {
    cap: usize,
    written: usize,
    route: Arc<str>,
    phase: Phase,
    head_tx: Option<oneshot::Sender<Head>>,
    body_tx: Option<mpsc::Sender<Bytes>>,
    permit: Option<mpsc::OwnedPermit<Bytes>>,
}

enum Phase {
    /// Collecting the header block.
    Head(BytesMut),
    /// The head was sent; writes go to the client.
    Body,
    /// The header block was refused (the client got a 502): writes are dropped.
    Discard,
    /// Writes fail: the output passed its cap, or the client went away.
    Closed,
}

/// How a module's output ended, once the guest has stopped.
pub(crate) enum OutputEnd {
    /// The head was never complete: the response is the run's outcome (its output, if it
    /// finished, is this much of a header block).
    Headless(Outcome),
    /// The head was sent; the body was completed, or cut because the guest did not finish
    /// cleanly (this is how it ended instead).
    Streamed(Option<Outcome>),
}

/// The receiving end of a module's output: the head, then the body.
pub(crate) struct CgiOutput {
    /// Resolves with the head once the header block is complete; fails if the guest stopped
    /// first.
    pub(crate) head: oneshot::Receiver<Head>,
    /// The body after the head.
    pub(crate) body: ChannelBody,
    /// Notified when the guest waits for the client to read the body (the channel is full):
    /// a guest run inline must then move to a task of its own, since the client reads the
    /// body only once the response is on its way.
    pub(crate) blocked: Arc<Notify>,
}

impl CgiStdout {
    /// A stdout that accepts at most `cap` bytes (header block and body).
    pub(crate) fn new(cap: usize, route: Arc<str>) -> (Self, CgiOutput) {
        let (head_tx, head_rx) = oneshot::channel();
        let (body_tx, body_rx) = mpsc::channel(BODY_CHUNKS);
        let cut = Arc::new(Mutex::new(None));
        let out_route = route.clone();
        let out = Out {
            cap,
            written: 0,
            route,
            phase: Phase::Head(BytesMut::new()),
            head_tx: Some(head_tx),
            body_tx: Some(body_tx),
            permit: None,
        };
        let blocked = Arc::new(Notify::new());
        let stdout = Self {
            shared: Arc::new(Mutex::new(out)),
            cut: cut.clone(),
            blocked: blocked.clone(),
        };
        let output = CgiOutput {
            head: head_rx,
            body: ChannelBody {
                held: None,
                rx: body_rx,
                cut,
                route: out_route,
                request: None,
                done: false,
            },
            blocked,
        };
        (stdout, output)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Out> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the body with an error the client sees as a cut response (logged with `reason`
    /// when the client gets it).
    fn cut_with(&self, out: &mut Out, reason: String) {
        *self.cut.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        out.phase = Phase::Closed;
        out.body_tx = None;
        out.permit = None;
    }

    /// Called once the guest has stopped with `outcome`: closes the body (complete when the
    /// guest finished, cut otherwise), or gives back the outcome when no head was sent.
    pub(crate) fn finish(&self, outcome: Outcome) -> OutputEnd {
        let mut out = self.lock();
        out.head_tx = None;
        match std::mem::replace(&mut out.phase, Phase::Closed) {
            Phase::Head(buf) => OutputEnd::Headless(match outcome {
                Outcome::Finished(_) => Outcome::Finished(buf.freeze()),
                other => other,
            }),
            Phase::Body => match outcome {
                Outcome::Finished(_) => {
                    out.body_tx = None;
                    out.permit = None;
                    OutputEnd::Streamed(None)
                }
                other => {
                    self.cut_with(&mut out, other.describe());
                    OutputEnd::Streamed(Some(other))
                }
            },
            Phase::Discard | Phase::Closed => {
                out.body_tx = None;
                out.permit = None;
                OutputEnd::Streamed(match outcome {
                    Outcome::Finished(_) => None,
                    other => Some(other),
                })
            }
        }
    }

    /// Takes `bytes` while the header block is incomplete; sends the head once it is.
    fn take_head(&self, out: &mut Out, bytes: &[u8]) -> Result<(), StreamError> {
        let Phase::Head(buf) = &mut out.phase else {
            return Ok(());
        };
        let from = buf.len().saturating_sub(2);
        buf.extend_from_slice(bytes);
        let found = find_blank_line(&buf[from..]).map(|(e, s)| (from + e, from + s));
        let Some((head_end, body_start)) = found.filter(|(e, _)| *e <= MAX_CGI_HEAD) else {
            if buf.len() > MAX_CGI_HEAD {
                let reason = format!(
                    "the module's CGI headers are larger than {MAX_CGI_HEAD} bytes (no blank line after its headers within them)"
                );
                if let Some(tx) = out.head_tx.take() {
                    let _ = tx.send(Err(reason));
                }
                out.phase = Phase::Discard;
            }
            return Ok(());
        };
        let mut rest = buf.split_off(head_end);
        let head = parse_cgi_head(&buf[..head_end]);
        let rest = rest.split_off(body_start - head_end).freeze();
        let ok = head.is_ok();
        let delivered = match out.head_tx.take() {
            Some(tx) => tx.send(head).is_ok(),
            None => false,
        };
        if !ok {
            out.phase = Phase::Discard;
            return Ok(());
        }
        if !delivered {
            out.phase = Phase::Closed;
            return Err(StreamError::Closed);
        }
        out.phase = Phase::Body;
        if !rest.is_empty() {
            // Nothing was sent before the head, so the channel has room.
            let sent = out.body_tx.as_ref().map(|tx| tx.try_send(rest).is_ok());
            if sent != Some(true) {
                out.phase = Phase::Closed;
                return Err(StreamError::Closed);
            }
        }
        Ok(())
    }
}

impl IsTerminal for CgiStdout {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CgiStdout {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    /// Only WASI 0.3 guests use this; the harness links none, so every write fails.
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(Unsupported)
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CgiStdout {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        let mut out = self.lock();
        if matches!(out.phase, Phase::Closed) {
            return Err(StreamError::Closed);
        }
        if bytes.len() > WRITE_PERMIT {
            return Err(StreamError::trap("a write larger than check-write allowed"));
        }
        out.written = out.written.saturating_add(bytes.len());
        if out.written > out.cap {
            let cap = out.cap;
            let reason = format!(
                "the module wrote more than max_response_bytes ({cap} bytes); raise max_response_mib in [limits]"
            );
            tracing::warn!(route = %out.route, "{reason}");
            match out.phase {
                Phase::Body => self.cut_with(&mut out, reason),
                _ => out.phase = Phase::Closed,
            }
            return Err(StreamError::LastOperationFailed(wasmtime::format_err!(
                "the response is larger than the host's limit of {cap} bytes"
            )));
        }
        match out.phase {
            Phase::Head(_) => self.take_head(&mut out, &bytes),
            Phase::Body => {
                let sent = match out.permit.take() {
                    Some(permit) => {
                        permit.send(bytes);
                        true
                    }
                    None => out
                        .body_tx
                        .as_ref()
                        .is_some_and(|tx| tx.try_send(bytes).is_ok()),
                };
                if sent {
                    Ok(())
                } else {
                    out.phase = Phase::Closed;
                    Err(StreamError::Closed)
                }
            }
            Phase::Discard => Ok(()),
            Phase::Closed => Err(StreamError::Closed),
        }
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        match self.lock().phase {
            Phase::Closed => Err(StreamError::Closed),
            _ => Ok(()),
        }
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        let out = self.lock();
        match out.phase {
            Phase::Head(_) | Phase::Discard => Ok(WRITE_PERMIT),
            Phase::Body => match &out.body_tx {
                None => Err(StreamError::Closed),
                // The guest is the only sender, so room seen here is still there at its write.
                Some(tx) if out.permit.is_some() || tx.capacity() > 0 => Ok(WRITE_PERMIT),
                Some(_) => Ok(0),
            },
            Phase::Closed => Err(StreamError::Closed),
        }
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CgiStdout {
    async fn ready(&mut self) {
        let tx = {
            let out = self.lock();
            match (&out.phase, &out.permit, &out.body_tx) {
                // A permit is reserved only to wait for room: with room, the write sends at
                // once (no permit to take and give back for each write).
                (Phase::Body, None, Some(tx)) if tx.capacity() == 0 => tx.clone(),
                _ => return,
            }
        };
        let reserved = match tx.try_reserve_owned() {
            Ok(permit) => Ok(permit),
            Err(TrySendError::Full(tx)) => {
                // Waits while the client is slower than the guest: the channel is full.
                self.blocked.notify_one();
                tx.reserve_owned().await
            }
            Err(TrySendError::Closed(tx)) => tx.reserve_owned().await,
        };
        let mut out = self.lock();
        match reserved {
            Ok(permit) if matches!(out.phase, Phase::Body) && out.body_tx.is_some() => {
                out.permit = Some(permit)
            }
            Ok(_) => {}
            Err(_) => {
                tracing::debug!(route = %out.route, "the client went away while the module was writing its response");
                out.phase = Phase::Closed;
                out.body_tx = None;
            }
        }
    }
}

/// The body of a module's response: what the guest writes after its header block.
pub(crate) struct ChannelBody {
    /// Bytes taken from the channel by [`ChannelBody::take_finished`] that go out first.
    held: Option<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    cut: Arc<Mutex<Option<String>>>,
    route: Arc<str>,
    request: Option<RequestFaults>,
    done: bool,
}

impl ChannelBody {
    /// Makes the body end with an error, not cleanly, if the request body was cut (past its
    /// cap or deadline): the guest answered without all of its input.
    pub(crate) fn cut_if_request_fails(mut self, faults: RequestFaults) -> Self {
        self.request = Some(faults);
        self
    }

    /// The whole body in one piece, when the guest has finished cleanly and everything it
    /// wrote is waiting here (so the response can go out with a length, head and body in one
    /// write); `None` when the body must stream: the guest is still writing, its output was
    /// cut, or the request body failed.
    pub(crate) fn take_finished(&mut self, request: &RequestFaults) -> Option<Bytes> {
        if request.get().is_some() || self.cut.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
            return None;
        }
        let mut chunks: Vec<Bytes> = self.held.take().into_iter().collect();
        loop {
            match self.rx.try_recv() {
                Ok(chunk) => chunks.push(chunk),
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.done = true;
                    return Some(joined(chunks));
                }
                Err(mpsc::error::TryRecvError::Empty) => {
                    // A writer is still there: keep what was taken, in order, for the stream.
                    self.held = Some(joined(chunks)).filter(|b| !b.is_empty());
                    return None;
                }
            }
        }
    }
}

/// The chunks as one `Bytes` (a single chunk as it is, without a copy).
fn joined(mut chunks: Vec<Bytes>) -> Bytes {
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut whole = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
    for chunk in &chunks {
        whole.extend_from_slice(chunk);
    }
    whole.freeze()
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(held) = self.held.take() {
            return Poll::Ready(Some(Ok(Frame::data(held))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Poll::Ready(None) => {
                self.done = true;
                let cut = self.cut.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let cut = cut.or_else(|| {
                    let fault = self.request.as_ref()?.get()?;
                    Some(format!("{fault}; the handler answered without all of it"))
                });
                match cut {
                    Some(reason) => {
                        tracing::warn!(
                            route = %self.route,
                            "response cut after its headers were sent: {reason}"
                        );
                        Poll::Ready(Some(Err(io::Error::other(reason))))
                    }
                    None => Poll::Ready(None),
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The `async_stream` side of stdin and stdout, which only WASI 0.3 guests use.
struct Unsupported;

impl AsyncRead for Unsupported {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Unsupported {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this stream serves WASI 0.1 and 0.2 guests",
        )))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn stdout(cap: usize) -> (CgiStdout, CgiOutput) {
        CgiStdout::new(cap, "/t".into())
    }

    #[tokio::test]
    async fn a_head_split_across_writes_then_the_body() {
        let (mut out, output) = stdout(1 << 20);
        out.write(Bytes::from_static(b"Content-Type: text/pl"))
            .unwrap();
        out.write(Bytes::from_static(b"ain\r\n")).unwrap();
        out.write(Bytes::from_static(b"\r\nhel")).unwrap();
        let head = output.head.await.unwrap().unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-type"], "text/plain");
        out.ready().await;
        assert_eq!(out.check_write().unwrap(), WRITE_PERMIT);
        out.write(Bytes::from_static(b"lo")).unwrap();
        assert!(matches!(
            out.finish(Outcome::Finished(Bytes::new())),
            OutputEnd::Streamed(None)
        ));
        drop(out);
        let body = output.body.collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello");
    }

    #[tokio::test]
    async fn a_finished_body_is_taken_whole_and_a_running_one_keeps_streaming() {
        let (mut out, mut output) = stdout(1 << 20);
        out.write(Bytes::from_static(b"Content-Type: a/b\n\nhe"))
            .unwrap();
        output.head.await.unwrap().unwrap();
        out.ready().await;
        out.write(Bytes::from_static(b"ll")).unwrap();
        // Still writing: nothing is taken for good, the stream gets every byte in order.
        let faults = RequestFaults::default();
        assert_eq!(output.body.take_finished(&faults), None);
        out.ready().await;
        out.write(Bytes::from_static(b"o")).unwrap();
        assert!(matches!(
            out.finish(Outcome::Finished(Bytes::new())),
            OutputEnd::Streamed(None)
        ));
        assert_eq!(
            output.body.take_finished(&faults).as_deref(),
            Some(&b"hello"[..])
        );
        assert!(output.body.is_end_stream());
    }

    #[tokio::test]
    async fn a_full_channel_grants_nothing_until_the_client_reads() {
        let (mut out, mut output) = stdout(1 << 20);
        out.write(Bytes::from_static(b"Content-Type: a/b\n\n"))
            .unwrap();
        output.head.await.unwrap().unwrap();
        for _ in 0..BODY_CHUNKS {
            out.ready().await;
            out.write(Bytes::from(vec![1u8; WRITE_PERMIT])).unwrap();
        }
        assert_eq!(out.check_write().unwrap(), 0);
        // While the channel had room, the dispatcher was never told the guest waits.
        let told = output.blocked.notified();
        tokio::pin!(told);
        assert!(
            !told.as_mut().enable(),
            "told the guest waits before it did"
        );
        let blocked = tokio::time::timeout(std::time::Duration::from_millis(50), out.ready()).await;
        assert!(
            blocked.is_err(),
            "ready must wait while the channel is full"
        );
        // Now it is told (the notification happened before the wait above ended).
        let within = std::time::Duration::from_secs(5);
        assert!(tokio::time::timeout(within, told).await.is_ok());
        let frame = output.body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap().len(), WRITE_PERMIT);
        out.ready().await;
        assert_eq!(out.check_write().unwrap(), WRITE_PERMIT);
    }

    #[tokio::test]
    async fn output_past_the_cap_fails_the_write_and_cuts_the_body() {
        let (mut out, output) = stdout(64);
        out.write(Bytes::from_static(b"Content-Type: a/b\n\n0123"))
            .unwrap();
        output.head.await.unwrap().unwrap();
        out.ready().await;
        assert!(out.write(Bytes::from(vec![0u8; 100])).is_err());
        assert!(out.check_write().is_err());
        drop(out);
        let mut body = output.body;
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(&first.into_data().unwrap()[..], b"0123");
        let cut = body.frame().await.unwrap().unwrap_err();
        assert!(cut.to_string().contains("max_response_bytes"), "{cut}");
    }

    #[tokio::test]
    async fn a_trap_after_the_head_cuts_the_body() {
        let (mut out, output) = stdout(1 << 20);
        out.write(Bytes::from_static(b"Status: 201\n\npartial"))
            .unwrap();
        assert_eq!(output.head.await.unwrap().unwrap().status(), 201);
        out.finish(Outcome::Trapped("unreachable".into()));
        drop(out);
        let err = output.body.collect().await.unwrap_err();
        assert!(err.to_string().contains("trapped"), "{err}");
    }

    #[tokio::test]
    async fn bad_or_oversized_heads_are_refused_and_later_writes_dropped() {
        let (mut out, output) = stdout(1 << 20);
        out.write(Bytes::from_static(b"Status: 101\nContent-Type: a/b\n\nx"))
            .unwrap();
        let reason = output.head.await.unwrap().unwrap_err();
        assert!(reason.contains("not a valid status"), "{reason}");
        out.write(Bytes::from_static(b"more")).unwrap();

        let (mut out, output) = stdout(1 << 20);
        for _ in 0..=MAX_CGI_HEAD / 1024 {
            out.write(Bytes::from(vec![b'a'; 1024])).unwrap();
        }
        let reason = output.head.await.unwrap().unwrap_err();
        assert!(reason.contains("larger than"), "{reason}");
    }

    #[tokio::test]
    async fn a_guest_that_stops_before_its_head_gives_its_output_back() {
        let (mut out, output) = stdout(1 << 20);
        out.write(Bytes::from_static(b"no blank line")).unwrap();
        match out.finish(Outcome::Finished(Bytes::new())) {
            OutputEnd::Headless(Outcome::Finished(bytes)) => {
                assert_eq!(&bytes[..], b"no blank line")
            }
            _ => panic!("expected the output back"),
        }
        assert!(output.head.await.is_err());
    }
}
