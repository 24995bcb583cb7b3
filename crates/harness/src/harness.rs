//! The harness: modules prepared once, then a fresh instance per request.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use wasmtime::{Engine, Linker};

use crate::engine::{build_engine, EpochTicker};
use crate::instance::{Outcome, PreparedModule, RequestState, RunInput, Timings};
use crate::module_cache::{self, Source};
use crate::outbound::{OutboundClient, OutboundPolicy};
use crate::routes::{Route, RouteTable};
use crate::{
    parse_cgi_output, AllowList, CacheConfig, CgiRequest, Error, HarnessConfig, Limits,
    ModuleConfig, Result,
};

/// A WAGI host: routes requests to modules and runs each in a fresh instance.
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
/// let builder = harness::Harness::builder()
///     .limits(harness::Limits { memory_bytes: 64 << 20, ..Default::default() })
///     .cache(harness::CacheConfig { enabled: false, directory: None });
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Default)]
pub struct HarnessBuilder {
    modules: Vec<ModuleConfig>,
    limits: Limits,
    cache: CacheConfig,
}

impl HarnessBuilder {
    /// Adds a routed module.
    ///
    /// ```
    /// let b = harness::Harness::builder().module(harness::ModuleConfig::new("/a", "a.wasm"));
    /// # let _ = b;
    /// ```
    pub fn module(mut self, module: ModuleConfig) -> Self {
        self.modules.push(module);
        self
    }

    /// Sets the limits.
    ///
    /// ```
    /// let b = harness::Harness::builder().limits(harness::Limits::default());
    /// # let _ = b;
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the compiled-code cache.
    ///
    /// ```
    /// let b = harness::Harness::builder().cache(harness::CacheConfig::default());
    /// # let _ = b;
    /// ```
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Compiles (or loads from the cache), links and pre-instantiates every module.
    ///
    /// ```no_run
    /// let h = harness::Harness::builder().build();
    /// assert!(h.is_ok());
    /// ```
    pub fn build(self) -> Result<Harness> {
        let engine = build_engine(&self.limits)?;
        let mut linker: Linker<RequestState> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut RequestState| s.wasi())
            .map_err(|e| Error::Engine(e.to_string()))?;
        crate::outbound::abi::add_to_linker(&mut linker)
            .map_err(|e| Error::Engine(e.to_string()))?;
        let mut modules = Vec::with_capacity(self.modules.len());
        let mut routes = Vec::with_capacity(self.modules.len());
        for config in self.modules {
            let err = |message: String| Error::Module {
                route: config.route.clone(),
                path: config.module.clone(),
                message,
            };
            let route = Route::parse(&config.route).map_err(err)?;
            let allow = AllowList::parse(&config.allowed_hosts).map_err(err)?;
            let wasm = std::fs::read(&config.module).map_err(|source| Error::Read {
                path: config.module.clone(),
                source,
            })?;
            let started = std::time::Instant::now();
            let (module, source) = module_cache::load(&engine, &wasm, &self.cache)
                .map_err(|e| err(format!("does not compile: {e}")))?;
            tracing::info!(
                route = %config.route,
                module = %config.module.display(),
                from_cache = source == Source::Cache,
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "module ready"
            );
            let pre = linker.instantiate_pre(&module).map_err(|e| {
                err(format!(
                    "cannot be linked: {e}; the harness provides wasi_snapshot_preview1 and wasi_experimental_http"
                ))
            })?;
            let policy = Arc::new(OutboundPolicy {
                route: config.route.clone(),
                allow,
                max_handles: config
                    .http_max_concurrency
                    .unwrap_or(self.limits.default_http_max_concurrency),
                timeout: self.limits.outbound_timeout,
                max_body: self.limits.max_outbound_body_bytes,
            });
            let entrypoint = config
                .entrypoint
                .clone()
                .unwrap_or_else(|| "_start".to_string());
            routes.push(route);
            modules.push(PreparedModule {
                config,
                pre,
                policy,
                entrypoint,
            });
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
    /// Starts building a harness in code.
    ///
    /// ```
    /// let b = harness::Harness::builder();
    /// # let _ = b;
    /// ```
    pub fn builder() -> HarnessBuilder {
        HarnessBuilder::default()
    }

    /// A harness for a config file's modules, limits and cache.
    ///
    /// ```no_run
    /// let cfg = harness::HarnessConfig::from_file("wagi.toml".as_ref()).unwrap();
    /// let h = harness::Harness::from_config(&cfg).unwrap();
    /// # let _ = h;
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
    /// ```no_run
    /// # let h = harness::Harness::builder().build().unwrap();
    /// assert_eq!(h.limits().request_timeout.as_secs(), 30);
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Handles a request in-process, as if it came from 127.0.0.1.
    ///
    /// ```no_run
    /// # async fn demo(h: harness::Harness) {
    /// let resp = h.handle(http::Request::get("/healthz").body(bytes::Bytes::new()).unwrap()).await;
    /// assert_eq!(resp.body().as_ref(), b"OK");
    /// # }
    /// ```
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        self.handle_from(request, loopback, loopback).await
    }

    /// Handles a request from `peer` that arrived on `local`.
    ///
    /// ```no_run
    /// # async fn demo(h: harness::Harness) {
    /// let peer = "192.0.2.1:5000".parse().unwrap();
    /// let local = "127.0.0.1:3000".parse().unwrap();
    /// let resp = h.handle_from(http::Request::get("/x").body(bytes::Bytes::new()).unwrap(), peer, local).await;
    /// # let _ = resp;
    /// # }
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
            return text(
                StatusCode::NOT_FOUND,
                &format!("no route matches {path}; add a [[module]] with this route"),
            );
        };
        let module = &self.inner.modules[index];
        let (parts, body) = request.into_parts();
        let cgi = CgiRequest {
            parts: &parts,
            body_len: body.len(),
            script_name: &script_name,
            path_info: &path_info,
            matched_route: &module.config.route,
            peer,
            local,
        };
        let mut env = cgi.environment();
        for (k, v) in &module.config.environment {
            match env.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.clone(),
                None => env.push((k.clone(), v.clone())),
            }
        }
        let args = argv(&module.config, &path, &script_name, parts.uri.query());
        let input = RunInput {
            env,
            args,
            stdin: body,
        };
        let (outcome, timings, stderr) = module
            .run(
                &self.inner.engine,
                &self.inner.client,
                &self.inner.limits,
                input,
            )
            .await;
        let route = &module.config.route;
        for line in String::from_utf8_lossy(&stderr).lines() {
            tracing::info!(target: "harness::guest_stderr", route = %route, "{line}");
        }
        let mut response = self.response_for(outcome, route);
        if let Ok(v) = http::HeaderValue::from_str(&server_timing(&timings)) {
            response.headers_mut().append("server-timing", v);
        }
        tracing::debug!(
            route = %route,
            method = %parts.method,
            path = %path,
            status = response.status().as_u16(),
            instantiate_us = timings.instantiate.as_secs_f64() * 1e6,
            run_ms = timings.run.as_secs_f64() * 1e3,
            "request"
        );
        response
    }

    fn response_for(&self, outcome: Outcome, route: &str) -> Response<Bytes> {
        match outcome {
            Outcome::Finished(out) => match parse_cgi_output(out) {
                Ok(r) => r,
                Err(reason) => {
                    tracing::warn!(route = %route, "invalid CGI output: {reason}");
                    text(StatusCode::BAD_GATEWAY, &reason)
                }
            },
            Outcome::Exited(code) => {
                tracing::warn!(route = %route, "module exited with code {code}");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("the handler exited with code {code}; see the server log"),
                )
            }
            Outcome::Trapped(detail) => {
                tracing::warn!(route = %route, "module trapped: {detail}");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the handler crashed (a WebAssembly trap); see the server log",
                )
            }
            Outcome::TimedOut => {
                tracing::warn!(route = %route, "module exceeded the time limit of {:?}", self.inner.limits.request_timeout);
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "the handler did not finish within {:?}; it was stopped",
                        self.inner.limits.request_timeout
                    ),
                )
            }
            Outcome::Busy => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many requests are running; try again shortly",
            ),
            Outcome::Failed(detail) => {
                tracing::warn!(route = %route, "module failed to start: {detail}");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the handler could not start; see the server log",
                )
            }
        }
    }
}

fn argv(config: &ModuleConfig, path: &str, script_name: &str, query: Option<&str>) -> Vec<String> {
    let items: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match &config.argv {
        None => std::iter::once(path.to_string()).chain(items).collect(),
        Some(template) => template
            .split_whitespace()
            .flat_map(|word| match word {
                "${ARGS}" => items.clone(),
                _ => vec![word.replace("${SCRIPT_NAME}", script_name)],
            })
            .collect(),
    }
}

fn server_timing(t: &Timings) -> String {
    format!(
        "instantiate;dur={:.3}, run;dur={:.3}",
        t.instantiate.as_secs_f64() * 1e3,
        t.run.as_secs_f64() * 1e3
    )
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(format!("{body}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
