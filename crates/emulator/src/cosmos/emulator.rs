//! Starting and stopping the emulator.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::cosmos::auth::MasterKeys;
use crate::cosmos::engine::Engine;
use crate::cosmos::http::handler::State;
use crate::cosmos::store::Storage;
use crate::cosmos::{CosmosConfig, Error};
use crate::server::{self, ServerTask};
use crate::store::{MemoryStore, RedbStore, Store};

/// A running Cosmos DB emulator.
///
/// ```
/// use emulator::cosmos::{CosmosConfig, CosmosEmulator};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), emulator::cosmos::Error> {
/// let emu = CosmosEmulator::start(CosmosConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
/// assert_ne!(emu.addr().port(), 0); // the port the OS picked
/// assert_eq!(emu.url(), format!("http://127.0.0.1:{}", emu.addr().port()));
/// emu.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CosmosEmulator {
    addr: SocketAddr,
    server: Option<ServerTask>,
    state: Option<Arc<State>>,
}

impl CosmosEmulator {
    /// The running state (engine and store), for [`crate::Inspector`]; `None` once stopped.
    pub(crate) fn state(&self) -> Option<Arc<crate::cosmos::CosmosState>> {
        self.state.clone()
    }

    /// Binds `addr` (port 0 picks a free port), opens the store (redb under
    /// `config.data_dir`, or memory) and starts serving.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let cfg = emulator::cosmos::CosmosConfig { data_dir: Some(dir.path().into()), ..Default::default() };
    /// let emu = emulator::cosmos::CosmosEmulator::start(cfg.clone(), "127.0.0.1:0".parse()?).await?;
    /// assert!(dir.path().join("emulator.redb").exists());
    /// emu.shutdown().await;
    /// // A key that is not base64 is refused before anything is bound.
    /// let bad = emulator::cosmos::CosmosConfig { master_key: "not base64!".into(), ..cfg };
    /// let err = emulator::cosmos::CosmosEmulator::start(bad, "127.0.0.1:0".parse()?).await.unwrap_err();
    /// assert!(matches!(err, emulator::cosmos::Error::InvalidMasterKey));
    /// # Ok(()) }
    /// ```
    pub async fn start(config: CosmosConfig, addr: SocketAddr) -> Result<CosmosEmulator, Error> {
        let keys = MasterKeys::new(
            std::iter::once(config.master_key.as_str()).chain(config.secondary_key.as_deref()),
        )
        .ok_or(Error::InvalidMasterKey)?;
        config
            .limits
            .validate("cosmos.settings.limits")
            .map_err(Error::from)?;
        // The shared store layer: `<data_dir>/emulator.redb` (table `cosmos_kv`), or memory.
        let store: Arc<dyn Store> = match &config.data_dir {
            Some(dir) => {
                let dir = dir.clone();
                let store = tokio::task::spawn_blocking(move || RedbStore::open_dir(&dir))
                    .await
                    .map_err(|e| Error::Storage(e.to_string()))??;
                Arc::new(store)
            }
            None => Arc::new(MemoryStore::new()),
        };
        // Bind first so the state knows its own URL; the shared accept loop serves it.
        let listener = server::bind("cosmos", addr).await?;
        let addr = listener.local_addr;
        let state = Arc::new(State {
            engine: Engine::new(Storage::new(store)),
            keys,
            skew: Duration::from_secs(config.max_clock_skew_secs),
            account: config.account_name.clone(),
            url: format!("http://{addr}"),
            limits: config.limits.clone(),
            trust: config.trusted_issuer.clone(),
        });
        let handler_state = state.clone();
        let options = server::ServeOptions {
            limits: config.limits.clone(),
            busy: crate::cosmos::http::server_busy,
        };
        let server = listener.serve(options, move |req, _peer| {
            let state = handler_state.clone();
            async move {
                match crate::cosmos::http::serve(state, req).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                }
            }
        });
        tracing::info!(%addr, persistent = config.data_dir.is_some(), "Cosmos DB emulator listening");
        Ok(CosmosEmulator {
            addr,
            server: Some(server),
            state: Some(state),
        })
    }

    /// The bound address (see the example of [`CosmosEmulator`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The account endpoint, `http://<addr>` without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, drops open connections and closes the store (so the same data
    /// directory can be opened again; `tests/cosmos_persistence.rs` restarts on one).
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        // Requests already inside the blocking handler hold the state; wait for them so the
        // redb file is closed when this returns.
        if let Some(state) = self.state.take() {
            for _ in 0..500 {
                if Arc::strong_count(&state) == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        tracing::info!(addr = %self.addr, "Cosmos DB emulator stopped");
    }
}

impl Drop for CosmosEmulator {
    /// Dropping without [`CosmosEmulator::shutdown`] still stops the server (in the
    /// background); call `shutdown` to wait until the port and data file are released.
    fn drop(&mut self) {
        // Dropping the `ServerTask` signals the accept loop to stop.
        self.server.take();
    }
}
