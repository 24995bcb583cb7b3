//! The publisher against a mock transport.

mod common;

use azure_wasi_eventgrid::{
    CloudEvent, Error, EventGrid, EventGridCredential, EventGridEvent, EventGridSettings,
};

fn publisher(
    endpoint: &str,
    credential: EventGridCredential,
    options: azure_core::http::ClientOptions,
) -> azure_wasi_eventgrid::Result<EventGrid> {
    Ok(EventGrid::with_options(
        EventGridSettings::new(endpoint, credential)?,
        options,
    ))
}
use common::Mock;
use futures::executor::block_on;
use serde_json::Value;

const VECTORS: &str = include_str!("../../../testdata/vectors/eventgrid.json");

#[test]
fn eventgrid_schema_request_matches_the_sdk_recording() {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let expected = &v["publish_request"];
    let key = expected["headers"]["aeg-sas-key"].as_str().unwrap();
    let mock = Mock::new();
    mock.reply(200, &[], b"");
    let publisher = publisher(
        "https://mytopic.westus2-1.eventgrid.azure.net/api/events",
        EventGridCredential::Key(key.to_string()),
        mock.options(),
    )
    .unwrap();
    let event: EventGridEvent = serde_json::from_value(expected["body"][0].clone()).unwrap();
    block_on(publisher.send_event(&event, None)).unwrap();
    let seen = &mock.seen()[0];
    assert_eq!(seen.method, expected["method"].as_str().unwrap());
    assert!(
        seen.url
            .ends_with(expected["path_and_query"].as_str().unwrap()),
        "{}",
        seen.url
    );
    assert_eq!(
        seen.header("content-type"),
        expected["headers"]["Content-Type"].as_str()
    );
    assert_eq!(seen.header("aeg-sas-key"), Some(key));
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body, expected["body"]);
}

#[test]
fn cloud_events_batch_with_generated_sas() {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let mock = Mock::new();
    mock.reply(200, &[], b"");
    let endpoint = "http://127.0.0.1:8082/api/events";
    let credential = EventGridCredential::sas_from_key(
        endpoint,
        "dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVzdGtleTEyMzQ=",
        azure_core::time::Duration::hours(1),
    )
    .unwrap();
    let publisher = publisher(endpoint, credential, mock.options()).unwrap();
    let events = vec![
        CloudEvent::new("/contoso", "Contoso.A", serde_json::json!({"n": 1})).unwrap(),
        CloudEvent::new("/contoso", "Contoso.B", serde_json::json!({"n": 2})).unwrap(),
    ];
    block_on(publisher.send_cloud_events(&events, None)).unwrap();
    let seen = &mock.seen()[0];
    assert_eq!(
        seen.header("content-type"),
        v["cloudevents_content_type"].as_str()
    );
    let token = seen.header("aeg-sas-token").unwrap();
    assert!(
        token.starts_with(
            "r=http%3A%2F%2F127.0.0.1%3A8082%2Fapi%2Fevents%3FapiVersion%3D2018-01-01&e="
        ),
        "{token}"
    );
    assert!(seen.header("aeg-sas-key").is_none());
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[1]["type"], "Contoso.B");
}

#[test]
fn errors_carry_status_and_message_but_not_the_key() {
    let mock = Mock::new();
    mock.reply(401, &[], br#"{"error":{"code":"Unauthorized","message":"The request authorization key is not authorized."}}"#);
    let publisher = publisher(
        "http://127.0.0.1:8082",
        EventGridCredential::Key("c2VjcmV0LWtleQ==".into()),
        mock.options(),
    )
    .unwrap();
    let err = block_on(publisher.send_event(&EventGridEvent::new("/s", "T", 1).unwrap(), None))
        .unwrap_err();
    match &err {
        Error::Service {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!(*status, 401);
            assert_eq!(code.as_deref(), Some("Unauthorized"));
            assert!(message.contains("not authorized"));
        }
        other => panic!("expected a service error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("EVENTGRID_KEY") && !text.contains("c2VjcmV0"),
        "{text}"
    );
    assert_eq!(
        mock.seen()[0].url,
        "http://127.0.0.1:8082/api/events?api-version=2018-01-01"
    );
}

#[test]
fn throttling_is_retried() {
    let mock = Mock::new();
    mock.reply(503, &[("retry-after-ms", "1")], b"");
    mock.reply(200, &[], b"");
    let publisher = publisher(
        "http://127.0.0.1:8082/api/events",
        EventGridCredential::Key("k".into()),
        mock.options(),
    )
    .unwrap();
    block_on(publisher.send_event(&EventGridEvent::new("/s", "T", 1).unwrap(), None)).unwrap();
    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.header("aeg-sas-key") == Some("k")));
}
