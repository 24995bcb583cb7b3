//! Validation of published batches (EventGrid schema and CloudEvents 1.0) and conversion to the
//! schema a subscription wants.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::DeliverySchema;

/// The schema a batch was published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum InputSchema {
    EventGrid,
    CloudEvents,
}

/// One accepted event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Event {
    pub schema: InputSchema,
    pub value: Value,
    pub event_type: String,
    pub subject: String,
}

/// The schema and shape (`true` = batch array) implied by a Content-Type.
pub(crate) fn schema_of(content_type: Option<&str>) -> Result<(InputSchema, bool), String> {
    let ct = content_type
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/cloudevents-batch+json" => Ok((InputSchema::CloudEvents, true)),
        "application/cloudevents+json" => Ok((InputSchema::CloudEvents, false)),
        "application/json" | "text/json" | "" => Ok((InputSchema::EventGrid, true)),
        other => Err(format!(
            "Content-Type `{other}` is not supported; use application/json (EventGrid schema), application/cloudevents-batch+json or application/cloudevents+json"
        )),
    }
}

fn rfc3339(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn required_str<'a>(
    o: &'a Map<String, Value>,
    i: usize,
    name: &str,
    non_empty: bool,
) -> Result<&'a str, String> {
    match o.get(name) {
        None | Some(Value::Null) => {
            Err(format!("event[{i}]: required property '{name}' is missing"))
        }
        Some(Value::String(s)) if non_empty && s.is_empty() => {
            Err(format!("event[{i}]: required property '{name}' is empty"))
        }
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("event[{i}]: property '{name}' must be a string")),
    }
}

/// Parse and validate a request body.
pub(crate) fn parse_batch(
    body: &[u8],
    schema: InputSchema,
    batch: bool,
    topic_id: &str,
) -> Result<Vec<Event>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let items = match (v, batch) {
        (Value::Array(a), true) => a,
        (o @ Value::Object(_), false) => vec![o],
        (_, true) => return Err("the body must be a JSON array of events".into()),
        (_, false) => {
            return Err("the body must be one JSON object (application/cloudevents+json)".into())
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(o) => match schema {
                InputSchema::EventGrid => eventgrid_event(i, o, topic_id),
                InputSchema::CloudEvents => cloud_event(i, o),
            },
            _ => Err(format!("event[{i}] must be a JSON object")),
        })
        .collect()
}

fn eventgrid_event(i: usize, mut o: Map<String, Value>, topic_id: &str) -> Result<Event, String> {
    required_str(&o, i, "id", true)?;
    let subject = required_str(&o, i, "subject", true)?.to_string();
    let event_type = required_str(&o, i, "eventType", true)?.to_string();
    let time = required_str(&o, i, "eventTime", true)?;
    if !rfc3339(time) {
        return Err(format!(
            "event[{i}]: 'eventTime' `{time}` is not an RFC 3339 date-time"
        ));
    }
    required_str(&o, i, "dataVersion", false)?;
    match o.get("metadataVersion") {
        None | Some(Value::Null) => {
            o.insert("metadataVersion".into(), json!("1"));
        }
        Some(Value::String(s)) if s == "1" => {}
        Some(_) => {
            return Err(format!(
                "event[{i}]: 'metadataVersion' must be \"1\" when given"
            ))
        }
    }
    match o.get("topic") {
        None | Some(Value::Null) => {
            o.insert("topic".into(), json!(topic_id));
        }
        Some(Value::String(_)) => {}
        Some(_) => return Err(format!("event[{i}]: property 'topic' must be a string")),
    }
    Ok(Event {
        schema: InputSchema::EventGrid,
        value: Value::Object(o),
        event_type,
        subject,
    })
}

fn cloud_event(i: usize, o: Map<String, Value>) -> Result<Event, String> {
    let spec = required_str(&o, i, "specversion", true)?;
    if spec != "1.0" {
        return Err(format!(
            "event[{i}]: 'specversion' must be \"1.0\", not `{spec}`"
        ));
    }
    required_str(&o, i, "id", true)?;
    required_str(&o, i, "source", true)?;
    let event_type = required_str(&o, i, "type", true)?.to_string();
    if let Some(t) = o.get("time") {
        match t {
            Value::String(s) if rfc3339(s) => {}
            Value::Null => {}
            _ => return Err(format!("event[{i}]: 'time' must be an RFC 3339 date-time")),
        }
    }
    if o.contains_key("data") && o.contains_key("data_base64") {
        return Err(format!(
            "event[{i}]: give either 'data' or 'data_base64', not both"
        ));
    }
    let subject = match o.get("subject") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err(format!("event[{i}]: property 'subject' must be a string")),
    };
    Ok(Event {
        schema: InputSchema::CloudEvents,
        value: Value::Object(o),
        event_type,
        subject,
    })
}

/// The event in the subscription's schema.
pub(crate) fn render(ev: &Event, target: DeliverySchema, topic_id: &str) -> Value {
    match (ev.schema, target) {
        (InputSchema::EventGrid, DeliverySchema::EventGrid)
        | (InputSchema::CloudEvents, DeliverySchema::CloudEvents) => ev.value.clone(),
        (InputSchema::EventGrid, DeliverySchema::CloudEvents) => {
            let g = |k: &str| ev.value.get(k).cloned().unwrap_or(Value::Null);
            let mut o = Map::new();
            o.insert("specversion".into(), json!("1.0"));
            o.insert("id".into(), g("id"));
            o.insert("source".into(), g("topic"));
            o.insert("subject".into(), g("subject"));
            o.insert("type".into(), g("eventType"));
            o.insert("time".into(), g("eventTime"));
            if let Some(d) = ev.value.get("data") {
                o.insert("data".into(), d.clone());
                o.insert("datacontenttype".into(), json!("application/json"));
            }
            if let Some(Value::String(dv)) = ev.value.get("dataVersion") {
                if !dv.is_empty() {
                    o.insert("dataschema".into(), json!(dv));
                }
            }
            Value::Object(o)
        }
        (InputSchema::CloudEvents, DeliverySchema::EventGrid) => {
            let g = |k: &str| ev.value.get(k).cloned();
            json!({
                "id": g("id").unwrap_or(Value::Null),
                "topic": topic_id,
                "subject": ev.subject,
                "eventType": ev.event_type,
                "eventTime": g("time").unwrap_or_else(|| json!(crate::util::rfc3339_now())),
                "data": g("data").or_else(|| g("data_base64")).unwrap_or(Value::Null),
                "dataVersion": g("dataschema").unwrap_or_else(|| json!("")),
                "metadataVersion": "1",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_are_named() {
        let body =
            br#"[{"id":"1","subject":"s","eventTime":"2024-01-02T03:04:05Z","dataVersion":"1"}]"#;
        let err = parse_batch(body, InputSchema::EventGrid, true, "t")
            .err()
            .unwrap_or_default();
        assert!(err.contains("'eventType'"), "{err}");
        let ce = br#"[{"specversion":"1.0","id":"1","type":"x"}]"#;
        let err = parse_batch(ce, InputSchema::CloudEvents, true, "t")
            .err()
            .unwrap_or_default();
        assert!(err.contains("'source'"), "{err}");
    }

    #[test]
    fn converts_between_schemas() {
        let body = br#"[{"id":"1","subject":"s","eventType":"A.B","eventTime":"2024-01-02T03:04:05Z","dataVersion":"1","data":{"x":1}}]"#;
        let evs = parse_batch(body, InputSchema::EventGrid, true, "/topics/t").unwrap_or_default();
        let ce = render(&evs[0], DeliverySchema::CloudEvents, "/topics/t");
        assert_eq!(ce["type"], "A.B");
        assert_eq!(ce["source"], "/topics/t");
        assert_eq!(ce["data"]["x"], 1);
    }
}
