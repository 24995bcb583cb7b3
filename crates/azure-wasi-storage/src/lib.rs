//! Azure Blob Storage from a handler in either world (a WAGI module on `wasm32-wasip1`, a
//! wasi:http component on `wasm32-wasip2`): Shared Key and SAS authentication for the official
//! [`azure_storage_blob`] clients, account settings from the environment, block uploads from a
//! reader and streamed downloads.
//!
//! The official blob crate only knows Entra ID tokens. This crate adds a per-try
//! [`azure_core`] policy ([`SharedKeySigner`] or [`SasSigner`]) as the *last* per-try policy, so
//! the signature covers the final headers and each retry is signed afresh.
//!
//! ```no_run
//! # async fn run() -> Result<(), azure_wasi_storage::Error> {
//! use azure_wasi_storage::Storage;
//! // STORAGE_ACCOUNT, STORAGE_MASTER_KEY and optionally STORAGE_ENDPOINT
//! let storage = Storage::from_env()?;
//! storage.container("photos")?.create_if_not_exists(None).await?;
//! let summary = storage.blob("photos", "cat.jpg")?.upload(&b"meow"[..], Some("image/jpeg"), None).await?;
//! println!("stored {} bytes", summary.bytes);
//! # Ok(()) }
//! ```
//!
//! Errors are one [`Error`] whose [`Error::status`] follows the status policy shared with the
//! Cosmos and EventGrid crates (`azure_wasi_core::status_policy`).

mod clients;
mod error;
#[cfg(feature = "handler")]
mod response;
mod sas;
mod settings;
mod shared_key;
mod transfer;

pub use azure_storage_blob;
pub use clients::{BlobClient, ContainerClient, Storage, STORAGE_SCOPE};
pub use error::Error;
pub use sas::{BlobSasBuilder, SasPermissions, SasSigner, SasToken, SAS_VERSION};
pub use settings::{StorageAuth, StorageSettings, EMULATOR_ACCOUNT, EMULATOR_KEY};
pub use shared_key::{string_to_sign, SharedKeySigner};
pub use transfer::{
    open_download, upload_from_reader, BlobDownload, UploadOptions, UploadSummary,
    DEFAULT_BLOCK_SIZE,
};

/// Result type of this crate.
///
/// ```
/// fn f() -> azure_wasi_storage::Result<()> { Ok(()) }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
