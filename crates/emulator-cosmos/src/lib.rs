//! An embedded Azure Cosmos DB (SQL API) emulator for tests and local development.
//!
//! It speaks the Cosmos REST protocol well enough for Microsoft's SDKs: the database account,
//! databases, containers, items (create, read, replace, upsert, delete with partition keys,
//! `If-Match`), SQL queries with parameters and paging, and master-key authentication checked
//! exactly. State lives in memory, or in a redb file when `data_dir` is set.
//!
//! ```no_run
//! # async fn demo() -> Result<(), emulator_cosmos::Error> {
//! use emulator_cosmos::{CosmosConfig, CosmosEmulator};
//! let emu = CosmosEmulator::start(CosmosConfig::default(), "127.0.0.1:8081".parse().unwrap()).await?;
//! // point an SDK at emu.url() with key emulator_cosmos::EMULATOR_MASTER_KEY
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
