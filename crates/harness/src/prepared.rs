//! A routed module ready to serve, in either world: a WAGI module (a core module built for
//! `wasm32-wasip1`) or a `wasi:http` component (built for `wasm32-wasip2`). The file's preamble
//! decides which.

use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::{Engine, Linker, Module};

use crate::component::{self, ComponentModule, ComponentState};
use crate::guest_cpu::GuestCpu;
use crate::instance::{RequestState, WagiModule};
use crate::module_cache::{self, Compiled, Source};
use crate::outbound::{OutboundClient, OutboundPolicy};
use crate::wagi_environ::PackedEnv;
use crate::{AllowList, CacheConfig, Error, Limits, ModuleConfig, Result, WasmKind};

/// A module ready to serve.
pub(crate) enum PreparedModule {
    Wagi(WagiModule),
    Component(ComponentModule),
}

impl PreparedModule {
    /// The module's `[[module]]` settings.
    pub(crate) fn config(&self) -> &ModuleConfig {
        match self {
            Self::Wagi(m) => &m.config,
            Self::Component(c) => &c.config,
        }
    }

    /// The module's outbound client.
    pub(crate) fn client(&self) -> &OutboundClient {
        match self {
            Self::Wagi(m) => &m.client,
            Self::Component(c) => &c.client,
        }
    }

    /// Measures the CPU time its guests spend in guest code from now on; the total is returned.
    pub(crate) fn measure_guest_cpu(&mut self) -> Arc<GuestCpu> {
        let total = Arc::new(GuestCpu::default());
        match self {
            Self::Wagi(m) => m.guest_cpu = Some(total.clone()),
            Self::Component(c) => c.guest_cpu = Some(total.clone()),
        }
        total
    }
}

/// The linkers of both worlds, shared by all modules of a harness.
pub(crate) struct Linkers {
    wagi: Linker<RequestState>,
    component: wasmtime::component::Linker<ComponentState>,
}

impl Linkers {
    pub(crate) fn new(engine: &Engine) -> Result<Self> {
        let mut wagi: Linker<RequestState> = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut wagi, |s: &mut RequestState| s.wasi())
            .map_err(|e| Error::Engine(e.to_string()))?;
        crate::wagi_environ::add_to_linker(&mut wagi).map_err(|e| Error::Engine(e.to_string()))?;
        crate::outbound::abi::add_to_linker(&mut wagi).map_err(|e| Error::Engine(e.to_string()))?;
        let component = component::linker(engine).map_err(|e| Error::Engine(e.to_string()))?;
        Ok(Self { wagi, component })
    }
}

/// Reads, compiles (or loads from `cache`), links and pre-instantiates `config`'s module.
pub(crate) fn prepare(
    engine: &Engine,
    linkers: &Linkers,
    config: ModuleConfig,
    limits: &Limits,
    cache: &CacheConfig,
) -> Result<PreparedModule> {
    let err = |message: String| Error::Module {
        route: config.route.clone(),
        path: config.module.clone(),
        message,
    };
    let allow = AllowList::parse(&config.allowed_hosts).map_err(err)?;
    let wasm = std::fs::read(&config.module).map_err(|source| Error::Read {
        path: config.module.clone(),
        source,
    })?;
    let kind = WasmKind::detect(&wasm).map_err(err)?;
    let client = OutboundClient::new(&allow, limits)
        .with_identity(crate::identity::ModuleTokens::of(&config));
    let policy = Arc::new(OutboundPolicy {
        route: config.route.clone(),
        allow,
        max_handles: config
            .http_max_concurrency
            .unwrap_or(limits.default_http_max_concurrency),
        timeout: limits.outbound_timeout,
        max_body: limits.max_outbound_body_bytes,
    });
    match kind {
        WasmKind::Module => {
            let module: Module = compile(engine, &wasm, cache, &config, kind).map_err(err)?;
            let pre = linkers.wagi.instantiate_pre(&module).map_err(|e| {
                err(format!(
                    "cannot be linked: {e}; the harness provides wasi_snapshot_preview1 and wasi_experimental_http"
                ))
            })?;
            let entrypoint = config
                .entrypoint
                .clone()
                .unwrap_or_else(|| "_start".to_string());
            let environment = PackedEnv::from_config(&config.environment).map_err(err)?;
            Ok(PreparedModule::Wagi(WagiModule {
                config,
                pre,
                policy,
                client,
                entrypoint,
                environment,
                guest_cpu: None,
            }))
        }
        WasmKind::Component => {
            if config.entrypoint.is_some() || config.argv.is_some() {
                tracing::warn!(route = %config.route, "entrypoint and argv do not apply to a wasi:http component; ignored");
            }
            let component: Component = compile(engine, &wasm, cache, &config, kind).map_err(err)?;
            let prepared = ComponentModule::prepare(
                &linkers.component,
                &component,
                config.clone(),
                policy,
                client,
            )
            .map_err(err)?;
            Ok(PreparedModule::Component(prepared))
        }
    }
}

fn compile<T: Compiled>(
    engine: &Engine,
    wasm: &[u8],
    cache: &CacheConfig,
    config: &ModuleConfig,
    kind: WasmKind,
) -> std::result::Result<T, String> {
    let started = std::time::Instant::now();
    let (compiled, source) =
        module_cache::load(engine, wasm, cache).map_err(|e| format!("does not compile: {e}"))?;
    tracing::info!(
        route = %config.route,
        module = %config.module.display(),
        kind = ?kind,
        from_cache = source == Source::Cache,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "module ready"
    );
    Ok(compiled)
}
