//! The crate's error type.

/// Everything that can go wrong. Messages say what to do next and never contain keys.
///
/// ```
/// let e = azure_wasi_eventgrid::Error::MissingSetting { name: "EVENTGRID_KEY" };
/// assert!(e.to_string().contains("EVENTGRID_KEY"));
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
    #[error("the EventGrid access key is not valid base64: copy it again from the topic's Access keys page")]
    InvalidKey,
    /// The topic endpoint is not usable.
    #[error("the EventGrid endpoint {endpoint:?} is not usable ({reason}): use e.g. https://<topic>.<region>-1.eventgrid.azure.net/api/events")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The topic answered with an error status.
    #[error("EventGrid answered {status}: {message}{}", hint(*.status))]
    Service {
        /// HTTP status code.
        status: u16,
        /// The service's message (or the start of the body).
        message: String,
    },
    /// The request could not be sent or the answer not received.
    #[error("the request to EventGrid failed: {0}")]
    Transport(#[from] azure_core::Error),
    /// A delivery or event is not valid JSON of the expected shape.
    #[error("invalid event JSON: {0}")]
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
