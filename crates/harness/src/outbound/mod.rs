//! Host side of the `wasi_experimental_http` ABI (ARCHITECTURE section 3).
//!
//! Split like `wasmtime-wasi`: [`abi`] is the thin layer of host functions that checks guest
//! pointers and maps results to codes; [`OutboundClient`] and [`OutboundState`] are the safe
//! API underneath (allow-list, redirects, timeouts, body limits, handle table).

pub mod abi;
mod client;
mod codec;
mod codes;
mod guest_memory;
mod policy;
mod state;

pub use client::OutboundClient;
pub use codes::Code;
pub use policy::OutboundPolicy;
pub use state::OutboundState;
