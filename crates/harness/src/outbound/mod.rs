//! Host side of the `wasi_experimental_http` ABI: five host functions (`req`, `close`,
//! `header_get`, `headers_get_all`, `body_read`), all `i32`, each returning a code from
//! `azure-wasi-abi`; see the crate README for the contract.
//!
//! Split like `wasmtime-wasi`: [`abi`] is the thin layer of host functions that checks guest
//! pointers and maps results to codes; [`OutboundClient`] and [`OutboundState`] are the safe
//! API underneath (allow-list, redirects, timeouts, body limits, handle table). The client, its
//! connector (resolve, check the resolved address, connect) and the header rules are shared
//! with the component world.

pub mod abi;
mod address_policy;
pub(crate) mod call_log;
pub(crate) mod client;
mod connector;
mod guest_memory;
pub(crate) mod headers;
mod policy;
#[cfg(test)]
mod proptests;
mod state;

/// The ABI's result codes, shared with the guest binding (`azure-wasi-abi`).
pub use azure_wasi_abi::Code;
pub use client::OutboundClient;
pub use policy::OutboundPolicy;
pub use state::OutboundState;

/// Result of a host function body: `Err` carries the code to return.
pub(crate) type AbiResult<T = ()> = Result<T, Code>;
