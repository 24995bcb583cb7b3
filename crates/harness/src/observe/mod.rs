//! What the harness saw, for the dashboard and `/metrics`: one [`RequestRecord`] per routed
//! request, emitted once when its response body ends (both worlds), a bounded ring of the
//! newest and a broadcast of each new one for live viewers, per-second figures for the chart,
//! and Prometheus metrics on atomics.
//!
//! The request path pays one small record per request and a few atomic adds; nothing on it
//! waits for a viewer (a slow viewer misses records instead).

mod calls;
mod histogram;
mod metrics;
mod recent;
mod record;
mod series;
mod tracker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

pub(crate) use calls::{current as current_calls, scoped, CallList};
pub(crate) use metrics::{Metrics, ModuleMeters, ModuleSeries};
pub use record::{CallResult, OutboundCall, RequestRecord, MAX_CALLS_PER_RECORD};
pub use series::SecondPoint;
pub(crate) use tracker::{unix_ms, Tracker};

/// The response, followed to the end of its body when the request is tracked.
pub(crate) fn finish(
    tracker: Option<Tracker>,
    response: http::Response<crate::bodies::OutBody>,
    timings: crate::outcome::Timings,
) -> http::Response<crate::bodies::OutBody> {
    match tracker {
        Some(t) => t.finish(response, timings),
        None => response,
    }
}

/// The request body, counted when the request is tracked.
pub(crate) fn count_in(
    tracker: Option<&Tracker>,
    body: crate::bodies::InBody,
) -> crate::bodies::InBody {
    match tracker {
        Some(t) => t.count_in(body),
        None => body,
    }
}

/// A routed module as the dashboard lists it. Its `environment` values are never shown (they
/// hold keys): only the variable names.
///
/// ```
/// let route = harness::observe::RouteInfo {
///     route: "/hello".into(), module: "hello.wasm".into(), world: "module".into(),
///     size_bytes: 58_000, compile_ms: 12.5, allowed_hosts: vec![],
///     environment_names: vec!["STORAGE_MASTER_KEY".into()],
/// };
/// let json = serde_json::to_string(&route)?;
/// assert!(json.contains("STORAGE_MASTER_KEY"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouteInfo {
    /// The route (`/x/...` for a prefix).
    pub route: String,
    /// The module file.
    pub module: String,
    /// `module` (WAGI, wasm32-wasip1) or `component` (wasi:http, wasm32-wasip2).
    pub world: String,
    /// The file's size.
    pub size_bytes: u64,
    /// Compiling (or loading from the compiled-code cache) and pre-instantiating, in ms.
    pub compile_ms: f64,
    /// The module's `allowed_hosts` entries.
    pub allowed_hosts: Vec<String>,
    /// The names of its `environment` variables (never their values).
    pub environment_names: Vec<String>,
}

impl RouteInfo {
    /// The entry of a prepared module that took `compile` to prepare.
    pub(crate) fn of(module: &crate::prepared::PreparedModule, compile: Duration) -> Self {
        let config = module.config();
        let world = match module {
            crate::prepared::PreparedModule::Wagi(_) => "module",
            crate::prepared::PreparedModule::Component(_) => "component",
        };
        Self {
            route: config.route.clone(),
            module: config.module.display().to_string(),
            world: world.into(),
            size_bytes: std::fs::metadata(&config.module)
                .map(|m| m.len())
                .unwrap_or(0),
            compile_ms: compile.as_secs_f64() * 1e3,
            allowed_hosts: config.allowed_hosts.clone(),
            environment_names: config.environment.keys().cloned().collect(),
        }
    }
}

/// The observation of one harness; cheap to clone.
#[derive(Clone)]
pub(crate) struct Observer {
    inner: Arc<Inner>,
}

struct Inner {
    metrics: Arc<Metrics>,
    recent: recent::Recent,
    series: series::Series,
    next_id: AtomicU64,
    routes: Vec<RouteInfo>,
}

impl Observer {
    /// An observer of `routes` keeping the newest `recent` records;
    /// `meters` are the modules' own counters, in the order of `routes`.
    pub(crate) fn new(
        routes: Vec<RouteInfo>,
        meters: Vec<ModuleMeters>,
        recent: usize,
        limits: &crate::Limits,
    ) -> Self {
        let modules = routes
            .iter()
            .zip(meters)
            .map(|(r, meters)| ModuleSeries {
                route: r.route.as_str().into(),
                module: module_label(&r.module),
                instantiate: Default::default(),
                meters,
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                metrics: Arc::new(Metrics::new(
                    modules,
                    limits.max_instances,
                    limits.max_connections,
                )),
                recent: recent::Recent::new(recent),
                series: series::Series::default(),
                next_id: AtomicU64::new(1),
                routes,
            }),
        }
    }

    /// Starts following a request to module `index`.
    pub(crate) fn track(
        &self,
        index: usize,
        route: Arc<str>,
        method: &http::Method,
        path: &str,
    ) -> Tracker {
        Tracker::new(self.clone(), index, route, method, path)
    }

    pub(crate) fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Numbers, keeps and broadcasts a finished request's record.
    fn emit(&self, mut record: RequestRecord, total: Duration) {
        record.id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let ended = (record.at_unix_ms + u64::try_from(total.as_millis()).unwrap_or(0)) / 1000;
        self.inner.series.add(ended, total);
        self.inner.recent.push(record);
    }

    /// The routed modules.
    pub(crate) fn routes(&self) -> &[RouteInfo] {
        &self.inner.routes
    }

    /// The kept records, oldest first.
    pub(crate) fn recent(&self) -> Vec<Arc<RequestRecord>> {
        self.inner.recent.snapshot()
    }

    /// A live feed of new records.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<RequestRecord>> {
        self.inner.recent.subscribe()
    }

    /// The chart's seconds up to now.
    pub(crate) fn series(&self) -> Vec<SecondPoint> {
        self.inner.series.points(unix_ms() / 1000)
    }

    /// `/metrics` in the Prometheus text format.
    pub(crate) fn render_metrics(&self, out: &mut String) {
        self.inner.metrics.render(out);
    }

    /// Counts an open client connection until the guard is dropped.
    pub(crate) fn connection(&self) -> ConnectionGuard {
        self.inner
            .metrics
            .connections_open
            .fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.inner.metrics.clone())
    }
}

/// An open client connection, counted in `harness_connections_open` while held.
pub(crate) struct ConnectionGuard(Arc<Metrics>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The module label: the file name, not the whole path.
fn module_label(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}
