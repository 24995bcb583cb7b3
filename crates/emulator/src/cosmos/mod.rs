//! The Cosmos DB (SQL API) emulator.
//!
//! It speaks the Cosmos REST protocol well enough for Microsoft's SDKs: the database account,
//! databases, containers, items (create, read, replace, upsert, delete with partition keys,
//! `If-Match`), SQL queries with parameters and paging, and master-key authentication checked
//! exactly. State lives in the emulators' shared store: memory, or
//! `<data_dir>/emulator.redb` when `data_dir` is set.
//!
//! ```
//! use emulator::cosmos::{auth::authorization_header, CosmosConfig, CosmosEmulator, EMULATOR_MASTER_KEY};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emu = CosmosEmulator::start(CosmosConfig::default(), "127.0.0.1:0".parse()?).await?;
//! // Read the database account, signed with the master key as the SDKs sign it.
//! let date = httpdate::fmt_http_date(std::time::SystemTime::now());
//! let auth = authorization_header(EMULATOR_MASTER_KEY, "GET", "", "", &date).expect("valid key");
//! let mut conn = tokio::net::TcpStream::connect(emu.addr()).await?;
//! let request = format!("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-ms-date: {date}\r\nauthorization: {auth}\r\n\r\n");
//! conn.write_all(request.as_bytes()).await?;
//! let mut reply = String::new();
//! conn.read_to_string(&mut reply).await?;
//! assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
//! assert!(reply.contains(r#""id":"localhost""#), "the account_name setting: {reply}");
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

pub(crate) use http::handler::State as CosmosState;

pub use config::{CosmosConfig, EMULATOR_MASTER_KEY};
pub use emulator::CosmosEmulator;
pub use error::Error;

use std::net::SocketAddr;
use std::path::Path;

use crate::config::CosmosSection;
use crate::Result;

/// A running Cosmos DB emulator started by [`crate::Emulators`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
/// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
/// let cosmos = emus.cosmos().expect("enabled by default");
/// assert_eq!(cosmos.url(), format!("http://{}", cosmos.addr()));
/// assert_eq!(cosmos.inner().addr(), cosmos.addr());
/// emus.shutdown().await;
/// # Ok(()) }
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
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr()
    }

    /// The endpoint URL clients use (`http://<addr>`).
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// The underlying emulator.
    pub fn inner(&self) -> &CosmosEmulator {
        &self.inner
    }

    /// Stop it and close its store (see [`CosmosEmulator::shutdown`]).
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
