//! A host for WebAssembly HTTP handlers on wasmtime, serving two worlds side by side:
//!
//! - **WAGI modules** (core modules built for `wasm32-wasip1`): the request comes in as CGI
//!   (environment and stdin) and the handler's CGI output becomes the response. Guests call out
//!   through the `wasi_experimental_http` ABI.
//! - **`wasi:http` components** (built for `wasm32-wasip2`) exporting
//!   `wasi:http/incoming-handler@0.2`: the request and the streamed response are `wasi:http`
//!   resources, the module's `environment` is the component's `wasi:cli/environment`, and guests
//!   call out through `wasi:http/outgoing-handler`.
//!
//! The kind is read from the file's header ([`WasmKind`]); nothing in the config changes. Each
//! request runs in a fresh instance of a module or component that was compiled (or loaded from
//! the compiled-code cache) and pre-instantiated at start-up, on the pooling allocator, with the
//! same wall-clock limit, memory limit, `server-timing` header and error responses (trap 500,
//! time-out or no free slot 503) in both worlds. Outbound calls of both worlds are checked
//! against each module's `allowed_hosts`, with the same log lines, timeouts and body caps.
//! Guests get Entra ID tokens from the host's broker ([`identity`]) at a virtual origin the
//! harness answers itself, so no key has to be in a module's environment.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use harness::{Harness, ModuleConfig};
//! let harness = Harness::builder()
//!     .module(ModuleConfig::new("/hello", harness::guest_wasm("hello")))
//!     .module(ModuleConfig::new("/probe", harness::guest_component("component-probe")).env("A", "1"))
//!     .build()?;
//! let server = harness.serve("127.0.0.1:0".parse()?).await?;
//! println!("try: curl {}/hello and {}/probe?op=env&name=A", server.url(), server.url());
//! # Ok(()) }
//! ```

mod allowed_hosts;
mod bodies;
mod catch_panic;
mod cgi_env;
mod cgi_response;
mod cgi_stream;
mod component;
mod config;
mod dashboard;
mod deadline;
mod engine;
mod error;
mod guest_cpu;
pub mod guest_log;
mod harness;
mod hops;
pub mod identity;
mod instance;
mod limits;
mod module_cache;
mod module_config;
pub mod observe;
pub mod outbound;
mod outcome;
mod prepared;
mod routes;
mod server;
mod testing;
mod wagi_environ;
mod wasm_kind;

pub use allowed_hosts::{allowed_hosts_entry_for, AllowList};
pub use cgi_env::CgiRequest;
pub use cgi_response::parse_cgi_output;
pub use config::{CacheConfig, HarnessConfig};
pub use dashboard::DashboardConfig;
pub use error::{Error, Result};
pub use guest_log::GuestLog;
pub use harness::{Harness, HarnessBuilder};
pub use hops::HOPS_HEADER;
pub use limits::Limits;
pub use module_cache::default_cache_dir;
pub use module_config::ModuleConfig;
pub use routes::{Route, RouteTable};
pub use server::Server;
pub use testing::{guest_component, guest_wasm};
pub use wasm_kind::WasmKind;

/// `SERVER_SOFTWARE` as guests see it.
pub const SERVER_SOFTWARE: &str = concat!("azure-wasi-harness/", env!("CARGO_PKG_VERSION"));
