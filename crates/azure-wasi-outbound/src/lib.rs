//! Outbound HTTP for a guest, in both worlds, with [`http`] 1.x types.
//!
//! - On `wasm32-wasip1` (WAGI modules) WASI has no sockets; WAGI hosts (the original deislabs
//!   WAGI 0.8 and this project's harness) give modules outbound HTTP through the five imported
//!   functions of `wasi_experimental_http` (see `raw`, wasm32-wasip1 only).
//! - On `wasm32-wasip2` (wasi:http components) requests go through
//!   `wasi:http/outgoing-handler`, with the body streamed both ways and the [`Options`]
//!   timeouts passed to the host.
//!
//! The API is the same for both:
//!
//! - [`send`] / [`send_parts`] send a request whose body is bytes; [`start`] returns a
//!   [`RequestBody`] to write a body as it is produced;
//! - [`Response`] gives the status, an [`http::HeaderMap`] with every value of repeated
//!   headers, and a [`Body`] that streams with [`std::io::Read`] or collects into [`bytes::Bytes`];
//!   the host handle is closed at end of body or on drop;
//! - [`Error`] covers every host code of both worlds; a denied destination names the
//!   `allowed_hosts` entry to add, and [`Error::is_transient`] says whether a retry may help.
//!
//! On targets other than wasm32 the crate builds (for docs, `cargo check`, unit tests) and
//! sending returns [`Error::Unsupported`].
//!
//! ```no_run
//! use std::io::Read;
//! let req = http::Request::get("http://127.0.0.1:8080/data")
//!     .body(bytes::Bytes::new())
//!     .expect("valid request");
//! let mut resp = azure_wasi_outbound::send(req)?;
//! println!("status {}", resp.status());
//! let mut text = String::new();
//! resp.read_to_string(&mut text)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod codec;
mod error;
mod options;
#[cfg(all(target_arch = "wasm32", target_env = "p2"))]
mod p2;
#[cfg(all(target_arch = "wasm32", target_env = "p1"))]
pub mod raw;
mod request;
mod response;
mod send;
mod sys;

/// The ABI definitions this binding shares with the host (codes, header blocks, method rule,
/// `allowed_hosts` hint).
pub use azure_wasi_abi as abi;
pub use codec::{decode_headers, encode_headers};
pub use error::{allowed_hosts_entry, redact_url, Error};
pub use options::Options;
pub use request::{start, RequestBody};
pub use response::{Body, Response, DEFAULT_CHUNK};
pub use send::{send, send_parts, send_with};
