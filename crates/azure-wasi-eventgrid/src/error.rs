//! The crate's error type.

use azure_wasi_core::status_policy::{self, Failure, ServiceAnswer};

/// Everything that can go wrong. Messages say what to do next and never contain keys.
///
/// The variants have the same names in `azure-wasi-storage`, `azure-wasi-cosmos` and
/// `azure-wasi-eventgrid`, and [`Error::status`] follows the one policy of
/// [`azure_wasi_core::status_policy`].
///
/// ```
/// let e = azure_wasi_eventgrid::Error::MissingSetting { name: "EVENTGRID_KEY" };
/// assert!(e.to_string().contains("EVENTGRID_KEY"));
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
    /// The topic key is not valid base64 (needed to generate a SAS token).
    #[error(
        "{name} is not a valid base64 access key: copy it again from the topic's Access keys page"
    )]
    InvalidKey {
        /// Name of the setting holding the key.
        name: &'static str,
    },
    /// The topic endpoint is not usable.
    #[error("{name} {endpoint:?} is not usable ({reason}): use e.g. https://<topic>.<region>-1.eventgrid.azure.net/api/events")]
    InvalidEndpoint {
        /// Name of the setting holding the endpoint.
        name: &'static str,
        /// The endpoint as given, without its query string.
        endpoint: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The topic answered with an error status.
    #[error("EventGrid answered {status}{}: {message}{}", .code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), hint(*.status))]
    Service {
        /// HTTP status code.
        status: u16,
        /// The service's error code, when it gave one.
        code: Option<String>,
        /// The service's message (or the start of the body), redacted.
        message: String,
        /// `Retry-After` in seconds, when the service gave one.
        retry_after: Option<String>,
    },
    /// The request could not be sent or the answer not received.
    #[error("the request to EventGrid failed: {}", status_policy::transport_message(.0))]
    Transport(azure_core::Error),
    /// A delivery or event is not valid JSON of the expected shape.
    #[error("invalid event JSON: {0}: send EventGrid or CloudEvents JSON")]
    Json(#[from] serde_json::Error),
    /// A delivery is JSON but not an EventGrid or CloudEvents payload.
    #[error("not an EventGrid delivery: {0}")]
    InvalidDelivery(String),
}

fn hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (check EVENTGRID_KEY or the SAS token, and that it has not expired)",
        404 => " (check EVENTGRID_ENDPOINT: it ends with /api/events)",
        400 => " (the events do not match the topic's input schema: EventGrid or CloudEvents)",
        413 => " (the batch is too large: send at most 1 MB per request)",
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
    /// let e = azure_wasi_eventgrid::parse_delivery(b"{not json").unwrap_err();
    /// assert_eq!(e.status(), 400);
    /// ```
    pub fn status(&self) -> http::StatusCode {
        status_policy::status(self.failure())
    }

    /// What went wrong, in the terms of the status policy.
    ///
    /// ```
    /// use azure_wasi_core::status_policy::Failure;
    /// let e = azure_wasi_eventgrid::Error::InvalidKey { name: "EVENTGRID_KEY" };
    /// assert_eq!(e.failure(), Failure::Setting);
    /// ```
    pub fn failure(&self) -> Failure {
        match self {
            Error::MissingSetting { .. }
            | Error::InvalidKey { .. }
            | Error::InvalidEndpoint { .. } => Failure::Setting,
            Error::Json(_) | Error::InvalidDelivery(_) => Failure::BadInput,
            Error::Service { status, .. } => Failure::Service(*status),
            Error::Transport(_) => Failure::Unreachable,
        }
    }

    /// The `Retry-After` (seconds) the service gave with a 429 or 503, if any.
    ///
    /// ```
    /// let e = azure_wasi_eventgrid::Error::InvalidKey { name: "EVENTGRID_KEY" };
    /// assert_eq!(e.retry_after(), None);
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
    /// let e = azure_wasi_eventgrid::Error::InvalidKey { name: "EVENTGRID_KEY" };
    /// assert_eq!(e.http_status(), None);
    /// ```
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Service { status, .. } => Some(*status),
            Error::Transport(e) => e.http_status().map(u16::from),
            _ => None,
        }
    }
}
