//! One-line setup of `azure_core` clients with the WASI transport.

use crate::WasiHttpClient;
use azure_core::http::{ClientOptions, Transport};
use std::sync::Arc;

/// A [`Transport`] over [`WasiHttpClient`]. Installs the WASI runtime too.
///
/// ```
/// let options = azure_core::http::ClientOptions {
///     transport: Some(azure_wasi_core::transport()),
///     ..Default::default()
/// };
/// ```
pub fn transport() -> Transport {
    Transport::new(Arc::new(WasiHttpClient::new()))
}

/// `azure_core` [`ClientOptions`] with the WASI transport set and the default retry policy
/// (exponential, honouring `Retry-After`). Pass it (or embed it as `client_options` in a
/// service client's options) to point any Azure client at the host.
///
/// ```
/// let options = azure_wasi_core::client_options();
/// assert!(options.transport.is_some());
/// ```
pub fn client_options() -> ClientOptions {
    ClientOptions {
        transport: Some(transport()),
        ..Default::default()
    }
}
