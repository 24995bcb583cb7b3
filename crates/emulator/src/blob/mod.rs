//! Blob Storage emulator: path-style URLs `http://127.0.0.1:<port>/<account>/<container>/<blob>`.
//!
//! Block blobs and containers, Shared Key and service SAS, Azure XML errors. See the crate
//! README for the list of supported and rejected operations.

pub mod auth;
mod blobs;
mod conditions;
mod containers;
mod error;
mod events;
mod listing;
mod model;
mod router;
mod xml;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use crate::config::BlobConfig;
use crate::eventgrid::EventPublisher;
use crate::server::{serve, ServerTask};
use crate::store::StoreHandle;
use crate::{Error, Result};

/// The service version the emulator reports when a request names none.
pub const DEFAULT_VERSION: &str = "2021-08-06";

/// Shared state of a running Blob emulator.
pub(crate) struct BlobService {
    pub cfg: BlobConfig,
    pub keys: HashMap<String, Vec<u8>>,
    pub store: StoreHandle,
    /// Serialises read-check-write sequences (conditional writes, block list commits).
    pub write_lock: tokio::sync::Mutex<()>,
    pub events: Option<(EventPublisher, String)>,
    pub base_url: OnceLock<String>,
}

impl BlobService {
    pub fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }
}

/// A running Blob Storage emulator.
///
/// ```no_run
/// # async fn f() -> emulator::Result<()> {
/// let blob = emulator::blob::BlobEmulator::start(
///     emulator::BlobConfig { port: 0, events: None, ..Default::default() },
///     emulator::store::StoreHandle::memory(),
///     None,
/// ).await?;
/// println!("{}", blob.account_url("devstoreaccount1"));
/// blob.shutdown().await;
/// # Ok(()) }
/// ```
pub struct BlobEmulator {
    server: ServerTask,
}

impl std::fmt::Debug for BlobEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobEmulator")
            .field("addr", &self.server.addr)
            .finish()
    }
}

impl BlobEmulator {
    /// Start on `127.0.0.1:<cfg.port>`. `events` is the EventGrid publisher used when
    /// `cfg.events` names a topic.
    ///
    /// ```no_run
    /// # async fn f() -> emulator::Result<()> {
    /// let cfg = emulator::BlobConfig { port: 0, events: None, ..Default::default() };
    /// let b = emulator::blob::BlobEmulator::start(cfg, emulator::store::StoreHandle::memory(), None).await?;
    /// assert_ne!(b.addr().port(), 0);
    /// # Ok(()) }
    /// ```
    pub async fn start(
        cfg: BlobConfig,
        store: StoreHandle,
        events: Option<EventPublisher>,
    ) -> Result<Self> {
        let mut keys = HashMap::new();
        for a in &cfg.accounts {
            let key = crate::util::decode_key(&a.key).map_err(|_| {
                Error::Config(format!(
                    "the key of blob account `{}` is not valid base64",
                    a.name
                ))
            })?;
            keys.insert(a.name.clone(), key);
        }
        let events = match (&cfg.events, events) {
            (Some(ev), Some(p)) => Some((p, ev.topic.clone())),
            (Some(ev), None) => {
                return Err(Error::Config(format!(
                    "blob.events.topic = `{}` but no EventGrid emulator was given to publish to; start EventGrid too or remove [blob.events]",
                    ev.topic
                )))
            }
            (None, _) => None,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], cfg.port));
        let svc = Arc::new(BlobService {
            cfg,
            keys,
            store,
            write_lock: tokio::sync::Mutex::new(()),
            events,
            base_url: OnceLock::new(),
        });
        let handler_svc = svc.clone();
        let server = serve("blob", addr, move |req, peer| {
            router::handle(handler_svc.clone(), req, peer)
        })
        .await?;
        let _ = svc.base_url.set(format!("http://{}", server.addr));
        Ok(Self { server })
    }

    /// The bound address.
    ///
    /// ```no_run
    /// # fn f(b: &emulator::blob::BlobEmulator) { println!("{}", b.addr()); }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// `http://127.0.0.1:<port>`.
    ///
    /// ```no_run
    /// # fn f(b: &emulator::blob::BlobEmulator) { assert!(b.url().starts_with("http://")); }
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// `http://127.0.0.1:<port>/<account>`: the account URL the SDKs take.
    ///
    /// ```no_run
    /// # fn f(b: &emulator::blob::BlobEmulator) { let _ = b.account_url("devstoreaccount1"); }
    /// ```
    pub fn account_url(&self, account: &str) -> String {
        format!("http://{}/{}", self.server.addr, account)
    }

    /// A connection string for the SDKs (`DefaultEndpointsProtocol=http;AccountName=...;BlobEndpoint=...`).
    ///
    /// ```no_run
    /// # fn f(b: &emulator::blob::BlobEmulator) { let _ = b.connection_string("devstoreaccount1", emulator::DEV_ACCOUNT_KEY); }
    /// ```
    pub fn connection_string(&self, account: &str, key: &str) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint={};",
            self.account_url(account)
        )
    }

    /// Stop serving and wait until the listener is closed.
    ///
    /// ```no_run
    /// # async fn f(b: emulator::blob::BlobEmulator) { b.shutdown().await; }
    /// ```
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
