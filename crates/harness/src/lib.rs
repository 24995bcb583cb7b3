//! A WAGI-compatible host for `wasm32-wasip1` HTTP handlers, on wasmtime.
//!
//! Each request runs in a fresh instance of a module that was compiled (or loaded from the
//! compiled-code cache) and pre-instantiated at start-up, on the pooling allocator. The request
//! comes in as CGI (environment and stdin) and the handler's CGI output becomes the response.
//! Guests call out through the `wasi_experimental_http` ABI, checked against each module's
//! `allowed_hosts`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use harness::{Harness, ModuleConfig};
//! let harness = Harness::builder()
//!     .module(ModuleConfig::new("/hello", harness::guest_wasm("hello")))
//!     .build()?;
//! let server = harness.serve("127.0.0.1:0".parse()?).await?;
//! println!("try: curl {}/hello", server.url());
//! # Ok(()) }
//! ```

mod allowed_hosts;
mod cgi_env;
mod cgi_response;
mod config;
mod engine;
mod error;
mod harness;
mod instance;
mod limits;
mod module_cache;
mod module_config;
pub mod outbound;
mod routes;
mod server;
mod testing;

pub use allowed_hosts::{allowed_hosts_entry_for, AllowList};
pub use cgi_env::CgiRequest;
pub use cgi_response::parse_cgi_output;
pub use config::{CacheConfig, HarnessConfig};
pub use error::{Error, Result};
pub use harness::{Harness, HarnessBuilder};
pub use limits::Limits;
pub use module_cache::default_cache_dir;
pub use module_config::ModuleConfig;
pub use routes::{Route, RouteTable};
pub use server::Server;
pub use testing::guest_wasm;

/// `SERVER_SOFTWARE` as guests see it.
pub const SERVER_SOFTWARE: &str = concat!("azure-wasi-harness/", env!("CARGO_PKG_VERSION"));
