//! The errors of `bench-native`.

use std::net::SocketAddr;

/// What can stop the server.
///
/// ```ignore
/// let e = Error::Address("nope".into());
/// assert!(e.to_string().contains("host:port"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The argument is not a socket address.
    #[error("{0:?} is not an address; pass one such as 127.0.0.1:3001 (host:port)")]
    Address(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}; pick a free port (or 0 for any)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Accepting connections failed for good.
    #[error("accepting connections failed: {0}; restart the server")]
    Accept(std::io::Error),
}
