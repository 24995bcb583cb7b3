//! The capped, time-limited upstream response body a component reads. (The guest's own
//! response body streams to the client through [`super::run`].)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;
use wasmtime_wasi_http::{Error, WasiBody};

use crate::outbound::OutboundPolicy;

/// An upstream response body that fails once it passes the policy's `max_body` bytes, its
/// deadline (the end of the call's `outbound_timeout`), or the guest's between-bytes timeout.
pub(crate) struct LimitedBody {
    inner: WasiBody,
    policy: Arc<OutboundPolicy>,
    read: u64,
    deadline: Pin<Box<Sleep>>,
    between: Duration,
    idle: Pin<Box<Sleep>>,
    failed: bool,
}

impl LimitedBody {
    pub(crate) fn new(
        inner: WasiBody,
        policy: Arc<OutboundPolicy>,
        deadline: Instant,
        between: Duration,
    ) -> Self {
        Self {
            inner,
            policy,
            read: 0,
            deadline: Box::pin(tokio::time::sleep_until(deadline.into())),
            between,
            idle: Box::pin(tokio::time::sleep(between)),
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
                let next = tokio::time::Instant::now() + this.between;
                this.idle.as_mut().reset(next);
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
                if this.idle.as_mut().poll(cx).is_ready() {
                    this.failed = true;
                    tracing::warn!(
                        route = %this.policy.route,
                        "outbound response body sent nothing for {:?} (the guest's between-bytes timeout)",
                        this.between
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
