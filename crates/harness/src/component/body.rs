//! Bodies between the host and a component: the capped, time-limited upstream response body a
//! guest reads, and collecting the guest's own response body.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;
use wasmtime_wasi_http::{Error, WasiBody};

use crate::outbound::OutboundPolicy;

/// An upstream response body that fails once it passes the policy's `max_body` bytes or its
/// deadline (the end of the call's `outbound_timeout`).
pub(crate) struct LimitedBody {
    inner: WasiBody,
    policy: Arc<OutboundPolicy>,
    read: u64,
    deadline: Pin<Box<Sleep>>,
    failed: bool,
}

impl LimitedBody {
    pub(crate) fn new(inner: WasiBody, policy: Arc<OutboundPolicy>, deadline: Instant) -> Self {
        Self {
            inner,
            policy,
            read: 0,
            deadline: Box::pin(tokio::time::sleep_until(deadline.into())),
            failed: false,
        }
    }
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read = this.read.saturating_add(data.len() as u64);
                    if this.read > this.policy.max_body {
                        this.failed = true;
                        this.policy.log_body_too_large();
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(
                            this.policy.max_body,
                        )))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    this.failed = true;
                    tracing::warn!(
                        route = %this.policy.route,
                        "outbound response body not complete within {:?}",
                        this.policy.timeout
                    );
                    return Poll::Ready(Some(Err(Error::ConnectionReadTimeout)));
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How reading the guest's response body ended.
pub(crate) enum Collected {
    /// The whole body.
    Done(Bytes),
    /// It passed the limit.
    TooLarge,
    /// The deadline passed first.
    TimedOut,
    /// The body stream failed (the guest dropped it unfinished, or trapped).
    Failed(String),
}

/// Reads `body` whole, up to `max` bytes, until `deadline`.
pub(crate) async fn collect<B>(mut body: B, max: usize, deadline: Instant) -> Collected
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut buf = BytesMut::new();
    loop {
        match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_) => return Collected::TimedOut,
            Ok(None) => return Collected::Done(buf.freeze()),
            Ok(Some(Err(e))) => return Collected::Failed(e.to_string()),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len().saturating_add(data.len()) > max {
                        return Collected::TooLarge;
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
}
