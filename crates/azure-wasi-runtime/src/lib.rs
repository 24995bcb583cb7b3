//! A small async executor for WebAssembly guests, on `wasm32-wasip1` and `wasm32-wasip2` alike.
//!
//! A guest has one thread. [`block_on`] drives the main future, every task queued with
//! [`spawn`] and every [`sleep`] timer on it, and when nothing can make progress it waits on the
//! WASI monotonic clock until the next timer is due, so a retry back-off really waits and
//! spawned work (such as a partitioned blob download) overlaps its waits.
//!
//! The `#[handler]` attribute of `azure-wasi` runs async handlers on it, and `azure-wasi-core`
//! installs it as `azure_core`'s async runtime.
//!
//! ```
//! use std::time::{Duration, Instant};
//! let start = Instant::now();
//! let total = azure_wasi_runtime::block_on(async {
//!     let a = azure_wasi_runtime::spawn(Box::pin(azure_wasi_runtime::sleep(Duration::from_millis(30))));
//!     let b = azure_wasi_runtime::spawn(Box::pin(azure_wasi_runtime::sleep(Duration::from_millis(30))));
//!     a.await;
//!     b.await;
//!     2
//! });
//! assert_eq!(total, 2);
//! // The two sleeps overlapped.
//! assert!(start.elapsed() < Duration::from_millis(55));
//! ```

#![warn(missing_docs)]

mod executor;
mod timer;

pub use executor::{block_on, spawn, BoxTask, JoinHandle};
pub use timer::{sleep, yield_now, Sleep, YieldNow};
