//! `azure_core` on `wasm32-wasip1`: a transport over the WAGI outbound HTTP ABI and an async
//! runtime that works without threads.
//!
//! - [`WasiHttpClient`] implements `azure_core::http::HttpClient` over
//!   [`wasi_experimental_http`];
//! - [`WasiRuntime`] is `azure_core`'s async runtime for WASI (spawn on a single-threaded
//!   executor, a sleep that really waits), installed once by [`init`] and on first use;
//! - [`block_on`] runs a future in `main`; [`sleep`] waits;
//! - [`client_options`] / [`transport`] point any Azure client at the host in one line;
//! - [`BlockingReader`] streams an Azure response body into a `std::io::Write` (e.g. stdout);
//! - [`auth`] holds the key-based signing policies shared by the service crates.
//!
//! ```no_run
//! use azure_core::http::{Context, Method, Pipeline, Request};
//! azure_core_wasi::block_on(async {
//!     let pipeline = Pipeline::new(None, None, azure_core_wasi::client_options(), vec![], vec![], None);
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
mod error;
mod executor;
mod options;
mod runtime;
mod timer;

pub use body::BlockingReader;
pub use client::WasiHttpClient;
pub use error::Error;
pub use executor::block_on;
pub use options::{client_options, transport};
pub use runtime::{init, WasiRuntime};
pub use timer::{sleep, Sleep};
