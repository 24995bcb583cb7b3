//! The crate's error type.

/// Everything that can go wrong. Messages say what to do next and never contain the key.
///
/// ```
/// let e = azure_wasi_cosmos::Error::MissingSetting { name: "COSMOS_MASTER_KEY" };
/// assert!(e.to_string().contains("COSMOS_MASTER_KEY"));
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
    #[error("COSMOS_MASTER_KEY is not a valid base64 key: copy the primary key again from the Azure portal (or use the emulator's documented key)")]
    InvalidKey,
    /// The endpoint is not a usable URL.
    #[error("the Cosmos endpoint {endpoint:?} is not usable ({reason}): use e.g. https://<account>.documents.azure.com:443/ or http://127.0.0.1:8081")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A database, container or item id is not acceptable.
    #[error("the {what} id {id:?} is not valid: {reason}")]
    InvalidId {
        /// "database", "container" or "item".
        what: &'static str,
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Cosmos DB answered with an error status.
    #[error("Cosmos DB answered {status}{}{}: {message}{}", .code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), .sub_status.map(|s| format!(" (sub-status {s})")).unwrap_or_default(), hint(*.status))]
    Service {
        /// HTTP status code.
        status: u16,
        /// `x-ms-substatus`, when present.
        sub_status: Option<u32>,
        /// Cosmos's error code (`NotFound`, `Conflict`, ...).
        code: Option<String>,
        /// Cosmos's message.
        message: String,
        /// `x-ms-activity-id`, for support requests.
        activity_id: Option<String>,
    },
    /// The request could not be sent or the answer not received.
    #[error("the request to Cosmos DB failed: {0}")]
    Transport(#[from] azure_core::Error),
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

impl Error {
    /// The HTTP status of a service error.
    ///
    /// ```
    /// let e = azure_wasi_cosmos::Error::InvalidKey;
    /// assert_eq!(e.status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Service { status, .. } => Some(*status),
            Error::Transport(e) => e.http_status().map(u16::from),
            _ => None,
        }
    }

    /// True for 404 Not Found.
    ///
    /// ```
    /// assert!(!azure_wasi_cosmos::Error::InvalidKey.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for 409 Conflict (the resource already exists).
    ///
    /// ```
    /// assert!(!azure_wasi_cosmos::Error::InvalidKey.is_conflict());
    /// ```
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// True for 412 Precondition Failed (ETag mismatch).
    ///
    /// ```
    /// assert!(!azure_wasi_cosmos::Error::InvalidKey.is_precondition_failed());
    /// ```
    pub fn is_precondition_failed(&self) -> bool {
        self.status() == Some(412)
    }
}
