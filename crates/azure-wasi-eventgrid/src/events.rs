//! Event models: EventGrid schema and CloudEvents 1.0.

use crate::Result;
use azure_core::time::OffsetDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An event in the EventGrid schema.
///
/// ```
/// let e = azure_wasi_eventgrid::EventGridEvent::new("/s", "Contoso.Test", serde_json::json!({"a": 1})).unwrap();
/// let json = serde_json::to_value(&e).unwrap();
/// assert_eq!(json["eventType"], "Contoso.Test");
/// assert_eq!(json["dataVersion"], "1.0");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventGridEvent {
    /// Unique id of the event.
    pub id: String,
    /// Topic (set by the service on delivery; leave `None` when publishing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Publisher-defined path of the event subject.
    pub subject: String,
    /// Event payload.
    #[serde(default)]
    pub data: Value,
    /// Event type, e.g. `Microsoft.Storage.BlobCreated`.
    pub event_type: String,
    /// When the event happened (RFC 3339).
    pub event_time: String,
    /// Schema version of `data`.
    #[serde(default)]
    pub data_version: String,
    /// Schema version of the event metadata (set by the service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_version: Option<String>,
}

impl EventGridEvent {
    /// A new event with a random id, the current time and data version `1.0`.
    ///
    /// ```
    /// let e = azure_wasi_eventgrid::EventGridEvent::new("/s", "T", "text").unwrap();
    /// assert_eq!(e.id.len(), 36);
    /// ```
    pub fn new(subject: &str, event_type: &str, data: impl Serialize) -> Result<Self> {
        Ok(Self {
            id: azure_core::Uuid::new_v4().to_string(),
            topic: None,
            subject: subject.to_string(),
            data: serde_json::to_value(data)?,
            event_type: event_type.to_string(),
            event_time: rfc3339_millis(OffsetDateTime::now_utc()),
            data_version: "1.0".to_string(),
            metadata_version: None,
        })
    }
}

/// A CloudEvents 1.0 event (JSON format).
///
/// ```
/// let e = azure_wasi_eventgrid::CloudEvent::new("/contoso/uploads", "Contoso.Uploaded", serde_json::json!({"a": 1})).unwrap();
/// let json = serde_json::to_value(&e).unwrap();
/// assert_eq!(json["specversion"], "1.0");
/// assert_eq!(json["type"], "Contoso.Uploaded");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    /// Unique id within the source.
    pub id: String,
    /// Context in which the event happened (URI reference).
    pub source: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// CloudEvents version, `1.0`.
    pub specversion: String,
    /// When the event happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Subject within the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Media type of `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// JSON payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Binary payload, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
    /// Extension attributes.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl CloudEvent {
    /// A new event with a random id, the current time and JSON data.
    ///
    /// ```
    /// let e = azure_wasi_eventgrid::CloudEvent::new("/src", "T", 5).unwrap();
    /// assert_eq!(e.datacontenttype.as_deref(), Some("application/json"));
    /// ```
    pub fn new(source: &str, event_type: &str, data: impl Serialize) -> Result<Self> {
        Ok(Self {
            id: azure_core::Uuid::new_v4().to_string(),
            source: source.to_string(),
            event_type: event_type.to_string(),
            specversion: "1.0".to_string(),
            time: Some(rfc3339_millis(OffsetDateTime::now_utc())),
            subject: None,
            datacontenttype: Some("application/json".to_string()),
            data: Some(serde_json::to_value(data)?),
            data_base64: None,
            extensions: Map::new(),
        })
    }
}

/// `2024-01-02T03:04:05.000Z`.
pub(crate) fn rfc3339_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_body_shape() {
        let v: Value =
            serde_json::from_str(include_str!("../../../testdata/vectors/eventgrid.json")).unwrap();
        let expected = &v["publish_request"]["body"][0];
        let event = EventGridEvent {
            id: "00000000-0000-0000-0000-000000000001".into(),
            topic: None,
            subject: "/test/subject".into(),
            data: serde_json::json!({"hello": "world"}),
            event_type: "Contoso.Test".into(),
            event_time: rfc3339_millis(OffsetDateTime::from_unix_timestamp(1_704_164_645).unwrap()),
            data_version: "1.0".into(),
            metadata_version: None,
        };
        assert_eq!(&serde_json::to_value(&event).unwrap(), expected);
    }

    #[test]
    fn cloud_event_extensions_round_trip() {
        let text = r#"{"id":"1","source":"/s","type":"T","specversion":"1.0","myext":"x"}"#;
        let e: CloudEvent = serde_json::from_str(text).unwrap();
        assert_eq!(e.extensions["myext"], "x");
        assert_eq!(serde_json::to_value(&e).unwrap()["myext"], "x");
    }
}
