//! The crate's one error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong while configuring, starting or running the emulators.
///
/// ```
/// let err = emulator::Error::Config("topic `x` is not defined".into());
/// assert!(err.to_string().contains("topic `x`"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `[emulators]` configuration is inconsistent.
    #[error("invalid emulator configuration: {0}; fix the [emulators] table and start again")]
    Config(String),
    /// A listener could not be bound.
    #[error("cannot bind the {service} emulator to {addr}: {source}; choose another port (0 picks a free one) or stop the process that uses it")]
    Bind {
        /// Which emulator.
        service: &'static str,
        /// The address that was asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The data directory could not be created or opened.
    #[error("cannot use data directory {path}: {reason}; check that it is writable and that no other emulator process holds it")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The persistent store failed.
    #[error("emulator store failed: {0}; the data directory may be full, read-only or damaged")]
    Store(String),
    /// The Cosmos DB emulator failed to start.
    #[error("the Cosmos DB emulator failed to start: {0}")]
    Cosmos(String),
}

/// Result alias for this crate.
///
/// ```
/// fn f() -> emulator::Result<u8> { Ok(1) }
/// assert_eq!(f().ok(), Some(1));
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
