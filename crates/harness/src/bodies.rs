//! Request and response bodies as they stream between a client and a guest.
//!
//! A request body reaches the guest as it arrives ([`RequestBody`]: capped at
//! `max_request_body_bytes`, limited to `body_read_timeout`), and a response body goes to the
//! client as the guest writes it ([`OutBody`]). Neither is ever held whole in the host's memory.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// A body as the harness receives it from a client (or from [`crate::Harness::handle`]).
pub(crate) type InBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// A response body as the harness sends it; an error cuts the response short.
pub(crate) type OutBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// A whole body in memory, as an [`OutBody`] (or an [`InBody`]).
pub(crate) fn full(bytes: Bytes) -> OutBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Why a request body stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestFault {
    /// It passed `max_request_body_bytes`.
    TooLarge(u64),
    /// It did not arrive within `body_read_timeout`.
    TimedOut(Duration),
    /// The client's connection failed.
    Failed(String),
}

impl fmt::Display for RequestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(limit) => write!(f, "the request body is larger than {limit} bytes"),
            Self::TimedOut(t) => write!(f, "the request body did not arrive within {t:?}"),
            Self::Failed(e) => write!(f, "the request body could not be read: {e}"),
        }
    }
}

impl std::error::Error for RequestFault {}

impl From<RequestFault> for wasmtime_wasi_http::Error {
    fn from(fault: RequestFault) -> Self {
        match fault {
            RequestFault::TooLarge(limit) => Self::HttpRequestBodySize(Some(limit)),
            RequestFault::TimedOut(_) => Self::ConnectionReadTimeout,
            RequestFault::Failed(_) => Self::ConnectionTerminated,
        }
    }
}

/// What became of a request body, shared between the body (which records) and the dispatcher
/// (which answers 413 or 408 if the guest had not answered yet).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestFaults(Arc<Mutex<Option<RequestFault>>>);

impl RequestFaults {
    /// The fault recorded, if any.
    pub(crate) fn get(&self) -> Option<RequestFault> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, fault: RequestFault) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(fault);
        }
    }
}

/// A client's request body on its way to a guest: fails (and records why) past `limit` bytes,
/// after `deadline`, or when the connection fails.
pub(crate) struct RequestBody {
    inner: InBody,
    limit: u64,
    read: u64,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    faults: RequestFaults,
    route: Arc<str>,
    ended: bool,
}

impl RequestBody {
    /// Wraps `inner`; `timeout` (from now) bounds the whole body when given.
    pub(crate) fn new(
        inner: InBody,
        limit: u64,
        timeout: Option<Duration>,
        route: Arc<str>,
    ) -> (Self, RequestFaults) {
        let faults = RequestFaults::default();
        let deadline =
            timeout.map(|t| Box::pin(tokio::time::sleep_until((Instant::now() + t).into())));
        let body = Self {
            inner,
            limit,
            read: 0,
            timeout: timeout.unwrap_or_default(),
            deadline,
            faults: faults.clone(),
            route,
            ended: false,
        };
        (body, faults)
    }

    fn fail(&mut self, fault: RequestFault) -> Poll<Option<Result<Frame<Bytes>, RequestFault>>> {
        self.ended = true;
        match &fault {
            RequestFault::Failed(_) => {
                tracing::debug!(route = %self.route, "request body cut: {fault}")
            }
            _ => tracing::warn!(route = %self.route, "request body cut: {fault}"),
        }
        self.faults.set(fault.clone());
        Poll::Ready(Some(Err(fault)))
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = RequestFault;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestFault>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read = this.read.saturating_add(data.len() as u64);
                    if this.read > this.limit {
                        let limit = this.limit;
                        return this.fail(RequestFault::TooLarge(limit));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => this.fail(RequestFault::Failed(e.to_string())),
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if let Some(deadline) = this.deadline.as_mut() {
                    if deadline.as_mut().poll(cx).is_ready() {
                        let timeout = this.timeout;
                        return this.fail(RequestFault::TimedOut(timeout));
                    }
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads a response body whole (for [`crate::Harness::handle`]); the error says why it was cut.
pub(crate) async fn collect(body: OutBody) -> Result<Bytes, String> {
    body.collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| e.to_string())
}
