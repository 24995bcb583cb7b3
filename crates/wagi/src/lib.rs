//! CGI helpers for WAGI handlers compiled to `wasm32-wasip1`.
//!
//! A WAGI host passes the request in environment variables and stdin and reads a CGI response
//! from stdout (see ARCHITECTURE §4). This crate gives small composable types for both sides:
//!
//! - [`Request`]: method, paths, decoded [`Query`], headers, content type, a lazily read body,
//!   JSON and form decoding;
//! - [`Response`]: status, repeated headers, a body from bytes, text, JSON or a reader, written
//!   as valid CGI output and flushed;
//! - [`run`]: calls a handler and maps its errors to statuses with [`error_response`];
//! - [`IntoResponse`]: lets handlers return `String`, `(StatusCode, T)`, [`Json`], ...
//!
//! ```no_run
//! wagi::run(|req| -> Result<_, wagi::BoxError> {
//!     let who = req.query("name").unwrap_or("world");
//!     Ok(wagi::Response::text(format!("hello, {who}\n")))
//! })
//! ```

#![warn(missing_docs)]

mod error;
mod query;
mod request;
mod response;
mod run;

pub use error::Error;
pub use query::{decode_component, Query};
pub use request::Request;
pub use response::{Body, IntoResponse, Json, Response, JSON, TEXT};
pub use run::{error_response, run, BoxError};
