//! The outbound calls of the request being run: a task-local list the outbound call log of
//! either world picks up when it is created, so no run signature changes.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::metrics::Metrics;
use super::record::{OutboundCall, MAX_CALLS_PER_RECORD};

tokio::task_local! {
    static CURRENT: Arc<CallList>;
}

/// The outbound calls of one request (at most [`MAX_CALLS_PER_RECORD`] kept, all counted in
/// the metrics).
pub(crate) struct CallList {
    metrics: Arc<Metrics>,
    route: Arc<str>,
    calls: Mutex<Vec<OutboundCall>>,
    not_kept: AtomicU32,
}

impl CallList {
    pub(crate) fn new(metrics: Arc<Metrics>, route: Arc<str>) -> Self {
        Self {
            metrics,
            route,
            calls: Mutex::default(),
            not_kept: AtomicU32::new(0),
        }
    }

    /// Counts `call` and keeps it while there is room.
    pub(crate) fn record(&self, call: OutboundCall) {
        self.metrics
            .outbound(&self.route, &call.destination, call.result);
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if calls.len() < MAX_CALLS_PER_RECORD {
            calls.push(call);
        } else {
            self.not_kept.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The kept calls and how many were not kept.
    pub(crate) fn take(&self) -> (Vec<OutboundCall>, u32) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(|e| e.into_inner()));
        (calls, self.not_kept.load(Ordering::Relaxed))
    }
}

/// The call list of the request this task runs, if it is observed.
pub(crate) fn current() -> Option<Arc<CallList>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// Runs `f` with `calls` as the current request's call list.
pub(crate) async fn scoped<F: Future>(calls: Option<Arc<CallList>>, f: F) -> F::Output {
    match calls {
        Some(calls) => CURRENT.scope(calls, f).await,
        None => f.await,
    }
}
