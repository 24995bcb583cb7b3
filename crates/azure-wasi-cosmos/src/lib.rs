//! A Cosmos DB (SQL API) client for handlers in both worlds (WAGI modules on `wasm32-wasip1`,
//! wasi:http components on `wasm32-wasip2`), on `azure_core`'s pipeline.
//!
//! Names follow the official `azure_data_cosmos` crate: [`Cosmos`] (its `CosmosClient`) →
//! [`DatabaseClient`] → [`ContainerClient`]. Requests are signed with the account's master key
//! by a per-try policy ([`MasterKeySigner`]), so retries (including 429 answers, which wait for
//! `x-ms-retry-after-ms`) are signed afresh. Service errors become [`Error::Service`] with the
//! status, sub-status and Cosmos's message; [`Error::status`] follows the status policy shared
//! with the Storage and EventGrid crates (`azure_wasi_core::status_policy`).
//!
//! ```no_run
//! # async fn run() -> Result<(), azure_wasi_cosmos::Error> {
//! use azure_wasi_cosmos::{Cosmos, Query, QueryOptions};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Note { id: String, owner: String, text: String }
//!
//! // COSMOS_ENDPOINT (or COSMOS_ACCOUNT) and COSMOS_MASTER_KEY
//! let cosmos = Cosmos::from_env()?;
//! let db = cosmos.create_database_if_not_exists("app", None).await?;
//! let notes = db.create_container_if_not_exists("notes", "/owner", None).await?;
//! let note = Note { id: "1".into(), owner: "ann".into(), text: "hi".into() };
//! notes.upsert_item("ann", &note, None).await?;
//! let query = Query::from("SELECT * FROM c WHERE c.owner = @owner").with_parameter("@owner", "ann")?;
//! let options = QueryOptions { partition_key: Some("ann".into()), ..Default::default() };
//! let found: Vec<Note> = notes.query_items(query, Some(options)).collect_all().await?;
//! # Ok(()) }
//! ```

mod auth;
mod client;
mod container;
mod database;
mod error;
mod models;
mod partition_key;
mod query;
#[cfg(feature = "handler")]
mod response;
mod settings;
mod transport;

pub use auth::{
    authorization_token, resource_of_path, DateHeaders, MasterKeySigner, COSMOS_API_VERSION,
};
pub use client::Cosmos;
pub use container::{
    ContainerClient, CreateOptions, ItemOptions, ItemResponse, QueryOptions, ReadItemOptions,
};
pub use database::DatabaseClient;
pub use error::Error;
pub use models::{ContainerProperties, DatabaseProperties, PartitionKeyDefinition};
pub use partition_key::PartitionKey;
pub use query::{Query, QueryPage, QueryPager};
pub use settings::{CosmosAuth, CosmosSettings, COSMOS_SCOPE, EMULATOR_KEY};

/// Result type of this crate.
///
/// ```
/// fn f() -> azure_wasi_cosmos::Result<()> { Ok(()) }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Cosmos ids may not be empty, longer than 255 characters, or contain `/ \ ? #`.
pub(crate) fn validate_id(what: &'static str, id: &str) -> Result<()> {
    let reason = if id.is_empty() {
        "it is empty"
    } else if id.chars().count() > 255 {
        "use at most 255 characters"
    } else if id.contains(['/', '\\', '?', '#']) {
        "it may not contain '/', '\\', '?' or '#'"
    } else if id.ends_with(' ') {
        "it may not end with a space"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName {
        what,
        name: id.chars().take(64).collect(),
        reason,
    })
}
