//! Blob Storage emulator: path-style URLs `http://127.0.0.1:<port>/<account>/<container>/<blob>`.
//!
//! Block blobs and containers, Shared Key and service SAS, Azure XML errors. See the crate
//! README for the list of supported and rejected operations.

pub mod auth;
mod blobs;
mod blocks;
mod conditions;
mod containers;
mod content;
mod error;
mod events;
mod listing;
pub(crate) mod model;
mod operation;
mod router;
mod xml;
#[cfg(test)]
mod xml_proptests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use crate::config::BlobConfig;
use crate::eventgrid::EventPublisher;
use crate::server::{serve, ServeOptions, ServerTask};
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
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let blob = emulator::blob::BlobEmulator::start(
///     emulator::BlobConfig { port: 0, events: None, ..Default::default() },
///     emulator::store::StoreHandle::memory(),
///     None,
/// ).await?;
/// // List Containers, signed with Shared Key as the SDKs sign it.
/// let uri: http::Uri = format!("{}?comp=list", blob.account_url("devstoreaccount1")).parse()?;
/// let date = httpdate::fmt_http_date(std::time::SystemTime::now());
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-ms-date", date.parse()?);
/// headers.insert("x-ms-version", "2021-08-06".parse()?);
/// let auth = emulator::blob::auth::authorization(
///     emulator::DEV_ACCOUNT, emulator::DEV_ACCOUNT_KEY, &http::Method::GET, &uri, &headers)?;
/// let mut conn = tokio::net::TcpStream::connect(blob.addr()).await?;
/// let request = format!("GET /devstoreaccount1?comp=list HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-ms-date: {date}\r\nx-ms-version: 2021-08-06\r\nauthorization: {auth}\r\n\r\n");
/// conn.write_all(request.as_bytes()).await?;
/// let mut reply = String::new();
/// conn.read_to_string(&mut reply).await?;
/// assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
/// assert!(reply.contains("<EnumerationResults"), "{reply}");
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
    /// `cfg.events` names a topic (without one, start fails with a configuration error).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let cfg = emulator::BlobConfig { port: 0, events: None, ..Default::default() };
    /// let b = emulator::blob::BlobEmulator::start(cfg, emulator::store::StoreHandle::memory(), None).await?;
    /// assert_ne!(b.addr().port(), 0);
    /// assert_eq!(b.url(), format!("http://127.0.0.1:{}", b.addr().port()));
    /// assert_eq!(b.account_url("acct"), format!("{}/acct", b.url()));
    /// b.shutdown().await;
    ///
    /// let wants_events = emulator::BlobConfig { port: 0, ..Default::default() };
    /// let err = emulator::blob::BlobEmulator::start(wants_events, emulator::store::StoreHandle::memory(), None).await.unwrap_err();
    /// assert!(err.to_string().contains("blob.events.topic"), "{err}");
    /// # Ok(()) }
    /// ```
    pub async fn start(
        cfg: BlobConfig,
        store: StoreHandle,
        events: Option<EventPublisher>,
    ) -> Result<Self> {
        cfg.validate()?;
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
        let options = ServeOptions {
            limits: svc.cfg.limits.clone(),
            busy: router::server_busy,
        };
        let server = serve("blob", addr, options, move |req, peer| {
            router::handle(handler_svc.clone(), req, peer)
        })
        .await?;
        let _ = svc.base_url.set(format!("http://{}", server.addr));
        Ok(Self { server })
    }

    /// The bound address (127.0.0.1 and the configured or picked port).
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// `http://127.0.0.1:<port>/<account>`: the account URL the SDKs take.
    pub fn account_url(&self, account: &str) -> String {
        format!("http://{}/{}", self.server.addr, account)
    }

    /// A connection string for the SDKs (`DefaultEndpointsProtocol=http;AccountName=...;BlobEndpoint=...`;
    /// checked in the example of [`crate::Emulators::connection_strings`]).
    pub fn connection_string(&self, account: &str, key: &str) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint={};",
            self.account_url(account)
        )
    }

    /// Stop serving and wait until the listener is closed (see [`crate::Emulators::shutdown`]).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
