//! Typed data of the system events handlers care about.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Data of `Microsoft.EventGrid.SubscriptionValidationEvent`.
///
/// ```
/// let d: azure_wasi_eventgrid::SubscriptionValidationEventData =
///     serde_json::from_str(r#"{"validationCode":"abc"}"#).unwrap();
/// assert_eq!(d.validation_code, "abc");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionValidationEventData {
    /// The code to echo back as `validationResponse`.
    pub validation_code: String,
    /// URL to GET instead, for manual validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_url: Option<String>,
}

/// Data of `Microsoft.Storage.BlobCreated`.
///
/// ```
/// let d: azure_wasi_eventgrid::StorageBlobCreatedEventData =
///     serde_json::from_str(r#"{"url":"https://a.blob.core.windows.net/c/b","contentType":"text/plain","contentLength":5}"#).unwrap();
/// assert_eq!(d.content_length, Some(5));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageBlobCreatedEventData {
    /// The operation, e.g. `PutBlob` or `PutBlockList`.
    #[serde(default)]
    pub api: Option<String>,
    /// Client request id.
    #[serde(default)]
    pub client_request_id: Option<String>,
    /// Service request id.
    #[serde(default)]
    pub request_id: Option<String>,
    /// ETag of the blob.
    #[serde(default, rename = "eTag")]
    pub etag: Option<String>,
    /// Content type of the blob.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub content_length: Option<u64>,
    /// `BlockBlob`, `PageBlob` or `AppendBlob`.
    #[serde(default)]
    pub blob_type: Option<String>,
    /// URL of the blob.
    #[serde(default)]
    pub url: Option<String>,
    /// Ordering key of events on the same blob.
    #[serde(default)]
    pub sequencer: Option<String>,
}

/// Data of `Microsoft.Storage.BlobDeleted`.
///
/// ```
/// let d: azure_wasi_eventgrid::StorageBlobDeletedEventData =
///     serde_json::from_str(r#"{"url":"https://a.blob.core.windows.net/c/b","api":"DeleteBlob"}"#).unwrap();
/// assert_eq!(d.api.as_deref(), Some("DeleteBlob"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageBlobDeletedEventData {
    /// The operation, e.g. `DeleteBlob`.
    #[serde(default)]
    pub api: Option<String>,
    /// Client request id.
    #[serde(default)]
    pub client_request_id: Option<String>,
    /// Service request id.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Content type of the deleted blob.
    #[serde(default)]
    pub content_type: Option<String>,
    /// `BlockBlob`, `PageBlob` or `AppendBlob`.
    #[serde(default)]
    pub blob_type: Option<String>,
    /// URL of the blob.
    #[serde(default)]
    pub url: Option<String>,
    /// Ordering key of events on the same blob.
    #[serde(default)]
    pub sequencer: Option<String>,
}

/// An event's data, typed when its type is known.
///
/// ```
/// use azure_wasi_eventgrid::SystemEvent;
/// let e = SystemEvent::from_parts("Contoso.Custom", &serde_json::json!({"a": 1}));
/// assert!(matches!(e, SystemEvent::Custom { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum SystemEvent {
    /// `Microsoft.EventGrid.SubscriptionValidationEvent`.
    SubscriptionValidation(SubscriptionValidationEventData),
    /// `Microsoft.Storage.BlobCreated`.
    BlobCreated(StorageBlobCreatedEventData),
    /// `Microsoft.Storage.BlobDeleted`.
    BlobDeleted(StorageBlobDeletedEventData),
    /// Any other type, or a known type whose data did not have the expected shape.
    Custom {
        /// The event type.
        event_type: String,
        /// The raw data.
        data: Value,
    },
}

impl SystemEvent {
    /// Types `data` according to `event_type`; never fails (unknown or malformed → `Custom`).
    ///
    /// ```
    /// use azure_wasi_eventgrid::SystemEvent;
    /// let e = SystemEvent::from_parts("Microsoft.Storage.BlobDeleted", &serde_json::json!({"url": "u"}));
    /// assert!(matches!(e, SystemEvent::BlobDeleted(_)));
    /// ```
    pub fn from_parts(event_type: &str, data: &Value) -> Self {
        let typed = match event_type {
            crate::SUBSCRIPTION_VALIDATION_EVENT => serde_json::from_value(data.clone())
                .ok()
                .map(SystemEvent::SubscriptionValidation),
            "Microsoft.Storage.BlobCreated" => serde_json::from_value(data.clone())
                .ok()
                .map(SystemEvent::BlobCreated),
            "Microsoft.Storage.BlobDeleted" => serde_json::from_value(data.clone())
                .ok()
                .map(SystemEvent::BlobDeleted),
            _ => None,
        };
        typed.unwrap_or_else(|| SystemEvent::Custom {
            event_type: event_type.to_string(),
            data: data.clone(),
        })
    }
}
