//! Embedded Azure emulators for tests and local runs, one module each: [`blob`] (Blob Storage),
//! [`eventgrid`] (EventGrid) and [`cosmos`] (Cosmos DB), on one store layer ([`store`]: memory or
//! redb) and one accept loop, started together by [`Emulators::start`]; [`identity`] issues and
//! verifies the Entra ID style bearer tokens all three accept.
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
//! let blob = emus.blob().expect("Blob Storage is enabled by default");
//! // A request without credentials is refused the way Azure refuses it.
//! let mut conn = tokio::net::TcpStream::connect(blob.addr()).await?;
//! conn.write_all(b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await?;
//! let mut reply = String::new();
//! conn.read_to_string(&mut reply).await?;
//! assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
//! assert!(reply.contains("NoAuthenticationInformation"), "{reply}");
//! emus.shutdown().await;
//! # Ok(()) }
//! ```

pub mod blob;
mod config;
pub mod cosmos;
mod emulators;
mod error;
pub mod eventgrid;
pub mod identity;
pub mod inspect;
mod limits;
mod server;
pub mod store;
mod util;

pub use config::{
    BlobConfig, BlobEventsConfig, CosmosSection, DeliverySchema, EmulatorsConfig, EventGridConfig,
    RetryConfig, StorageAccount, SubscriptionConfig, TopicConfig, DEV_ACCOUNT, DEV_ACCOUNT_KEY,
    DEV_TOPIC_KEY,
};
pub use cosmos::CosmosHandle;
pub use emulators::Emulators;
pub use error::{Error, Result};
pub use eventgrid::DeadLetter;
pub use identity::IdentityConfig;
pub use inspect::Inspector;
pub use limits::ServerLimits;
pub use server::ops::render_operation_counts;
