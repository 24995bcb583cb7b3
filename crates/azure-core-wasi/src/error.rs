//! The crate's error type.

/// Errors from setting up the WASI integration. (Errors of individual HTTP calls are
/// `azure_core::Error`s whose source is a [`wasi_experimental_http::Error`].)
///
/// ```
/// let e = azure_core_wasi::Error::RuntimeAlreadySet;
/// assert!(e.to_string().contains("init()"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `azure_core` already had a different async runtime.
    #[error("azure_core already has a different async runtime (something used azure_core before azure_core_wasi::init()): call azure_core_wasi::init() at the start of main")]
    RuntimeAlreadySet,
}
