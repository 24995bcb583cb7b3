//! Starting and stopping the emulator.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::auth::MasterKeys;
use crate::engine::Engine;
use crate::http::handler::State;
use crate::store::{MemoryStore, RedbStore, Storage};
use crate::{CosmosConfig, Error};

/// A running Cosmos DB emulator.
///
/// ```no_run
/// # async fn demo() -> Result<(), emulator_cosmos::Error> {
/// use emulator_cosmos::{CosmosConfig, CosmosEmulator};
/// let emu = CosmosEmulator::start(CosmosConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
/// println!("Cosmos emulator at {}", emu.url()); // e.g. http://127.0.0.1:41234
/// emu.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct CosmosEmulator {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    state: Option<Arc<State>>,
}

impl CosmosEmulator {
    /// Binds `addr` (port 0 picks a free port), opens the store (redb under
    /// `config.data_dir`, or memory) and starts serving.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), emulator_cosmos::Error> {
    /// let cfg = emulator_cosmos::CosmosConfig { data_dir: Some("/tmp/cosmos".into()), ..Default::default() };
    /// let emu = emulator_cosmos::CosmosEmulator::start(cfg, "127.0.0.1:8081".parse().unwrap()).await?;
    /// # emu.shutdown().await; Ok(()) }
    /// ```
    pub async fn start(config: CosmosConfig, addr: SocketAddr) -> Result<CosmosEmulator, Error> {
        let keys = MasterKeys::new(
            std::iter::once(config.master_key.as_str()).chain(config.secondary_key.as_deref()),
        )
        .ok_or(Error::InvalidMasterKey)?;
        let store: Box<dyn Storage> = match &config.data_dir {
            Some(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || RedbStore::open(&dir))
                    .await
                    .map_err(|e| Error::Storage(e.to_string()))?
                    .map(|s| Box::new(s) as Box<dyn Storage>)?
            }
            None => Box::new(MemoryStore::default()),
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let state = Arc::new(State {
            engine: Engine::new(store),
            keys,
            skew: Duration::from_secs(config.max_clock_skew_secs),
            account: config.account_name.clone(),
            url: format!("http://{addr}"),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, state.clone(), stopped));
        tracing::info!(%addr, persistent = config.data_dir.is_some(), "Cosmos DB emulator listening");
        Ok(CosmosEmulator {
            addr,
            stop,
            task: Some(task),
            state: Some(state),
        })
    }

    /// The bound address.
    ///
    /// ```no_run
    /// # async fn demo(emu: emulator_cosmos::CosmosEmulator) {
    /// assert_ne!(emu.addr().port(), 0);
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The account endpoint, `http://<addr>` without a trailing slash.
    ///
    /// ```no_run
    /// # async fn demo(emu: emulator_cosmos::CosmosEmulator) {
    /// assert!(emu.url().starts_with("http://127.0.0.1:"));
    /// # }
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, drops open connections and closes the store (so the same data
    /// directory can be opened again).
    ///
    /// ```no_run
    /// # async fn demo(emu: emulator_cosmos::CosmosEmulator) {
    /// emu.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
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
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stopped: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "cosmos emulator accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let state = state.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| crate::http::serve(state.clone(), req));
                    if let Err(e) = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                    {
                        tracing::debug!(%peer, error = %e, "cosmos emulator connection ended with an error");
                    }
                });
            }
        }
    }
    conns.shutdown().await;
}
