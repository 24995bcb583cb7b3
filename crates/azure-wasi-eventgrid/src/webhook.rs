//! Handling deliveries in a webhook handler.

use crate::{CloudEvent, Error, EventGridEvent, Result, SystemEvent};
use serde_json::Value;

/// Event type of the subscription validation handshake.
///
/// ```
/// assert!(azure_wasi_eventgrid::SUBSCRIPTION_VALIDATION_EVENT.ends_with("SubscriptionValidationEvent"));
/// ```
pub const SUBSCRIPTION_VALIDATION_EVENT: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";

/// The events of one delivery, in whichever schema the subscription uses.
///
/// ```
/// let d = azure_wasi_eventgrid::parse_delivery(br#"{"id":"1","source":"/s","type":"T","specversion":"1.0"}"#).unwrap();
/// assert!(matches!(d, azure_wasi_eventgrid::Delivery::CloudEvents(_)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// EventGrid schema (always a JSON array).
    EventGrid(Vec<EventGridEvent>),
    /// CloudEvents 1.0 (a batch array or a single structured event).
    CloudEvents(Vec<CloudEvent>),
}

/// One received event, schema-independent.
///
/// ```
/// let d = azure_wasi_eventgrid::parse_delivery(br#"[{"id":"1","subject":"s","eventType":"T","eventTime":"t","data":{}}]"#).unwrap();
/// let e = &d.events()[0];
/// assert_eq!(e.event_type, "T");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// Event id.
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// Subject (empty if the event has none).
    pub subject: String,
    /// Topic (EventGrid) or source (CloudEvents).
    pub source: Option<String>,
    /// Event time, as sent.
    pub time: Option<String>,
    /// The data (JSON `null` if none).
    pub data: Value,
}

impl ReceivedEvent {
    /// The typed data; unknown types come back as [`SystemEvent::Custom`].
    ///
    /// ```
    /// # let d = azure_wasi_eventgrid::parse_delivery(br#"[{"id":"1","subject":"s","eventType":"T","eventTime":"t","data":{}}]"#).unwrap();
    /// let typed = d.events()[0].system_event();
    /// assert!(matches!(typed, azure_wasi_eventgrid::SystemEvent::Custom { .. }));
    /// ```
    pub fn system_event(&self) -> SystemEvent {
        SystemEvent::from_parts(&self.event_type, &self.data)
    }

    /// Container and blob name of a Storage event, from its subject
    /// (`/blobServices/default/containers/<c>/blobs/<name>`).
    ///
    /// ```
    /// # let d = azure_wasi_eventgrid::parse_delivery(br#"[{"id":"1","subject":"/blobServices/default/containers/c/blobs/a/b.txt","eventType":"T","eventTime":"t"}]"#).unwrap();
    /// assert_eq!(d.events()[0].blob_location(), Some(("c".into(), "a/b.txt".into())));
    /// ```
    pub fn blob_location(&self) -> Option<(String, String)> {
        let rest = self
            .subject
            .strip_prefix("/blobServices/default/containers/")?;
        let (container, blob) = rest.split_once("/blobs/")?;
        if container.is_empty() || blob.is_empty() {
            return None;
        }
        Some((container.to_string(), blob.to_string()))
    }
}

impl Delivery {
    /// The events, schema-independent.
    ///
    /// ```
    /// # let d = azure_wasi_eventgrid::parse_delivery(b"[]").unwrap();
    /// assert!(d.events().is_empty());
    /// ```
    pub fn events(&self) -> Vec<ReceivedEvent> {
        match self {
            Delivery::EventGrid(events) => events
                .iter()
                .map(|e| ReceivedEvent {
                    id: e.id.clone(),
                    event_type: e.event_type.clone(),
                    subject: e.subject.clone(),
                    source: e.topic.clone(),
                    time: Some(e.event_time.clone()),
                    data: e.data.clone(),
                })
                .collect(),
            Delivery::CloudEvents(events) => events
                .iter()
                .map(|e| ReceivedEvent {
                    id: e.id.clone(),
                    event_type: e.event_type.clone(),
                    subject: e.subject.clone().unwrap_or_default(),
                    source: Some(e.source.clone()),
                    time: e.time.clone(),
                    data: e.data.clone().unwrap_or(Value::Null),
                })
                .collect(),
        }
    }

    /// If this delivery is the subscription validation handshake, the JSON body to answer
    /// with (status 200): `{"validationResponse": "<code>"}`.
    ///
    /// ```
    /// let body = br#"[{"id":"1","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",
    ///   "eventTime":"t","data":{"validationCode":"512d38b6"}}]"#;
    /// let d = azure_wasi_eventgrid::parse_delivery(body).unwrap();
    /// assert_eq!(d.validation_response().unwrap(), serde_json::json!({"validationResponse": "512d38b6"}));
    /// ```
    pub fn validation_response(&self) -> Option<Value> {
        self.events().iter().find_map(|e| match e.system_event() {
            SystemEvent::SubscriptionValidation(data) => {
                Some(serde_json::json!({ "validationResponse": data.validation_code }))
            }
            _ => None,
        })
    }
}

/// Parses a delivery body: an EventGrid array, a CloudEvents batch, or one CloudEvent.
///
/// ```
/// assert!(azure_wasi_eventgrid::parse_delivery(b"not json").is_err());
/// ```
pub fn parse_delivery(body: &[u8]) -> Result<Delivery> {
    if body.trim_ascii().is_empty() {
        return Err(Error::InvalidDelivery(
            "the body is empty: EventGrid sends a JSON array of events".into(),
        ));
    }
    let value: Value = serde_json::from_slice(body)?;
    let is_cloud = |v: &Value| v.get("specversion").is_some();
    match value {
        Value::Array(items) if items.is_empty() => Ok(Delivery::EventGrid(Vec::new())),
        Value::Array(items) if items.iter().all(is_cloud) => Ok(Delivery::CloudEvents(
            items
                .into_iter()
                .map(serde_json::from_value)
                .collect::<std::result::Result<_, _>>()?,
        )),
        Value::Array(items) => Ok(Delivery::EventGrid(
            items
                .into_iter()
                .map(serde_json::from_value)
                .collect::<std::result::Result<_, _>>()?,
        )),
        obj @ Value::Object(_) if is_cloud(&obj) => {
            Ok(Delivery::CloudEvents(vec![serde_json::from_value(obj)?]))
        }
        _ => Err(Error::InvalidDelivery(
            "expected a JSON array of events or a CloudEvent object".into(),
        )),
    }
}

/// The CloudEvents webhook validation handshake (an `OPTIONS` request with
/// `WebHook-Request-Origin`): the headers to answer 200 with, or `None` if the request carries
/// no origin.
///
/// ```
/// let headers = azure_wasi_eventgrid::options_handshake(Some("eventgrid.azure.net")).unwrap();
/// assert!(headers.contains(&("WebHook-Allowed-Origin", "eventgrid.azure.net".to_string())));
/// ```
pub fn options_handshake(request_origin: Option<&str>) -> Option<Vec<(&'static str, String)>> {
    let origin = request_origin.map(str::trim).filter(|o| !o.is_empty())?;
    Some(vec![
        ("WebHook-Allowed-Origin", origin.to_string()),
        ("WebHook-Allowed-Rate", "*".to_string()),
        ("Allow", "POST, OPTIONS".to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_created_and_deleted_are_typed() {
        let body = br#"[
          {"id":"1","topic":"/subscriptions/x/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a",
           "subject":"/blobServices/default/containers/up/blobs/f.txt","eventType":"Microsoft.Storage.BlobCreated",
           "eventTime":"2024-01-01T00:00:00Z","dataVersion":"","metadataVersion":"1",
           "data":{"api":"PutBlob","eTag":"0x1","contentType":"text/plain","contentLength":11,"blobType":"BlockBlob",
                   "url":"http://127.0.0.1:10000/devstoreaccount1/up/f.txt","sequencer":"0001"}},
          {"id":"2","subject":"/blobServices/default/containers/up/blobs/f.txt","eventType":"Microsoft.Storage.BlobDeleted",
           "eventTime":"2024-01-01T00:00:01Z","data":{"api":"DeleteBlob","url":"u"}},
          {"id":"3","subject":"x","eventType":"Microsoft.Storage.BlobCreated","eventTime":"t","data":"not an object"},
          {"id":"4","subject":"x","eventType":"Contoso.Thing","eventTime":"t","data":[1,2]}
        ]"#;
        let d = parse_delivery(body).unwrap();
        let events = d.events();
        assert_eq!(events.len(), 4);
        match events[0].system_event() {
            SystemEvent::BlobCreated(data) => {
                assert_eq!(data.etag.as_deref(), Some("0x1"));
                assert_eq!(data.content_length, Some(11));
                assert_eq!(data.api.as_deref(), Some("PutBlob"));
            }
            other => panic!("expected BlobCreated, got {other:?}"),
        }
        assert_eq!(
            events[0].blob_location(),
            Some(("up".into(), "f.txt".into()))
        );
        assert!(matches!(
            events[1].system_event(),
            SystemEvent::BlobDeleted(_)
        ));
        // Malformed data of a known type falls back instead of failing.
        assert!(matches!(
            events[2].system_event(),
            SystemEvent::Custom { .. }
        ));
        match events[3].system_event() {
            SystemEvent::Custom { event_type, data } => {
                assert_eq!(event_type, "Contoso.Thing");
                assert_eq!(data, serde_json::json!([1, 2]));
            }
            other => panic!("expected Custom, got {other:?}"),
        }
        assert!(d.validation_response().is_none());
    }

    #[test]
    fn cloud_events_batch_and_single() {
        let batch = br#"[{"id":"1","source":"/s","type":"Microsoft.Storage.BlobCreated","specversion":"1.0",
            "subject":"/blobServices/default/containers/c/blobs/b","data":{"contentLength":2}}]"#;
        let d = parse_delivery(batch).unwrap();
        let e = &d.events()[0];
        assert_eq!(e.blob_location(), Some(("c".into(), "b".into())));
        assert!(matches!(e.system_event(), SystemEvent::BlobCreated(_)));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_delivery(b"42").is_err());
        assert!(parse_delivery(b"[{\"nope\":1}]").is_err());
        assert!(parse_delivery(b"").is_err());
    }

    #[test]
    fn options_handshake_needs_an_origin() {
        assert!(options_handshake(None).is_none());
        assert!(options_handshake(Some("  ")).is_none());
    }
}
