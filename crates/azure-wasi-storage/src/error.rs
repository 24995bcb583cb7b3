//! The crate's error type.

use azure_wasi_core::status_policy::{self, Failure, ServiceAnswer};

/// Everything that can go wrong in this crate. Messages say what to do next and never contain
/// keys, signatures or a URL's query string (SAS).
///
/// The variants have the same names in `azure-wasi-storage`, `azure-wasi-cosmos` and
/// `azure-wasi-eventgrid`, and [`Error::status`] follows the one policy of
/// [`azure_wasi_core::status_policy`].
///
/// ```
/// let e = azure_wasi_storage::Error::MissingSetting { name: "STORAGE_ACCOUNT" };
/// assert!(e.to_string().contains("STORAGE_ACCOUNT"));
/// assert_eq!(e.status(), 500);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required environment variable is not set.
    #[error("the setting {name} is missing: set it in the module's environment (wagi.toml `environment` table)")]
    MissingSetting {
        /// Name of the environment variable.
        name: &'static str,
    },
    /// A setting is present but unusable (e.g. a SAS token without a signature).
    #[error("the setting {name} is not valid: {reason}")]
    InvalidSetting {
        /// Name of the environment variable (or the input) that is wrong.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The account key could not be decoded.
    #[error("{name} is not a valid base64 account key: copy the key again from the Azure portal (or use the emulator's documented key)")]
    InvalidKey {
        /// Name of the setting holding the key.
        name: &'static str,
    },
    /// The endpoint is not a usable URL.
    #[error("{name} {endpoint:?} is not usable ({reason}): use e.g. https://<account>.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1")]
    InvalidEndpoint {
        /// Name of the setting holding the endpoint.
        name: &'static str,
        /// The endpoint as given, without its query string.
        endpoint: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A container or blob name from the request is not acceptable.
    #[error("the {what} name {name:?} is not valid: {reason}")]
    InvalidName {
        /// "container" or "blob".
        what: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An upload had no content (nothing was written).
    #[error(
        "the upload is empty: send the content as the request body (e.g. curl --data-binary @file)"
    )]
    EmptyUpload,
    /// Blob Storage answered with an error status.
    #[error("Blob Storage answered {status}{}: {message}{}", .code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), hint(*.status))]
    Service {
        /// HTTP status code.
        status: u16,
        /// The service's error code (`BlobNotFound`, `AuthenticationFailed`, ...).
        code: Option<String>,
        /// The service's message (redacted).
        message: String,
        /// `Retry-After` in seconds, when the service gave one.
        retry_after: Option<String>,
    },
    /// The request could not be sent or the answer not received.
    #[error("the request to Blob Storage failed: {}", status_policy::transport_message(.0))]
    Transport(azure_core::Error),
    /// Reading the upload source or writing the download destination failed.
    #[error("I/O error while transferring blob data: {}", status_policy::redact(&.0.to_string()))]
    Io(#[from] std::io::Error),
}

fn hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (check STORAGE_MASTER_KEY or STORAGE_SAS_TOKEN, and STORAGE_ACCOUNT)",
        404 => " (no such container or blob: check the names, or write it first)",
        409 => " (it exists already, or is being deleted)",
        412 => " (the blob changed since you read it: read it again)",
        _ => "",
    }
}

impl From<azure_core::Error> for Error {
    fn from(e: azure_core::Error) -> Self {
        match ServiceAnswer::from_error(&e) {
            Some(a) => Error::Service {
                status: a.status,
                code: a.code,
                message: a.message,
                retry_after: a.retry_after,
            },
            None => Error::Transport(e),
        }
    }
}

impl Error {
    /// The status a handler answers with for this error, by the one policy of
    /// [`azure_wasi_core::status_policy`].
    ///
    /// ```
    /// use azure_wasi_storage::Error;
    /// let busy = Error::Service { status: 503, code: None, message: "busy".into(), retry_after: Some("1".into()) };
    /// assert_eq!(busy.status(), 503);
    /// assert_eq!(Error::EmptyUpload.status(), 400);
    /// ```
    pub fn status(&self) -> http::StatusCode {
        status_policy::status(self.failure())
    }

    /// What went wrong, in the terms of the status policy.
    ///
    /// ```
    /// use azure_wasi_core::status_policy::Failure;
    /// let e = azure_wasi_storage::Error::InvalidKey { name: "STORAGE_MASTER_KEY" };
    /// assert_eq!(e.failure(), Failure::Setting);
    /// ```
    pub fn failure(&self) -> Failure {
        match self {
            Error::MissingSetting { .. }
            | Error::InvalidSetting { .. }
            | Error::InvalidKey { .. }
            | Error::InvalidEndpoint { .. } => Failure::Setting,
            Error::InvalidName { .. } | Error::EmptyUpload | Error::Io(_) => Failure::BadInput,
            Error::Service { status, .. } => Failure::Service(*status),
            Error::Transport(_) => Failure::Unreachable,
        }
    }

    /// The `Retry-After` (seconds) the service gave with a 429 or 503, if any.
    ///
    /// ```
    /// assert_eq!(azure_wasi_storage::Error::EmptyUpload.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<&str> {
        match self {
            Error::Service { retry_after, .. } => retry_after.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status the service answered, if this error came from a response.
    ///
    /// ```
    /// let e = azure_wasi_storage::Error::Service { status: 404, code: None, message: "gone".into(), retry_after: None };
    /// assert_eq!(e.http_status(), Some(404));
    /// ```
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Service { status, .. } => Some(*status),
            Error::Transport(e) => e.http_status().map(u16::from),
            _ => None,
        }
    }
}
