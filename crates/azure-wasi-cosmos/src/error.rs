//! The crate's error type.

use azure_wasi_core::status_policy::{self, Failure, ServiceAnswer};

/// Everything that can go wrong. Messages say what to do next and never contain the key.
///
/// The variants have the same names in `azure-wasi-storage`, `azure-wasi-cosmos` and
/// `azure-wasi-eventgrid`, and [`Error::status`] follows the one policy of
/// [`azure_wasi_core::status_policy`].
///
/// ```
/// let e = azure_wasi_cosmos::Error::MissingSetting { name: "COSMOS_MASTER_KEY" };
/// assert!(e.to_string().contains("COSMOS_MASTER_KEY"));
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
    /// The master key is not valid base64.
    #[error("{name} is not a valid base64 key: copy the primary key again from the Azure portal (or use the emulator's documented key)")]
    InvalidKey {
        /// Name of the setting holding the key.
        name: &'static str,
    },
    /// The endpoint is not a usable URL.
    #[error("{name} {endpoint:?} is not usable ({reason}): use e.g. https://<account>.documents.azure.com:443/ or http://127.0.0.1:8081")]
    InvalidEndpoint {
        /// Name of the setting holding the endpoint.
        name: &'static str,
        /// The endpoint as given, without its query string.
        endpoint: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A database, container or item id is not acceptable.
    #[error("the {what} id {name:?} is not valid: {reason}")]
    InvalidName {
        /// "database", "container" or "item".
        what: &'static str,
        /// The id as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Cosmos DB answered with an error status.
    #[error("Cosmos DB answered {status}{}{}: {message}{}", .code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), .sub_status.map(|s| format!(" (sub-status {s})")).unwrap_or_default(), hint(*.status))]
    Service {
        /// HTTP status code.
        status: u16,
        /// Cosmos's error code (`NotFound`, `Conflict`, ...).
        code: Option<String>,
        /// Cosmos's message (redacted).
        message: String,
        /// `Retry-After` in seconds (from `x-ms-retry-after-ms`), when Cosmos gave one.
        retry_after: Option<String>,
        /// `x-ms-substatus`, when present.
        sub_status: Option<u32>,
        /// `x-ms-activity-id`, for support requests.
        activity_id: Option<String>,
    },
    /// The request could not be sent or the answer not received.
    #[error("the request to Cosmos DB failed: {}", status_policy::transport_message(.0))]
    Transport(azure_core::Error),
    /// A document or answer could not be (de)serialised.
    #[error("JSON error: {0}; check that the item type matches the stored documents")]
    Json(#[from] serde_json::Error),
}

fn hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (check COSMOS_MASTER_KEY and the endpoint)",
        404 => " (create the database/container first, or check the id and partition key)",
        409 => " (an item with this id already exists in this partition: use upsert or replace)",
        412 => " (the item changed since you read it: read it again and retry with the new ETag)",
        413 => " (the document is too large: keep items under 2 MB)",
        429 => " (throttled: retry later or raise the provisioned throughput)",
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
                sub_status: None,
                activity_id: None,
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
    /// let e = azure_wasi_cosmos::Error::InvalidKey { name: "COSMOS_MASTER_KEY" };
    /// assert_eq!(e.status(), 500);
    /// ```
    pub fn status(&self) -> http::StatusCode {
        status_policy::status(self.failure())
    }

    /// What went wrong, in the terms of the status policy.
    ///
    /// ```
    /// use azure_wasi_core::status_policy::Failure;
    /// let e = azure_wasi_cosmos::Error::MissingSetting { name: "COSMOS_ENDPOINT" };
    /// assert_eq!(e.failure(), Failure::Setting);
    /// ```
    pub fn failure(&self) -> Failure {
        match self {
            Error::MissingSetting { .. }
            | Error::InvalidKey { .. }
            | Error::InvalidEndpoint { .. } => Failure::Setting,
            Error::InvalidName { .. } | Error::Json(_) => Failure::BadInput,
            Error::Service { status, .. } => Failure::Service(*status),
            Error::Transport(_) => Failure::Unreachable,
        }
    }

    /// The `Retry-After` (seconds) Cosmos gave with a 429 or 503, if any.
    ///
    /// ```
    /// let e = azure_wasi_cosmos::Error::InvalidKey { name: "COSMOS_MASTER_KEY" };
    /// assert_eq!(e.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<&str> {
        match self {
            Error::Service { retry_after, .. } => retry_after.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status Cosmos answered, if this error came from a response.
    ///
    /// ```
    /// let e = azure_wasi_cosmos::Error::InvalidKey { name: "COSMOS_MASTER_KEY" };
    /// assert_eq!(e.http_status(), None);
    /// ```
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Service { status, .. } => Some(*status),
            Error::Transport(e) => e.http_status().map(u16::from),
            _ => None,
        }
    }

    /// True for 404 Not Found.
    ///
    /// ```
    /// assert!(!azure_wasi_cosmos::Error::InvalidKey { name: "COSMOS_MASTER_KEY" }.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.http_status() == Some(404)
    }

    /// True for 409 Conflict (the resource already exists).
    ///
    /// ```
    /// assert!(!azure_wasi_cosmos::Error::InvalidKey { name: "COSMOS_MASTER_KEY" }.is_conflict());
    /// ```
    pub fn is_conflict(&self) -> bool {
        self.http_status() == Some(409)
    }

    /// True for 412 Precondition Failed (ETag mismatch).
    ///
    /// ```
    /// assert!(!azure_wasi_cosmos::Error::InvalidKey { name: "COSMOS_MASTER_KEY" }.is_precondition_failed());
    /// ```
    pub fn is_precondition_failed(&self) -> bool {
        self.http_status() == Some(412)
    }
}
