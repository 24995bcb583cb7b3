//! Starting the Cosmos DB emulator from the `emulator-cosmos` crate.

use std::net::SocketAddr;
use std::path::Path;

use crate::config::CosmosSection;
use crate::{Error, Result};

/// A running Cosmos DB emulator (see the `emulator-cosmos` crate).
///
/// ```no_run
/// # fn f(c: &emulator::CosmosHandle) { println!("{}", c.url()); }
/// ```
pub struct CosmosHandle {
    inner: emulator_cosmos::CosmosEmulator,
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
    pub fn inner(&self) -> &emulator_cosmos::CosmosEmulator {
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
    let inner = emulator_cosmos::CosmosEmulator::start(settings, addr)
        .await
        .map_err(|e| Error::Cosmos(e.to_string()))?;
    Ok(CosmosHandle { inner })
}
