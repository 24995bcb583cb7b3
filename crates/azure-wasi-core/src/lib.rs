//! `azure_core` in WebAssembly guests: a transport over the host's outbound HTTP and an async
//! runtime that works without threads, for `wasm32-wasip1` modules and `wasm32-wasip2`
//! components alike.
//!
//! - [`WasiHttpClient`] implements `azure_core::http::HttpClient` over `azure-wasi-outbound`:
//!   the `wasi_experimental_http` ABI on `wasm32-wasip1`, wasi:http `outgoing-handler` (bodies
//!   streamed both ways, connect / first-byte / between-bytes timeouts) on `wasm32-wasip2`;
//! - [`WasiRuntime`] is `azure_core`'s async runtime for WASI (spawn on a single-threaded
//!   executor, a sleep that really waits), installed once by [`init`] and on first use;
//! - [`block_on`] runs a future in `main`; [`sleep`] waits;
//! - [`client_options`] / [`transport`] point any Azure client at the host in one line;
//! - [`BlockingReader`] streams an Azure response body into a `std::io::Write` (e.g. stdout);
//! - [`auth`] holds the key-based signing policies shared by the service crates;
//! - [`HostTokenCredential`] gets Entra ID tokens from the host (key-less auth);
//! - [`status_policy`] is the one table from a failure to the status a handler answers.
//!
//! ```no_run
//! use azure_core::http::{Context, Method, Pipeline, Request};
//! azure_wasi_core::block_on(async {
//!     let pipeline = Pipeline::new(None, None, azure_wasi_core::client_options(), vec![], vec![], None);
//!     let mut req = Request::new("http://127.0.0.1:8080/".parse()?, Method::Get);
//!     let resp = pipeline.send(&Context::new(), &mut req, None).await?;
//!     println!("{}", resp.status());
//!     Ok::<(), azure_core::Error>(())
//! })?;
//! # Ok::<(), azure_core::Error>(())
//! ```

#![warn(missing_docs)]

pub mod auth;
mod body;
mod client;
pub mod credential;
mod error;
mod options;
mod runtime;
pub mod status_policy;

pub use azure_wasi_runtime::{sleep, Sleep};
pub use body::BlockingReader;
pub use client::{WasiHttpClient, DEFAULT_OPTIONS};
pub use credential::HostTokenCredential;
pub use error::Error;
pub use options::{client_options, transport};
pub use runtime::{init, WasiRuntime};

/// Runs `future` to completion on the guest's executor, after installing [`WasiRuntime`] as
/// `azure_core`'s async runtime, so `azure_core`'s retry sleeps and spawned work run there too.
///
/// Handlers written with `#[handler]` never call it; use it in code that has no async entry.
///
/// ```
/// let v = azure_wasi_core::block_on(async { 40 + 2 });
/// assert_eq!(v, 42);
/// ```
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let _ = init();
    azure_wasi_runtime::block_on(future)
}
