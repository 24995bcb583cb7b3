//! The crate's error type.

/// Everything that can go wrong in this crate. Messages say what to do next and never contain
/// keys or signatures.
///
/// ```
/// let e = azure_wasi_storage::Error::MissingSetting { name: "STORAGE_ACCOUNT" };
/// assert!(e.to_string().contains("STORAGE_ACCOUNT"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required environment variable is not set.
    #[error("the setting {name} is missing: set it in the module's environment (wagi.toml `environment` table)")]
    MissingSetting {
        /// Name of the environment variable.
        name: &'static str,
    },
    /// The account key could not be decoded.
    #[error("{name} is not a valid base64 account key: copy the key again from the Azure portal (or use the emulator's documented key)")]
    InvalidKey {
        /// Name of the setting holding the key.
        name: &'static str,
    },
    /// The endpoint is not a usable URL.
    #[error("the storage endpoint {endpoint:?} is not usable ({reason}): use e.g. https://<account>.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A container or blob name is not acceptable.
    #[error("the {what} name {name:?} is not valid: {reason}")]
    InvalidName {
        /// "container" or "blob".
        what: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The SAS token could not be built or used.
    #[error("invalid SAS: {0}")]
    Sas(String),
    /// The service (or the transport) failed.
    #[error("storage request failed: {0}")]
    Azure(#[from] azure_core::Error),
    /// Reading the upload source or writing the download destination failed.
    #[error("I/O error while transferring blob data: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The HTTP status the service answered, if this error came from a response.
    ///
    /// ```
    /// let e = azure_wasi_storage::Error::Sas("x".into());
    /// assert_eq!(e.http_status(), None);
    /// ```
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Azure(e) => e.http_status().map(u16::from),
            _ => None,
        }
    }
}
