//! The harness's error type.

use std::path::PathBuf;

/// Everything that can stop the harness from starting or serving.
///
/// Messages name the file, the entry and the fix, because most of these come from a config file
/// that a person wrote.
///
/// ```
/// let err = harness::Error::Config {
///     file: "wagi.toml".into(),
///     message: "module 2: `route` must start with '/'".into(),
/// };
/// assert!(err.to_string().contains("wagi.toml"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file has a mistake.
    #[error("{}: {message}", file.display())]
    Config {
        /// The config file.
        file: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}; check that the path is right and readable", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A module failed to compile or link.
    #[error("module {} for route {route}: {message}", path.display())]
    Module {
        /// The route the module serves.
        route: String,
        /// The `.wasm` file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The token broker (`[identity]`) could not be set up.
    #[error("cannot set up the token broker: {0}")]
    Identity(String),
    /// wasmtime could not be set up.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
    /// The server could not bind or run.
    #[error("cannot listen on {addr}: {source}; pick another address or free the port")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
