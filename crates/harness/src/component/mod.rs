//! The component world: `wasm32-wasip2` components exporting `wasi:http/incoming-handler`.
//!
//! A component is compiled (or loaded from the cache) and pre-instantiated as a [`ProxyPre`] at
//! start-up, like a WAGI module. Each request gets a fresh store on the same pooling allocator
//! and epoch deadline ([`run`]); the guest sees its module's `environment` as
//! `wasi:cli/environment`; its stderr goes to the log. Outbound `wasi:http/outgoing-handler`
//! calls pass through [`OutboundHooks`], which applies the module's [`OutboundPolicy`].

mod body;
mod outbound;
mod run;
mod state;

use std::sync::Arc;

use wasmtime::component::{Component, Linker};
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

pub(crate) use outbound::OutboundHooks;
pub(crate) use state::ComponentState;

use crate::outbound::{OutboundClient, OutboundPolicy};
use crate::ModuleConfig;

/// A component ready to serve: compiled, linked and pre-instantiated.
pub(crate) struct ComponentModule {
    pub(crate) config: ModuleConfig,
    pub(crate) pre: ProxyPre<ComponentState>,
    pub(crate) policy: Arc<OutboundPolicy>,
    /// The module's outbound client (its connection pool), shared by its requests.
    pub(crate) client: OutboundClient,
    /// Where its guest CPU time is summed, when measured (`[dashboard] guest_cpu`).
    pub(crate) guest_cpu: Option<Arc<crate::guest_cpu::GuestCpu>>,
}

/// A linker with what a `wasi:http/proxy` component may import: WASI 0.2 (`wasi:cli`,
/// `wasi:clocks`, `wasi:random`, `wasi:io`, `wasi:filesystem`, `wasi:sockets`) and `wasi:http`.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<ComponentState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    Ok(linker)
}

impl ComponentModule {
    /// Links and pre-instantiates `component`; the error says what the component lacks.
    pub(crate) fn prepare(
        linker: &Linker<ComponentState>,
        component: &Component,
        config: ModuleConfig,
        policy: Arc<OutboundPolicy>,
        client: OutboundClient,
    ) -> Result<Self, String> {
        let pre = linker.instantiate_pre(component).map_err(|e| {
            format!(
                "cannot be linked: {e}; the harness provides WASI 0.2 and wasi:http 0.2 (the wasi:http/proxy world)"
            )
        })?;
        let pre = ProxyPre::new(pre).map_err(|e| {
            format!(
                "does not export wasi:http/incoming-handler: {e}; build it as a wasi:http handler (for example with wasip2::http::proxy::export!)"
            )
        })?;
        Ok(Self {
            config,
            pre,
            policy,
            client,
            guest_cpu: None,
        })
    }
}
