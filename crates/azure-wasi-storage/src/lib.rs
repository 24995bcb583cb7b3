//! Azure Blob Storage from a WAGI handler: Shared Key and SAS authentication for the official
//! [`azure_storage_blob`] clients, account settings from the environment, block uploads from a
//! reader and streamed downloads.
//!
//! The official blob crate only knows Entra ID tokens. This crate adds a per-try
//! [`azure_core`] policy ([`SharedKeySigner`] or [`SasSigner`]) as the *last* per-try policy, so
//! the signature covers the final headers and each retry is signed afresh.
//!
//! ```no_run
//! # async fn run() -> Result<(), azure_wasi_storage::Error> {
//! use azure_wasi_storage::StorageSettings;
//! // STORAGE_ACCOUNT, STORAGE_MASTER_KEY and optionally STORAGE_ENDPOINT
//! let settings = StorageSettings::from_env()?;
//! let blob = settings.blob_client("photos", "cat.jpg", azure_core::http::ClientOptions::default())?;
//! let summary = azure_wasi_storage::upload_from_reader(&blob, &b"meow"[..], Some("image/jpeg"), None).await?;
//! println!("stored {} bytes", summary.bytes);
//! # Ok(()) }
//! ```

mod clients;
mod error;
mod sas;
mod settings;
mod shared_key;
mod transfer;

pub use azure_storage_blob;
pub use error::Error;
pub use sas::{BlobSasBuilder, SasPermissions, SasSigner, SasToken, SAS_VERSION};
pub use settings::{StorageAuth, StorageSettings, EMULATOR_ACCOUNT, EMULATOR_KEY};
pub use shared_key::{string_to_sign, SharedKeySigner};
pub use transfer::{
    open_download, upload_from_reader, BlobDownload, UploadSummary, DEFAULT_BLOCK_SIZE,
};

/// Result type of this crate.
///
/// ```
/// fn f() -> azure_wasi_storage::Result<()> { Ok(()) }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
