//! The harness: modules prepared once, then a fresh instance per request.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use wasmtime::Engine;

use crate::engine::{build_engine, EpochTicker};
use crate::outbound::OutboundClient;
use crate::outcome::{response_for, text};
use crate::prepared::{prepare, Linkers, PreparedModule};
use crate::routes::{Route, RouteTable};
use crate::{CacheConfig, Error, HarnessConfig, Limits, ModuleConfig, Result};

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
    routes: RouteTable,
    limits: Limits,
    client: OutboundClient,
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
}

impl HarnessBuilder {
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
        let engine = build_engine(&self.limits)?;
        let linkers = Linkers::new(&engine)?;
        let mut modules = Vec::with_capacity(self.modules.len());
        let mut routes = Vec::with_capacity(self.modules.len());
        for config in self.modules {
            let route = Route::parse(&config.route).map_err(|message| Error::Module {
                route: config.route.clone(),
                path: config.module.clone(),
                message,
            })?;
            routes.push(route);
            modules.push(prepare(
                &engine,
                &linkers,
                config,
                &self.limits,
                &self.cache,
            )?);
        }
        let ticker = EpochTicker::start(engine.clone())?;
        Ok(Harness {
            inner: Arc::new(Inner {
                engine,
                modules,
                routes: RouteTable::new(routes),
                limits: self.limits,
                client: OutboundClient::new(),
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
        let mut b = Self::builder()
            .limits(config.limits.clone())
            .cache(config.cache.clone());
        for m in &config.modules {
            b = b.module(m.clone());
        }
        b.build()
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

    /// Whether a module is routed at `path`.
    pub(crate) fn has_route(&self, path: &str) -> bool {
        self.inner.routes.find(path).is_some()
    }

    /// Handles a request from `peer` that arrived on `local`. A WAGI module sees them as
    /// `REMOTE_ADDR`, `SERVER_NAME` and `SERVER_PORT`; a component sees `local` as the request's
    /// authority when the request has no `Host` header.
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
        let path = request.uri().path().to_string();
        if path == "/healthz" {
            return text(StatusCode::OK, "OK");
        }
        let Some((index, script_name, path_info)) = self.inner.routes.find(&path) else {
            return crate::outcome::no_route(&path);
        };
        let module = &self.inner.modules[index];
        let route = &module.config().route;
        let method = request.method().clone();
        let (outcome, timings, stderr) = match module {
            PreparedModule::Wagi(_) if has_encoded_nul(&path_info) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "the path contains an encoded NUL (%00), which a CGI variable cannot carry",
                );
            }
            PreparedModule::Wagi(m) => {
                let (parts, body) = request.into_parts();
                let input = m.input(&parts, body, &script_name, &path_info, peer, local);
                m.run(
                    &self.inner.engine,
                    &self.inner.client,
                    &self.inner.limits,
                    input,
                )
                .await
            }
            PreparedModule::Component(c) => c.run(&self.inner.limits, request, local).await,
        };
        for line in String::from_utf8_lossy(&stderr).lines() {
            tracing::info!(target: "harness::guest_stderr", route = %route, "{line}");
        }
        let mut response = response_for(outcome, route, self.inner.limits.request_timeout);
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
        response
    }
}

/// Whether `path` decodes to a NUL byte (`%00`): CGI passes the decoded path in `PATH_INFO`,
/// where a NUL would cut the value short in a C guest and cannot be an environment value.
fn has_encoded_nul(path: &str) -> bool {
    percent_encoding::percent_decode_str(path).any(|b| b == 0)
}
