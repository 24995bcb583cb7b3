//! Azure EventGrid from a handler in either world (a WAGI module on `wasm32-wasip1`, a wasi:http
//! component on `wasm32-wasip2`): publish events (EventGrid schema or CloudEvents 1.0,
//! with an access key or a SAS token), and handle webhook deliveries (subscription validation,
//! the CloudEvents `OPTIONS` handshake, typed Storage system events).
//!
//! Publishing:
//!
//! ```no_run
//! # async fn run() -> Result<(), azure_wasi_eventgrid::Error> {
//! use azure_wasi_eventgrid::{EventGrid, EventGridEvent};
//! // EVENTGRID_ENDPOINT and EVENTGRID_KEY (or EVENTGRID_SAS_TOKEN)
//! let eventgrid = EventGrid::from_env()?;
//! let event = EventGridEvent::new("/uploads/cat.jpg", "Contoso.Uploaded", serde_json::json!({"size": 3}))?;
//! eventgrid.send_event(&event, None).await?;
//! # Ok(()) }
//! ```
//!
//! Receiving:
//!
//! ```
//! use azure_wasi_eventgrid::{parse_delivery, SystemEvent};
//! let body = br#"[{"id":"1","topic":"t","subject":"/blobServices/default/containers/c/blobs/b.txt",
//!   "eventType":"Microsoft.Storage.BlobCreated","eventTime":"2024-01-01T00:00:00Z",
//!   "data":{"url":"http://h/devstoreaccount1/c/b.txt","contentLength":3},"dataVersion":"1"}]"#;
//! let delivery = parse_delivery(body).unwrap();
//! assert!(delivery.validation_response().is_none());
//! for event in delivery.events() {
//!     if let SystemEvent::BlobCreated(data) = event.system_event() {
//!         assert_eq!(event.blob_location(), Some(("c".to_string(), "b.txt".to_string())));
//!         assert_eq!(data.content_length, Some(3));
//!     }
//! }
//! ```

mod error;
mod events;
mod publisher;
mod sas;
mod system_events;
mod webhook;

pub use error::Error;
pub use events::{CloudEvent, EventGridEvent};
pub use publisher::{
    EventGrid, EventGridCredential, EventGridSettings, SendOptions, EVENTGRID_API_VERSION,
    EVENTGRID_SCOPE,
};
pub use sas::{format_expiry, generate_sas, generate_sas_with_expiry_text};
pub use system_events::{
    StorageBlobCreatedEventData, StorageBlobDeletedEventData, SubscriptionValidationEventData,
    SystemEvent,
};
pub use webhook::{
    options_handshake, parse_delivery, Delivery, ReceivedEvent, SUBSCRIPTION_VALIDATION_EVENT,
};

/// Result type of this crate.
///
/// ```
/// fn f() -> azure_wasi_eventgrid::Result<()> { Ok(()) }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
