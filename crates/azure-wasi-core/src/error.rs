//! The crate's error type.

/// Errors from setting up the WASI integration. (Errors of individual HTTP calls are
/// `azure_core::Error`s whose source is a [`azure_wasi_outbound::Error`].)
///
/// ```
/// let e = azure_wasi_core::Error::RuntimeAlreadySet;
/// assert!(e.to_string().contains("init()"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `azure_core` already had a different async runtime.
    #[error("azure_core already has a different async runtime (something used azure_core before azure_wasi_core::init()): call azure_wasi_core::init() at the start of main")]
    RuntimeAlreadySet,
}
