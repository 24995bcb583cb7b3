//! The Cosmos DB (SQL API) emulator.
//!
//! It speaks the Cosmos REST protocol well enough for Microsoft's SDKs: the database account,
//! databases, containers, items (create, read, replace, upsert, delete with partition keys,
//! `If-Match`), SQL queries with parameters and paging, and master-key authentication checked
//! exactly. State lives in the emulators' shared store: memory, or
//! `<data_dir>/emulator.redb` when `data_dir` is set.
//!
//! ```no_run
//! # async fn demo() -> Result<(), emulator::cosmos::Error> {
//! use emulator::cosmos::{CosmosConfig, CosmosEmulator};
//! let emu = CosmosEmulator::start(CosmosConfig::default(), "127.0.0.1:8081".parse().unwrap()).await?;
//! // point an SDK at emu.url() with key emulator::cosmos::EMULATOR_MASTER_KEY
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

mod api_error;
pub mod auth;
mod config;
mod emulator;
mod engine;
mod error;
mod http;
mod partition;
mod query;
mod store;

pub use config::{CosmosConfig, EMULATOR_MASTER_KEY};
pub use emulator::CosmosEmulator;
pub use error::Error;

use std::net::SocketAddr;
use std::path::Path;

use crate::config::CosmosSection;
use crate::Result;

/// A running Cosmos DB emulator started by [`crate::Emulators`].
///
/// ```no_run
/// # fn f(c: &emulator::CosmosHandle) { println!("{}", c.url()); }
/// ```
pub struct CosmosHandle {
    inner: CosmosEmulator,
}

impl std::fmt::Debug for CosmosHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosmosHandle")
            .field("addr", &self.inner.addr())
            .finish()
    }
}

impl CosmosHandle {
    /// The bound address.
    ///
    /// ```no_run
    /// # fn f(c: &emulator::CosmosHandle) { println!("{}", c.addr()); }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr()
    }

    /// The endpoint URL clients use.
    ///
    /// ```no_run
    /// # fn f(c: &emulator::CosmosHandle) { println!("{}", c.url()); }
    /// ```
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// The underlying emulator.
    ///
    /// ```no_run
    /// # fn f(c: &emulator::CosmosHandle) { let _ = c.inner(); }
    /// ```
    pub fn inner(&self) -> &CosmosEmulator {
        &self.inner
    }

    /// Stop it.
    ///
    /// ```no_run
    /// # async fn f(c: emulator::CosmosHandle) { c.shutdown().await; }
    /// ```
    pub async fn shutdown(self) {
        self.inner.shutdown().await;
    }
}

/// Start Cosmos on `127.0.0.1:<port>`; with an umbrella data directory and none of its own it
/// keeps its data in `<data_dir>/cosmos`.
pub(crate) async fn start(
    section: &CosmosSection,
    data_dir: Option<&Path>,
) -> Result<CosmosHandle> {
    let mut settings = section.settings.clone();
    if settings.data_dir.is_none() {
        settings.data_dir = data_dir.map(|d| d.join("cosmos"));
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], section.port));
    let inner = CosmosEmulator::start(settings, addr)
        .await
        .map_err(|e| crate::Error::Cosmos(e.to_string()))?;
    Ok(CosmosHandle { inner })
}
