//! The `wasi_experimental_http` ABI as both sides see it, in one place.
//!
//! The harness (host) and `azure-wasi-outbound` (guest) both depend on this crate, so the two
//! ends cannot drift apart:
//!
//! - [`Code`]: the thirteen error codes (plus `0`, success), numbered as the original host does;
//! - the request header block the guest sends to `req` ([`encode_request_headers`] /
//!   [`decode_request_headers`]) and the response header block `headers_get_all` returns
//!   ([`encode_response_headers`] / [`decode_response_headers`]);
//! - the method rule ([`encode_method`] / [`parse_method`]);
//! - [`allowed_hosts_entry`]: the shortest `allowed_hosts` line that allows a URL, for the
//!   messages both sides print when a destination is denied.
//!
//! It depends on [`http`] only, builds for `wasm32-wasip1`, `wasm32-wasip2` and the host, and
//! none of its functions panic on any input.
//!
//! ```
//! use azure_wasi_abi::{decode_request_headers, encode_request_headers, Code};
//! let mut headers = http::HeaderMap::new();
//! headers.append("x-ms-meta-a", "1".parse().unwrap());
//! headers.append("x-ms-meta-a", "2".parse().unwrap());
//! let block = encode_request_headers(&headers);
//! assert_eq!(block, b"x-ms-meta-a:1\nx-ms-meta-a:2");
//! assert_eq!(decode_request_headers(&block), Ok(headers));
//! assert_eq!(decode_request_headers(b"no colon"), Err(Code::InvalidEncoding));
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod allowed_hosts;
mod code;
mod headers;
mod method;

pub use allowed_hosts::allowed_hosts_entry;
pub use code::Code;
pub use headers::{
    decode_request_headers, decode_response_headers, encode_request_headers,
    encode_response_headers, InvalidHeaderLine,
};
pub use method::{encode_method, parse_method};

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
