//! EventGrid: auth (key, SAS vector, expiry), validation, handshakes, delivery, retries, dead letters.

mod common;

use common::*;
use emulator::{DeliverySchema, EventGridConfig, RetryConfig, SubscriptionConfig, DEV_TOPIC_KEY};
use http::{Method, StatusCode};
use serde_json::json;

async fn eventgrid(subs: Vec<SubscriptionConfig>) -> emulator::eventgrid::EventGridEmulator {
    let cfg = EventGridConfig {
        port: 0,
        subscriptions: subs,
        retry: RetryConfig {
            max_attempts: 3,
            initial_backoff_ms: 10,
            max_backoff_ms: 40,
        },
        delivery_timeout_ms: 2000,
        ..Default::default()
    };
    emulator::eventgrid::EventGridEmulator::start(cfg, emulator::store::StoreHandle::memory())
        .await
        .expect("start eventgrid")
}

fn eg_event(id: &str, event_type: &str) -> serde_json::Value {
    json!({"id": id, "subject": "/test/subject", "data": {"hello": "world"}, "eventType": event_type, "eventTime": "2024-01-02T03:04:05.000Z", "dataVersion": "1.0"})
}

async fn publish(url: &str, headers: &[(&str, &str)], body: &serde_json::Value) -> Resp {
    let mut h = vec![("content-type", "application/json; charset=utf-8")];
    h.extend_from_slice(headers);
    send(Method::POST, url, &h, body.to_string()).await
}

fn vectors() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vectors/eventgrid.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector")).expect("json")
}

#[test]
fn sas_vector_verifies_and_regenerates() {
    let v = vectors();
    let case = &v["sas_cases"][0];
    let key = case["key"].as_str().expect("key");
    let token = case["aeg_sas_token"].as_str().expect("token");
    let resource = format!(
        "{}?apiVersion=2018-01-01",
        case["endpoint"].as_str().expect("endpoint")
    );
    let regenerated = emulator::eventgrid::auth::generate_sas_token(
        &resource,
        case["expiry_text"].as_str().expect("e"),
        key,
    )
    .expect("gen");
    assert_eq!(regenerated, token);
    let now = 1_700_000_000;
    assert_eq!(
        emulator::eventgrid::auth::verify_sas_token(token, key, "/api/events", now),
        Ok(())
    );
    // After 2030-01-01 it is expired.
    let after = 1_893_456_000 + 1;
    assert!(matches!(
        emulator::eventgrid::auth::verify_sas_token(token, key, "/api/events", after),
        Err(emulator::eventgrid::auth::SasError::Expired(_))
    ));
    // Another key, another topic path, a tampered expiry.
    let other = "b3RoZXJrZXlvdGhlcmtleW90aGVya2V5b3RoZXJrZXk=";
    assert_eq!(
        emulator::eventgrid::auth::verify_sas_token(token, other, "/api/events", now),
        Err(emulator::eventgrid::auth::SasError::BadSignature)
    );
    assert!(matches!(
        emulator::eventgrid::auth::verify_sas_token(token, key, "/orders/api/events", now),
        Err(emulator::eventgrid::auth::SasError::WrongResource(_))
    ));
    let tampered = token.replace("2030", "2031");
    assert_eq!(
        emulator::eventgrid::auth::verify_sas_token(&tampered, key, "/api/events", now),
        Err(emulator::eventgrid::auth::SasError::BadSignature)
    );
}

#[tokio::test]
async fn publish_auth_paths() {
    let eg = eventgrid(vec![]).await;
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    let v = vectors();
    let body = v["publish_request"]["body"].clone();
    // Key.
    assert_eq!(
        publish(&url, &[("aeg-sas-key", DEV_TOPIC_KEY)], &body)
            .await
            .status,
        StatusCode::OK
    );
    let r = publish(&url, &[("aeg-sas-key", "d3Jvbmc=")], &body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("Unauthorized"));
    // Missing auth.
    let r = publish(&url, &[], &body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("aeg-sas-key"));
    // SAS in three expiry formats, expired SAS, SAS for another topic.
    let res = format!("{}?apiVersion=2018-01-01", eg.topic_endpoint("default"));
    for expiry in [
        "2099-01-01 00:00:00+00:00",
        "2099-01-01T00:00:00Z",
        "Thu, 01 Jan 2099 00:00:00 GMT",
    ] {
        let t = emulator::eventgrid::auth::generate_sas_token(&res, expiry, DEV_TOPIC_KEY)
            .expect("token");
        let r = publish(&url, &[("aeg-sas-token", &t)], &body).await;
        assert_eq!(r.status, StatusCode::OK, "{expiry}: {}", r.text());
    }
    let t = emulator::eventgrid::auth::generate_sas_token(
        &res,
        "2001-01-01 00:00:00+00:00",
        DEV_TOPIC_KEY,
    )
    .expect("token");
    let r = publish(&url, &[("aeg-sas-token", &t)], &body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("expired"), "{}", r.text());
    let t =
        emulator::eventgrid::auth::generate_sas_token(&res, "2099-01-01T00:00:00Z", "b3RoZXJrZXk=")
            .expect("token");
    assert_eq!(
        publish(&url, &[("aeg-sas-token", &t)], &body).await.status,
        StatusCode::UNAUTHORIZED
    );
    let storage = format!("{}?api-version=2018-01-01", eg.topic_endpoint("storage"));
    let t =
        emulator::eventgrid::auth::generate_sas_token(&res, "2099-01-01T00:00:00Z", DEV_TOPIC_KEY)
            .expect("token");
    let r = publish(&storage, &[("aeg-sas-token", &t)], &body).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Unknown topic, missing api-version.
    let r = publish(
        &format!("{}/nope/api/events?api-version=2018-01-01", eg.url()),
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = publish(
        &eg.topic_endpoint("default"),
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("api-version"));
}

#[tokio::test]
async fn batches_are_validated_and_missing_fields_named() {
    let eg = eventgrid(vec![]).await;
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    let key = [("aeg-sas-key", DEV_TOPIC_KEY)];
    for field in ["id", "subject", "eventType", "eventTime", "dataVersion"] {
        let mut ev = eg_event("1", "A.B");
        ev.as_object_mut().expect("obj").remove(field);
        let r = publish(&url, &key, &json!([ev])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert!(
            r.text().contains(&format!("'{field}'")),
            "{field}: {}",
            r.text()
        );
    }
    let r = publish(&url, &key, &eg_event("1", "A.B")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("array"));
    let r = send(
        Method::POST,
        &url,
        &[
            ("aeg-sas-key", DEV_TOPIC_KEY),
            ("content-type", "application/json"),
        ],
        "{not json",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // CloudEvents.
    let ce = json!({"specversion": "1.0", "id": "1", "source": "/src", "type": "A.B", "time": "2024-01-02T03:04:05Z", "data": {"x": 1}});
    let r = send(
        Method::POST,
        &url,
        &[
            ("aeg-sas-key", DEV_TOPIC_KEY),
            (
                "content-type",
                "application/cloudevents-batch+json; charset=utf-8",
            ),
        ],
        json!([ce]).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = send(
        Method::POST,
        &url,
        &[
            ("aeg-sas-key", DEV_TOPIC_KEY),
            ("content-type", "application/cloudevents+json"),
        ],
        ce.to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for field in ["specversion", "id", "source", "type"] {
        let mut bad = ce.clone();
        bad.as_object_mut().expect("obj").remove(field);
        let r = send(
            Method::POST,
            &url,
            &[
                ("aeg-sas-key", DEV_TOPIC_KEY),
                ("content-type", "application/cloudevents-batch+json"),
            ],
            json!([bad]).to_string(),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            r.text().contains(&format!("'{field}'")),
            "{field}: {}",
            r.text()
        );
    }
    let big = "x".repeat(1024 * 1024 + 10);
    let r = send(
        Method::POST,
        &url,
        &[
            ("aeg-sas-key", DEV_TOPIC_KEY),
            ("content-type", "application/json"),
        ],
        big,
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn eventgrid_schema_handshake_then_filtered_delivery() {
    let hook = webhook(Behaviour::Good).await;
    let mut sub = SubscriptionConfig::new("orders-hook", "default", &hook.url());
    sub.included_event_types = vec!["Contoso.Wanted".into()];
    let eg = eventgrid(vec![sub]).await;
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    let r = publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([
            eg_event("1", "Contoso.Other"),
            eg_event("2", "Contoso.Wanted")
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let got = hook.wait_for(|n| !n.is_empty()).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let all = hook.all();
    // First the validation event, then exactly the wanted event.
    assert_eq!(
        all[0]
            .headers
            .get("aeg-event-type")
            .map(|v| v.to_str().unwrap_or("")),
        Some("SubscriptionValidation")
    );
    let v: serde_json::Value = serde_json::from_slice(&all[0].body).expect("json");
    assert_eq!(
        v[0]["eventType"],
        "Microsoft.EventGrid.SubscriptionValidationEvent"
    );
    assert!(v[0]["data"]["validationCode"].is_string());
    assert_eq!(hook.notifications().len(), 1);
    let ev: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(ev[0]["id"], "2");
    assert_eq!(ev[0]["eventType"], "Contoso.Wanted");
    assert!(ev[0]["topic"]
        .as_str()
        .unwrap_or("")
        .ends_with("/topics/default"));
    assert_eq!(
        got[0]
            .headers
            .get("aeg-subscription-name")
            .map(|v| v.to_str().unwrap_or("")),
        Some("ORDERS-HOOK")
    );
    // A second publish does not repeat the handshake.
    publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([eg_event("3", "Contoso.Wanted")]),
    )
    .await;
    hook.wait_for(|n| n.len() == 2).await;
    assert_eq!(
        hook.all()
            .iter()
            .filter(|r| r
                .headers
                .get("aeg-event-type")
                .map(|v| v == "SubscriptionValidation")
                .unwrap_or(false))
            .count(),
        1
    );
}

#[tokio::test]
async fn cloudevents_subscription_uses_options_handshake() {
    let hook = webhook(Behaviour::Good).await;
    let eg = eventgrid(vec![]).await;
    let mut sub = SubscriptionConfig::new("ce", "default", &hook.url());
    sub.schema = DeliverySchema::CloudEvents;
    eg.add_subscription(sub).await.expect("add");
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    let ce = json!({"specversion": "1.0", "id": "ce-1", "source": "/src", "type": "A.B", "data": {"x": 1}});
    let r = send(
        Method::POST,
        &url,
        &[
            ("aeg-sas-key", DEV_TOPIC_KEY),
            ("content-type", "application/cloudevents-batch+json"),
        ],
        json!([ce]).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let got = hook.wait_for(|n| !n.is_empty()).await;
    let all = hook.all();
    assert_eq!(all[0].method, Method::OPTIONS);
    assert_eq!(
        all[0]
            .headers
            .get("webhook-request-origin")
            .map(|v| v.to_str().unwrap_or("")),
        Some("eventgrid.azure.net")
    );
    let ev: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(ev["id"], "ce-1");
    assert_eq!(
        got[0]
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("")),
        Some("application/cloudevents+json; charset=utf-8")
    );
    // EventGrid-schema events are converted for a CloudEvents subscriber.
    publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([eg_event("eg-1", "A.B")]),
    )
    .await;
    let got = hook.wait_for(|n| n.len() == 2).await;
    let ev: serde_json::Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(ev["specversion"], "1.0");
    assert_eq!(ev["type"], "A.B");
}

#[tokio::test]
async fn failed_handshakes_dead_letter() {
    let bad = webhook(Behaviour::BadValidation).await;
    let no_origin = webhook(Behaviour::NoAllowedOrigin).await;
    let mut ce = SubscriptionConfig::new("ce", "default", &no_origin.url());
    ce.schema = DeliverySchema::CloudEvents;
    let eg = eventgrid(vec![
        SubscriptionConfig::new("bad", "default", &bad.url()),
        ce,
    ])
    .await;
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([eg_event("1", "A.B")]),
    )
    .await;
    let mut dls = Vec::new();
    for _ in 0..100 {
        dls = eg.dead_letters("default").await.expect("dl");
        if dls.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(dls.len(), 2, "{dls:?}");
    assert!(dls.iter().any(|d| d.subscription == "bad"
        && d.reason.contains("validationResponse")
        && d.delivery_attempts == 3));
    assert!(dls
        .iter()
        .any(|d| d.subscription == "ce" && d.reason.contains("WebHook-Allowed-Origin")));
    assert!(bad.notifications().is_empty());
    assert!(no_origin.notifications().is_empty());
}

#[tokio::test]
async fn retries_with_backoff_then_dead_letters() {
    let hook = webhook(Behaviour::Good).await;
    let eg = eventgrid(vec![SubscriptionConfig::new(
        "flaky",
        "default",
        &hook.url(),
    )])
    .await;
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    // Two failures then success: delivered on the third attempt.
    hook.failures.lock().expect("lock").extend([500, 503]);
    publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([eg_event("r1", "A.B")]),
    )
    .await;
    let got = hook.wait_for(|n| n.len() == 3).await;
    let counts: Vec<_> = got
        .iter()
        .map(|r| {
            r.headers
                .get("aeg-delivery-count")
                .map(|v| v.to_str().unwrap_or("").to_string())
        })
        .collect();
    assert_eq!(
        counts,
        vec![Some("0".into()), Some("1".into()), Some("2".into())]
    );
    assert!(eg.dead_letters("default").await.expect("dl").is_empty());
    // Always failing: dead-lettered after 3 attempts, visible over HTTP too.
    hook.failures.lock().expect("lock").extend([500, 500, 500]);
    publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([eg_event("r2", "A.B")]),
    )
    .await;
    hook.wait_for(|n| n.len() == 6).await;
    let mut dls = Vec::new();
    for _ in 0..100 {
        dls = eg.dead_letters("default").await.expect("dl");
        if !dls.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(dls.len(), 1);
    assert_eq!(dls[0].delivery_attempts, 3);
    assert_eq!(dls[0].last_http_status, Some(500));
    assert_eq!(dls[0].event["id"], "r2");
    let r = send(
        Method::GET,
        &format!("{}/default/deadletters", eg.url()),
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("\"r2\""));
    assert_eq!(
        send(
            Method::GET,
            &format!("{}/default/deadletters", eg.url()),
            &[],
            ""
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    // 400 from the webhook is not retried.
    hook.failures.lock().expect("lock").extend([400]);
    publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([eg_event("r3", "A.B")]),
    )
    .await;
    for _ in 0..100 {
        if eg.dead_letters("default").await.expect("dl").len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let dls = eg.dead_letters("default").await.expect("dl");
    assert_eq!(dls.len(), 2);
    assert_eq!(dls[1].delivery_attempts, 1);
}

const ADMIN: &str = "test-admin-key";

#[tokio::test]
async fn subscriptions_over_http() {
    let hook = webhook(Behaviour::Good).await;
    let cfg = EventGridConfig {
        port: 0,
        admin_key: Some(ADMIN.into()),
        ..Default::default()
    };
    let eg =
        emulator::eventgrid::EventGridEmulator::start(cfg, emulator::store::StoreHandle::memory())
            .await
            .expect("start eventgrid");
    let sub_url = format!("{}/default/subscriptions/web", eg.url());
    let body = json!({"endpoint": hook.url(), "included_event_types": ["A.B"]}).to_string();
    let admin = [("x-emulator-admin-key", ADMIN)];
    let r = send(Method::PUT, &sub_url, &admin, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        send(Method::PUT, &sub_url, &[], body.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = send(
        Method::PUT,
        &sub_url,
        &[("x-emulator-admin-key", "wrong")],
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.text().contains(ADMIN), "{}", r.text());
    let r = send(
        Method::PUT,
        &sub_url,
        &admin,
        json!({"endpoint": "ftp://x"}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(
        Method::GET,
        &format!("{}/default/subscriptions", eg.url()),
        &admin,
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("\"web\""), "{}", r.text());
    assert_eq!(eg.subscriptions().len(), 1);
    let url = format!("{}?api-version=2018-01-01", eg.topic_endpoint("default"));
    publish(
        &url,
        &[("aeg-sas-key", DEV_TOPIC_KEY)],
        &json!([eg_event("h1", "A.B")]),
    )
    .await;
    hook.wait_for(|n| n.len() == 1).await;
    let r = send(Method::DELETE, &sub_url, &admin, "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(eg.subscriptions().is_empty());
}
