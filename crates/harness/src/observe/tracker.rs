//! Following one routed request from its arrival to the end of its response body, where its
//! record is emitted once.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};

use super::calls::CallList;
use super::record::RequestRecord;
use super::Observer;
use crate::bodies::{InBody, OutBody};
use crate::outcome::Timings;

/// One request being followed; see [`Observer::track`].
pub(crate) struct Tracker {
    observer: Observer,
    index: usize,
    route: Arc<str>,
    method: String,
    path: String,
    arrived: Instant,
    at_unix_ms: u64,
    calls: Arc<CallList>,
    bytes_in: Arc<AtomicU64>,
}

impl Tracker {
    pub(crate) fn new(
        observer: Observer,
        index: usize,
        route: Arc<str>,
        method: &http::Method,
        path: &str,
    ) -> Self {
        observer.metrics().in_flight.fetch_add(1, Ordering::Relaxed);
        let calls = Arc::new(CallList::new(observer.metrics().clone(), route.clone()));
        Self {
            observer,
            index,
            route,
            method: method.as_str().to_string(),
            path: path.to_string(),
            arrived: Instant::now(),
            at_unix_ms: unix_ms(),
            calls,
            bytes_in: Arc::default(),
        }
    }

    /// The list the request's outbound calls go to.
    pub(crate) fn calls(&self) -> Arc<CallList> {
        self.calls.clone()
    }

    /// The request body, counted as the guest reads it.
    pub(crate) fn count_in(&self, body: InBody) -> InBody {
        Counted {
            inner: body,
            bytes: self.bytes_in.clone(),
            finish: None,
        }
        .boxed_unsync()
    }

    /// The response, whose body is counted; the record is emitted when the body ends or is
    /// dropped.
    pub(crate) fn finish(self, response: Response<OutBody>, timings: Timings) -> Response<OutBody> {
        let status = response.status().as_u16();
        let bytes = Arc::new(AtomicU64::new(0));
        let finish = Finish {
            tracker: self,
            status,
            timings,
            bytes_out: bytes.clone(),
        };
        response.map(|body| {
            Counted {
                inner: body,
                bytes,
                finish: Some(finish),
            }
            .boxed_unsync()
        })
    }
}

/// Emits the record when dropped (the response body ended, was cut, or was never polled).
struct Finish {
    tracker: Tracker,
    status: u16,
    timings: Timings,
    bytes_out: Arc<AtomicU64>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let t = &self.tracker;
        let total = t.arrived.elapsed();
        let (outbound, outbound_not_kept) = t.calls.take();
        let record = RequestRecord {
            id: 0,
            at_unix_ms: t.at_unix_ms,
            route: t.route.to_string(),
            method: std::mem::take(&mut self.tracker.method),
            path: std::mem::take(&mut self.tracker.path),
            status: self.status,
            instantiate_us: micros(self.timings.instantiate),
            run_us: micros(self.timings.run),
            total_us: micros(total),
            bytes_in: self.tracker.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            outbound,
            outbound_not_kept,
        };
        let observer = &self.tracker.observer;
        observer.metrics().in_flight.fetch_sub(1, Ordering::Relaxed);
        observer.metrics().request(
            self.tracker.index,
            self.status,
            total,
            self.timings.instantiate,
        );
        observer.emit(record, total);
    }
}

/// A body whose data bytes are counted; holds the request's [`Finish`] when it is the
/// response body.
struct Counted {
    inner: OutBody,
    bytes: Arc<AtomicU64>,
    finish: Option<Finish>,
}

impl Body for Counted {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                }
            }
            // The end: the record goes out now rather than when hyper drops the body.
            Poll::Ready(None) => drop(self.finish.take()),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Now, in milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
