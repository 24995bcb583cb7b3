//! The harness: modules prepared once, then a fresh instance per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Body;
use wasmtime::Engine;

use crate::bodies::{collect, full, InBody, OutBody, RequestBody, RequestFault, RequestFaults};
use crate::catch_panic::CatchPanic;
use crate::cgi_stream::{BodyStdin, CgiStdout, OutputEnd};
use crate::dashboard::Dashboard;
use crate::engine::{build_engine, EpochTicker};
use crate::hops::{Admission, HopGate};
use crate::instance::{RunInput, RunStdio};
use crate::observe::{ModuleMeters, Observer, RouteInfo};
use crate::outcome::{log_guest_stderr, response_for, text, Outcome, RunClock, Timings};
use crate::prepared::{prepare, Linkers, PreparedModule};
use crate::routes::{Route, RouteTable};
use crate::{CacheConfig, DashboardConfig, Error, HarnessConfig, Limits, ModuleConfig, Result};

/// A host for WebAssembly HTTP handlers: routes requests to modules and runs each in a fresh
/// instance. A route's module is either a WAGI module (`wasm32-wasip1`, CGI) or a `wasi:http`
/// component (`wasm32-wasip2`); the file's header decides, and both are served the same way.
///
/// Cheap to clone; clones share the engine and modules.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use harness::{Harness, ModuleConfig};
/// let h = Harness::builder()
///     .module(ModuleConfig::new("/hello", harness::guest_wasm("hello")))
///     .build()?;
/// let resp = h.handle(http::Request::get("/hello").body(bytes::Bytes::new())?).await;
/// assert_eq!(resp.status(), 200);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Harness {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    modules: Vec<PreparedModule>,
    /// Each module's route as written in the config, shared by its requests' logs and records
    /// (made once here, not per request).
    route_names: Vec<Arc<str>>,
    routes: RouteTable,
    limits: Limits,
    hops: HopGate,
    /// Request records and metrics; `None` when `[dashboard] enabled = false`.
    observer: Option<Observer>,
    dashboard: Option<Dashboard>,
    _ticker: EpochTicker,
}

/// Builds a [`Harness`] in code.
///
/// ```
/// let h = harness::Harness::builder()
///     .limits(harness::Limits { memory_bytes: 64 << 20, ..Default::default() })
///     .cache(harness::CacheConfig { enabled: false, directory: None })
///     .build()?;
/// assert_eq!(h.limits().memory_bytes, 64 << 20);
/// # Ok::<(), harness::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct HarnessBuilder {
    modules: Vec<ModuleConfig>,
    limits: Limits,
    cache: CacheConfig,
    broker: Option<crate::identity::TokenBroker>,
    dashboard: DashboardConfig,
    #[cfg(feature = "emulators")]
    emulators: Option<emulator::Inspector>,
}

impl HarnessBuilder {
    /// A builder with a config file's modules, limits, cache and dashboard settings, for more
    /// settings in code (such as [`HarnessBuilder::emulators`]) before building.
    ///
    /// ```
    /// let mut config = harness::HarnessConfig::default();
    /// config.dashboard.path = "/_dev/".into();
    /// let h = harness::HarnessBuilder::from_config(&config)?.build()?;
    /// assert_eq!(h.limits(), &config.limits);
    /// # Ok::<(), harness::Error>(())
    /// ```
    pub fn from_config(config: &HarnessConfig) -> Result<Self> {
        let mut b = Harness::builder()
            .limits(config.limits.clone())
            .cache(config.cache.clone())
            .dashboard(config.dashboard.clone());
        for m in &config.modules {
            b = b.module(m.clone());
        }
        if let Some(identity) = &config.identity {
            b = b.identity(
                crate::identity::TokenBroker::from_config(identity).map_err(Error::Identity)?,
            );
        }
        Ok(b)
    }

    /// Adds a routed module. The file is read when [`HarnessBuilder::build`] runs, so a missing
    /// file is reported there, with its path.
    ///
    /// ```
    /// let err = harness::Harness::builder()
    ///     .module(harness::ModuleConfig::new("/a", "no-such-module.wasm"))
    ///     .build()
    ///     .err()
    ///     .expect("the module file does not exist");
    /// assert!(matches!(err, harness::Error::Read { .. }));
    /// assert!(err.to_string().contains("no-such-module.wasm"), "{err}");
    /// ```
    pub fn module(mut self, module: ModuleConfig) -> Self {
        self.modules.push(module);
        self
    }

    /// Sets the limits.
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = harness::Limits { request_timeout: Duration::from_secs(5), ..Default::default() };
    /// let h = harness::Harness::builder().limits(limits).build()?;
    /// assert_eq!(h.limits().request_timeout, Duration::from_secs(5));
    /// # Ok::<(), harness::Error>(())
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the compiled-code cache (on, in the user's cache folder, by default).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let cache = harness::CacheConfig { enabled: true, directory: Some(dir.path().into()) };
    /// let h = harness::Harness::builder().cache(cache).build()?;
    /// assert_eq!(h.limits(), &harness::Limits::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Sets the token broker that answers the modules' token requests (see [`crate::identity`]);
    /// a module keeps a broker it was given itself.
    ///
    /// ```
    /// let cfg: harness::identity::IdentityConfig = toml::from_str("credential = \"azure-cli\"")?;
    /// let broker = harness::identity::TokenBroker::from_config(&cfg)?;
    /// let h = harness::Harness::builder().identity(broker).build()?;
    /// assert_eq!(h.limits(), &harness::Limits::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn identity(mut self, broker: crate::identity::TokenBroker) -> Self {
        self.broker = Some(broker);
        self
    }

    /// Sets where the dashboard and `/metrics` are served, or turns them off.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let off = harness::DashboardConfig { enabled: false, ..Default::default() };
    /// let h = harness::Harness::builder().dashboard(off).build()?;
    /// let resp = h.handle(http::Request::get("/metrics").body(bytes::Bytes::new())?).await;
    /// assert_eq!(resp.status(), 404);
    /// let h = harness::Harness::builder().build()?;
    /// let resp = h.handle(http::Request::get("/metrics").body(bytes::Bytes::new())?).await;
    /// assert_eq!(resp.status(), 200);
    /// # Ok(()) }
    /// ```
    pub fn dashboard(mut self, dashboard: DashboardConfig) -> Self {
        self.dashboard = dashboard;
        self
    }

    /// Shows what these emulators hold on the dashboard (feature `emulators`).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
    /// let h = harness::Harness::builder().emulators(emus.inspector()).build()?;
    /// let resp = h.handle(http::Request::get("/_harness/api/emulators").body(bytes::Bytes::new())?).await;
    /// let json: serde_json::Value = serde_json::from_slice(resp.body())?;
    /// assert_eq!(json["blob"]["accounts"][0]["name"], emulator::DEV_ACCOUNT);
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "emulators")]
    pub fn emulators(mut self, inspector: emulator::Inspector) -> Self {
        self.emulators = Some(inspector);
        self
    }

    /// Compiles (or loads from the cache), links and pre-instantiates every module.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A harness without modules still answers its health check and 404s everything else.
    /// let h = harness::Harness::builder().build()?;
    /// let resp = h.handle(http::Request::get("/nothing").body(bytes::Bytes::new())?).await;
    /// assert_eq!(resp.status(), 404);
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<Harness> {
        self.dashboard.validate().map_err(|message| Error::Config {
            file: "HarnessBuilder::dashboard".into(),
            message,
        })?;
        let engine = build_engine(&self.limits)?;
        let linkers = Linkers::new(&engine)?;
        let mut modules = Vec::with_capacity(self.modules.len());
        let mut routes = Vec::with_capacity(self.modules.len());
        let mut infos = Vec::with_capacity(self.modules.len());
        let mut meters = Vec::with_capacity(self.modules.len());
        for mut config in self.modules {
            if config.identity.broker.is_none() {
                config.identity.broker = self.broker.clone();
            }
            let route = Route::parse(&config.route).map_err(|message| Error::Module {
                route: config.route.clone(),
                path: config.module.clone(),
                message,
            })?;
            if self.dashboard.hides(&config.route) {
                return Err(Error::Module {
                    route: config.route.clone(),
                    path: config.module.clone(),
                    message: format!("the route is taken by the dashboard ({} and {}); move the module, or set [dashboard] path / metrics_path, or enabled = false", self.dashboard.path, self.dashboard.metrics_path),
                });
            }
            routes.push(route);
            let started = std::time::Instant::now();
            let mut prepared = prepare(&engine, &linkers, config, &self.limits, &self.cache)?;
            infos.push(RouteInfo::of(&prepared, started.elapsed()));
            meters.push(ModuleMeters {
                outbound_connections: prepared.client().connections_opened(),
                guest_cpu: (self.dashboard.enabled && self.dashboard.guest_cpu)
                    .then(|| prepared.measure_guest_cpu()),
            });
            modules.push(prepared);
        }
        let ticker = EpochTicker::start(engine.clone())?;
        let hops = HopGate::new(&self.limits);
        let observer = self
            .dashboard
            .enabled
            .then(|| Observer::new(infos, meters, self.dashboard.recent_requests, &self.limits));
        let dashboard = observer.clone().map(|o| {
            let d = Dashboard::new(self.dashboard.clone(), o);
            #[cfg(feature = "emulators")]
            let d = match self.emulators.clone() {
                Some(inspector) => d.with_emulators(inspector),
                None => d,
            };
            d
        });
        Ok(Harness {
            inner: Arc::new(Inner {
                engine,
                route_names: modules
                    .iter()
                    .map(|m| m.config().route.as_str().into())
                    .collect(),
                modules,
                routes: RouteTable::new(routes),
                limits: self.limits,
                hops,
                observer,
                dashboard,
                _ticker: ticker,
            }),
        })
    }
}

impl Harness {
    /// Starts building a harness in code: no modules, default [`Limits`], the default cache.
    ///
    /// ```
    /// let h = harness::Harness::builder().build()?;
    /// assert_eq!(h.limits().max_instances, harness::Limits::default().max_instances);
    /// # Ok::<(), harness::Error>(())
    /// ```
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder::default()
    }

    /// A harness for a config file's modules, limits and cache.
    ///
    /// ```no_run
    /// // Needs a `wagi.toml` whose modules exist (see `cargo xtask build`).
    /// let cfg = harness::HarnessConfig::from_file("wagi.toml".as_ref())?;
    /// let h = harness::Harness::from_config(&cfg)?;
    /// assert_eq!(h.limits(), &cfg.limits);
    /// # Ok::<(), harness::Error>(())
    /// ```
    pub fn from_config(config: &HarnessConfig) -> Result<Self> {
        HarnessBuilder::from_config(config)?.build()
    }

    /// The limits in force.
    ///
    /// ```
    /// let h = harness::Harness::builder().build()?;
    /// assert_eq!(h.limits().request_timeout.as_secs(), 30);
    /// # Ok::<(), harness::Error>(())
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Handles a request in-process, as if it came from 127.0.0.1.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let h = harness::Harness::builder().build()?;
    /// let resp = h.handle(http::Request::get("/healthz").body(bytes::Bytes::new())?).await;
    /// assert_eq!(resp.status(), 200);
    /// assert_eq!(resp.body().as_ref(), b"OK\n");
    /// # Ok(()) }
    /// ```
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        self.handle_from(request, loopback, loopback).await
    }

    /// The dashboard's answer when `uri` is one of its paths and it serves `local`
    /// (`streamed`: over a connection, see `Dashboard::answer`).
    pub(crate) async fn dashboard_answer(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        local: SocketAddr,
        streamed: bool,
    ) -> Option<Response<OutBody>> {
        match &self.inner.dashboard {
            Some(d) => d.answer(method, uri, local, streamed).await,
            None => None,
        }
    }

    /// The observer, when the dashboard is on.
    pub(crate) fn observer(&self) -> Option<&Observer> {
        self.inner.observer.as_ref()
    }

    /// Whether a module is routed at `path`.
    pub(crate) fn has_route(&self, path: &str) -> bool {
        self.inner.routes.find(path).is_some()
    }

    /// Handles a request from `peer` that arrived on `local`. A WAGI module sees them as
    /// `REMOTE_ADDR`, `SERVER_NAME` and `SERVER_PORT`; a component sees `local` as the request's
    /// authority when the request has no `Host` header.
    ///
    /// The guest's response streams as over HTTP and is collected here; one cut after its
    /// head was sent (a trap, `max_response_bytes`) becomes a 500. No request body cap
    /// applies: the body is already in memory.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let h = harness::Harness::builder().build()?;
    /// let peer = "192.0.2.1:5000".parse()?;
    /// let local = "127.0.0.1:3000".parse()?;
    /// let request = http::Request::get("/x").body(bytes::Bytes::new())?;
    /// let resp = h.handle_from(request, peer, local).await;
    /// assert_eq!(resp.status(), 404); // no module is routed at /x
    /// # Ok(()) }
    /// ```
    pub async fn handle_from(
        &self,
        request: Request<Bytes>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Response<Bytes> {
        let response = match self
            .dashboard_answer(request.method(), request.uri(), local, false)
            .await
        {
            Some(answer) => answer,
            None => self.dispatch(request.map(full), peer, local, None).await,
        };
        let (parts, body) = response.into_parts();
        match collect(body).await {
            Ok(bytes) => Response::from_parts(parts, bytes),
            Err(reason) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the handler's response was cut after its headers: {reason}"),
            ),
        }
    }

    /// Handles a request whose body streams in as the guest reads it (at most
    /// `max_request_body_bytes`, within `read_timeout` when given); the response body streams
    /// out as the guest writes it. A body cut on the way in is answered 413 or 408 when the
    /// guest had not answered yet.
    pub(crate) async fn dispatch(
        &self,
        request: Request<InBody>,
        peer: SocketAddr,
        local: SocketAddr,
        read_timeout: Option<Duration>,
    ) -> Response<OutBody> {
        let path = request.uri().path().to_string();
        if path == "/healthz" {
            return text(StatusCode::OK, "OK").map(full);
        }
        let Some((index, script_name, path_info)) = self.inner.routes.find(&path) else {
            return crate::outcome::no_route(&path).map(full);
        };
        let module = &self.inner.modules[index];
        let route = self.inner.route_names[index].clone();
        let method = request.method().clone();
        let tracker =
            (self.inner.observer.as_ref()).map(|o| o.track(index, route.clone(), &method, &path));
        // A request from a harness module (hop count above 0) is bounded in depth and in the
        // instance slots it may hold; the admission is held until the run ends.
        let admission = match self.inner.hops.admit(request.headers(), &route) {
            Ok(a) => a,
            Err(refusal) => {
                let response = refusal.response().map(full);
                return crate::observe::finish(tracker, response, Timings::default());
            }
        };
        let limits = &self.inner.limits;
        // In process (no read timeout) the body is already in memory: no cap applies.
        let limit = match read_timeout {
            Some(_) => u64::try_from(limits.max_request_body_bytes).unwrap_or(u64::MAX),
            None => u64::MAX,
        };
        let (parts, body) = request.into_parts();
        let body_len = body.size_hint().exact();
        let body = crate::observe::count_in(tracker.as_ref(), body);
        let (body, faults) = RequestBody::new(body, limit, read_timeout, route.clone());
        let calls = tracker.as_ref().map(|t| t.calls());
        let (outcome, timings) = match module {
            PreparedModule::Wagi(_) if has_encoded_nul(&path_info) => {
                let response = text(
                    StatusCode::BAD_REQUEST,
                    "the path contains an encoded NUL (%00), which a CGI variable cannot carry",
                )
                .map(full);
                return crate::observe::finish(tracker, response, Timings::default());
            }
            PreparedModule::Wagi(m) => {
                let input = m.input(&parts, body_len, &script_name, &path_info, peer, local);
                let guest = GuestInput {
                    index,
                    input,
                    body,
                    calls,
                };
                self.run_module(guest, route.clone(), admission, faults.clone())
                    .await
            }
            PreparedModule::Component(c) => {
                let request = Request::from_parts(parts, body);
                let run = c.run(
                    limits,
                    request,
                    local,
                    route.clone(),
                    admission,
                    faults.clone(),
                );
                crate::observe::scoped(calls, run).await
            }
        };
        let mut response = match faults.get() {
            // The request body was cut before the guest answered: that is the answer.
            Some(RequestFault::TooLarge(limit)) => too_large(limit).map(full),
            Some(RequestFault::TimedOut(t)) => text(
                StatusCode::REQUEST_TIMEOUT,
                &format!("the request body did not arrive within {t:?}"),
            )
            .map(full),
            Some(RequestFault::Failed(_)) => text(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            )
            .map(full),
            None => response_for(outcome, &route, limits.request_timeout),
        };
        if let Ok(v) = http::HeaderValue::from_str(&timings.header()) {
            response.headers_mut().append("server-timing", v);
        }
        tracing::debug!(
            route = %route,
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            instantiate_us = timings.instantiate.as_secs_f64() * 1e6,
            run_ms = timings.run.as_secs_f64() * 1e3,
            "request"
        );
        crate::observe::finish(tracker, response, timings)
    }

    /// Runs WAGI module `index`: the outcome is the response head with the body streaming as
    /// the guest writes it (a guest that ended first: the whole body, with its length), or,
    /// when the guest stopped before its header block was complete, how it stopped. The
    /// timings end at the head.
    async fn run_module(
        &self,
        guest: GuestInput,
        route: Arc<str>,
        admission: Admission,
        faults: RequestFaults,
    ) -> (Outcome, Timings) {
        let GuestInput {
            index,
            input,
            body,
            calls,
        } = guest;
        let limits = &self.inner.limits;
        let (stdout, mut output) = CgiStdout::new(limits.max_response_bytes, route.clone());
        let stdio = RunStdio {
            stdin: BodyStdin::new(body),
            stdout: stdout.clone(),
        };
        let clock = RunClock::start();
        let harness = self.clone();
        let run_clock = clock.clone();
        // The guest's outbound calls are recorded in the request's call list (the dashboard),
        // also after it moved to a task of its own.
        let guest = crate::observe::scoped(calls, async move {
            let hops = admission.outgoing_hops;
            let (outcome, timings, stderr) = match harness.inner.modules.get(index) {
                Some(PreparedModule::Wagi(m)) => {
                    let inner = &harness.inner;
                    let run = m.run(&inner.engine, &inner.limits, input, stdio, hops, &run_clock);
                    // A panic in host code while the guest runs answers 500 (or cuts a body
                    // under way), through the same finish as any other outcome.
                    CatchPanic(std::pin::pin!(run))
                        .await
                        .unwrap_or_else(|panic| {
                            let detail = crate::catch_panic::panicked(&panic);
                            tracing::error!(route = %route, "{detail}");
                            (Outcome::Failed(detail), Timings::default(), Bytes::new())
                        })
                }
                _ => (
                    Outcome::Failed("the route's module is not a WAGI module".into()),
                    Timings::default(),
                    Bytes::new(),
                ),
            };
            drop(admission);
            log_guest_stderr(&route, &stderr);
            // Closes the body only after the log lines are written.
            (stdout.finish(outcome), timings)
        });
        // The guest runs on this task until its head is ready or it ends (a small handler
        // ends first: no task to spawn, no timer). Only a guest still running after its head
        // moves to a task of its own, to write the body while the client reads it; dropping
        // `guest` before that (the client went away) stops it and frees its instance.
        let mut guest: GuestRun = Box::pin(guest);
        let mut head = output.head;
        let first = tokio::select! {
            biased;
            ended = &mut guest => First::Ended(ended),
            head = &mut head => First::Head(head),
        };
        let (head, ended) = match first {
            First::Ended(ended) => (head.try_recv().ok(), ended),
            First::Head(Ok(Ok(ready))) => {
                // A guest that stops at once after its headers (a trap, an exit code) still
                // gets the answer for how it stopped, as when nothing was sent.
                // It moves to a task of its own when the grace is over, or at once when it
                // waits for the client to read its body (which the client can only do once
                // the response is on its way).
                let grace = tokio::time::sleep(HEAD_GRACE);
                let still_running = async {
                    tokio::select! {
                        () = grace => {}
                        () = output.blocked.notified() => {}
                    }
                };
                tokio::select! {
                    biased;
                    ended = &mut guest => (Some(Ok(ready)), ended),
                    () = still_running => {
                        tokio::spawn(guest);
                        let body = output.body.cut_if_request_fails(faults);
                        let response = ready.map(|()| body.boxed_unsync());
                        return (Outcome::Streaming(response), clock.timings());
                    }
                }
            }
            First::Head(Ok(Err(reason))) => {
                // The guest runs on (its output is dropped) until it ends or times out.
                tokio::spawn(guest);
                return (Outcome::Invalid(reason), clock.timings());
            }
            // The guest stopped before its header block was complete.
            First::Head(Err(_)) => (None, guest.await),
        };
        match (head, ended) {
            (_, (OutputEnd::Streamed(Some(failure)) | OutputEnd::Headless(failure), timings)) => {
                (failure, timings)
            }
            (Some(Ok(head)), (OutputEnd::Streamed(None), _)) => {
                // The guest is done and all it wrote is waiting: send it with its length, head
                // and body in one write.
                if let Some(whole) = output.body.take_finished(&faults) {
                    let length = http::HeaderValue::from(whole.len());
                    let mut response = head.map(|()| full(whole));
                    response
                        .headers_mut()
                        .insert(http::header::CONTENT_LENGTH, length);
                    return (Outcome::Streaming(response), clock.timings());
                }
                let body = output.body.cut_if_request_fails(faults);
                let response = head.map(|()| body.boxed_unsync());
                (Outcome::Streaming(response), clock.timings())
            }
            (Some(Err(reason)), _) => (Outcome::Invalid(reason), clock.timings()),
            (None, (OutputEnd::Streamed(None), timings)) => (
                Outcome::Failed("the module's response head was lost".into()),
                timings,
            ),
        }
    }
}

/// What a WAGI module's run starts from: the module, its CGI input, the request body, and the
/// call list its outbound calls go to (when the dashboard is on).
struct GuestInput {
    index: usize,
    input: RunInput,
    body: RequestBody,
    calls: Option<Arc<crate::observe::CallList>>,
}

/// A WAGI module's run: how its output ended, and its timings.
type GuestRun = std::pin::Pin<Box<dyn std::future::Future<Output = (OutputEnd, Timings)> + Send>>;

/// What happened first while a module ran: it ended, or its response head was ready (or
/// found invalid, or never came).
enum First {
    Ended((OutputEnd, Timings)),
    Head(Result<crate::cgi_stream::Head, tokio::sync::oneshot::error::RecvError>),
}

/// How long the response head is held once it is ready, for the guest to end: a guest that
/// fails right after its headers is answered for its failure (500, 503) rather than with a
/// cut response. The body waits in its bounded channel meanwhile.
pub(crate) const HEAD_GRACE: Duration = Duration::from_millis(25);

/// The 413 for a request body over `limit` bytes.
pub(crate) fn too_large(limit: u64) -> Response<Bytes> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the request body is larger than {limit} bytes; raise max_request_body_mib in [limits]"
        ),
    )
}

/// Whether `path` decodes to a NUL byte (`%00`): CGI passes the decoded path in `PATH_INFO`,
/// where a NUL would cut the value short in a C guest and cannot be an environment value.
fn has_encoded_nul(path: &str) -> bool {
    percent_encoding::percent_decode_str(path).any(|b| b == 0)
}
