//! One HTTP handler API for WebAssembly guests, in both worlds:
//!
//! - built for `wasm32-wasip1` a handler is a WAGI module: the request comes in as CGI
//!   (environment variables and stdin) and the response goes out on stdout;
//! - built for `wasm32-wasip2` it is a wasi:http component exporting `incoming-handler`, with
//!   request and response bodies streamed.
//!
//! The types are the same in both, so one handler source builds for both targets:
//!
//! - [`Request`]: method, paths, decoded [`Query`], headers, the module's environment, a lazily
//!   read body (`body`, `into_body_reader`), JSON and form decoding;
//! - [`Response`]: status, repeated headers, a body from bytes, text, JSON or a reader;
//! - [`IntoResponse`]: lets handlers return `String`, `(StatusCode, T)`, [`Json`],
//!   `Result<T, E>`, ...; errors become statuses through [`error_response`];
//! - [`run`] (modules) and `serve` (components) are the entry points that the `#[handler]`
//!   attribute of the `azure-wasi` crate calls for you.
//!
//! ```no_run
//! azure_wasi_handler::run(|req| async move {
//!     let who = req.query("name").unwrap_or("world").to_string();
//!     azure_wasi_handler::Response::text(format!("hello, {who}\n"))
//! })
//! ```

#![warn(missing_docs)]

mod environment;
mod error;
mod query;
mod request;
mod response;
mod run;
#[cfg(all(target_arch = "wasm32", target_env = "p2"))]
mod wasi_http;
#[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1"))]
mod wasip1;

pub use error::Error;
pub use query::{decode_component, Query};
pub use request::Request;
#[cfg(feature = "json")]
pub use response::Json;
pub use response::{Body, IntoResponse, Response, JSON, TEXT};
pub use run::{error_response, run, run_sync, BoxError};
#[cfg(all(target_arch = "wasm32", target_env = "p2"))]
pub use run::{serve, serve_sync};

/// What `#[handler]` expands to needs; not a public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    pub use wasip2;
}
