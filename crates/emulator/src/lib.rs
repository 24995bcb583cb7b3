//! Embedded Azure emulators for tests and local runs, one module each: [`blob`] (Blob Storage),
//! [`eventgrid`] (EventGrid) and [`cosmos`] (Cosmos DB), on one store layer ([`store`]: memory or
//! redb) and one accept loop, started together by [`Emulators::start`].
//!
//! ```no_run
//! # async fn f() -> emulator::Result<()> {
//! let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
//! println!("blob at {}", emus.blob().map(|b| b.url()).unwrap_or_default());
//! emus.shutdown().await;
//! # Ok(()) }
//! ```

pub mod blob;
mod config;
pub mod cosmos;
mod emulators;
mod error;
pub mod eventgrid;
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
