//! Safe guest binding of the `wasi_experimental_http` outbound HTTP host ABI.
//!
//! WASI preview 1 has no sockets; WAGI hosts (the original deislabs WAGI 0.8 and this
//! project's harness) give modules outbound HTTP through five imported functions (see
//! [`raw`] on wasm32). This crate wraps them with [`http`] 1.x types:
//!
//! - [`send`] / [`send_parts`] send a request whose body is bytes;
//! - [`Response`] gives the status, an [`http::HeaderMap`] with every value of repeated
//!   headers, and a [`Body`] that streams with [`std::io::Read`] or collects into [`bytes::Bytes`];
//!   the host handle is closed at end of body or on drop;
//! - [`Error`] covers every host code; a denied destination names the `allowed_hosts` entry
//!   to add.
//!
//! On targets other than wasm32 the crate builds (for docs, `cargo check`, unit tests) and
//! sending returns [`Error::Unsupported`].
//!
//! ```no_run
//! use std::io::Read;
//! let req = http::Request::get("http://127.0.0.1:8080/data")
//!     .body(bytes::Bytes::new())
//!     .expect("valid request");
//! let mut resp = wasi_experimental_http::send(req)?;
//! println!("status {}", resp.status());
//! let mut text = String::new();
//! resp.read_to_string(&mut text)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod codec;
mod error;
#[cfg(target_arch = "wasm32")]
pub mod raw;
mod response;
mod send;
mod sys;

pub use codec::{decode_headers, encode_headers};
pub use error::{allowed_hosts_entry, redact_url, Error};
pub use response::{Body, Response, DEFAULT_CHUNK};
pub use send::{send, send_parts};
