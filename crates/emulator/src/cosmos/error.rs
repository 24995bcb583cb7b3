//! The Cosmos DB emulator's error type.

use std::path::PathBuf;

/// Everything that can go wrong while starting or running the emulator itself
/// (as opposed to a client's request, which gets a Cosmos error response).
///
/// ```
/// let err = emulator::cosmos::Error::InvalidMasterKey;
/// assert!(err.to_string().contains("base64"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another port (0 chooses a free one)")]
    Bind {
        /// Address that was requested.
        addr: std::net::SocketAddr,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The configured master key is not valid base64.
    #[error("the Cosmos master key is not valid base64; use the documented emulator key or a key copied from the Azure portal")]
    InvalidMasterKey,
    /// The data directory could not be created or opened.
    #[error("cannot use data directory {path}: {reason}; check that it exists and is writable")]
    DataDir {
        /// Directory from the configuration.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The embedded database (redb) reported an error.
    #[error(
        "Cosmos emulator storage error: {0}; if the data file is corrupt, move it away and restart"
    )]
    Storage(String),
    /// A setting is out of range.
    #[error("invalid Cosmos DB emulator settings: {0}")]
    Config(String),
    /// A stored record could not be decoded.
    #[error("Cosmos emulator storage holds an unreadable record ({0}); move the data directory away and restart")]
    Corrupt(String),
}

impl From<crate::Error> for Error {
    /// Errors of the shared parts (store, accept loop) in this emulator's terms.
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Bind { addr, source, .. } => Error::Bind { addr, source },
            crate::Error::DataDir { path, reason } => Error::DataDir { path, reason },
            crate::Error::Config(m) => Error::Config(m),
            other => Error::Storage(other.to_string()),
        }
    }
}
