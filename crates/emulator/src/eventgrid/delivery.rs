//! Delivery to webhooks: validation handshakes, retries with exponential back-off, dead letters.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use super::pending::Pending;
use super::schema::render;
use super::{Core, DeadLetter, Delivered, Subscription};
use crate::config::DeliverySchema;
use crate::store::{Op, Table};

/// One failed attempt.
pub(super) struct Failure {
    pub status: Option<u16>,
    pub reason: String,
    /// Azure does not retry 400, 403 and 413: dead-letter at once.
    pub fatal: bool,
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

async fn send(core: &Core, req: Request<Full<Bytes>>) -> Result<Reply, String> {
    let fut = async {
        let resp = core
            .client
            .request(req)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let (parts, body) = resp.into_parts();
        let body = http_body_util::Limited::new(body, 1024 * 1024)
            .collect()
            .await
            .map_err(|e| format!("reading the response failed: {e}"))?
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    match tokio::time::timeout(core.timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no response within {} ms",
            core.timeout.as_millis()
        )),
    }
}

fn build(
    method: Method,
    uri: &str,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    b.body(Full::new(body))
        .map_err(|e| format!("cannot build the request to `{uri}`: {e}"))
}

/// Perform the handshake unless already done.
async fn ensure_validated(core: &Core, sub: &Subscription, topic: &str) -> Result<(), Failure> {
    let mut done = sub.validated.lock().await;
    if *done {
        return Ok(());
    }
    if sub.manually_validated.load(Ordering::SeqCst) {
        *done = true;
        return Ok(());
    }
    let fail = |status: Option<u16>, reason: String| Failure {
        status,
        reason,
        fatal: false,
    };
    match sub.cfg.schema {
        DeliverySchema::EventGrid => {
            let validation_url = format!(
                "{}/{}/subscriptions/{}/validate?code={}",
                core.base_url(),
                topic,
                sub.cfg.name,
                sub.validation_code
            );
            let event = json!([{
                "id": crate::util::new_id(),
                "topic": Core::topic_id(topic),
                "subject": "",
                "data": { "validationCode": sub.validation_code, "validationUrl": validation_url },
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "eventTime": crate::util::rfc3339_now(),
                "metadataVersion": "1",
                "dataVersion": "2",
            }]);
            let req = build(
                Method::POST,
                &sub.cfg.endpoint,
                &[
                    ("content-type", "application/json; charset=utf-8".into()),
                    ("aeg-event-type", "SubscriptionValidation".into()),
                    ("aeg-subscription-name", sub.cfg.name.to_uppercase()),
                    ("aeg-data-version", "2".into()),
                    ("aeg-metadata-version", "1".into()),
                ],
                Bytes::from(event.to_string()),
            )
            .map_err(|e| fail(None, e))?;
            let reply = send(core, req)
                .await
                .map_err(|e| fail(None, format!("validation handshake: {e}")))?;
            if sub.manually_validated.load(Ordering::SeqCst) {
                *done = true;
                return Ok(());
            }
            if !reply.status.is_success() {
                return Err(fail(
                    Some(reply.status.as_u16()),
                    format!(
                        "validation handshake: the webhook answered {}",
                        reply.status
                    ),
                ));
            }
            let v: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
            let code = v
                .as_object()
                .and_then(|o| {
                    o.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("validationResponse"))
                })
                .and_then(|(_, v)| v.as_str());
            if code != Some(sub.validation_code.as_str()) {
                return Err(fail(
                    Some(reply.status.as_u16()),
                    "validation handshake: the webhook did not answer {\"validationResponse\": <validationCode>}".into(),
                ));
            }
        }
        DeliverySchema::CloudEvents => {
            let origin = "eventgrid.azure.net";
            let req = build(
                Method::OPTIONS,
                &sub.cfg.endpoint,
                &[
                    ("webhook-request-origin", origin.into()),
                    ("webhook-request-rate", "120".into()),
                ],
                Bytes::new(),
            )
            .map_err(|e| fail(None, e))?;
            let reply = send(core, req)
                .await
                .map_err(|e| fail(None, format!("abuse-protection handshake: {e}")))?;
            let allowed = reply
                .headers
                .get_all("webhook-allowed-origin")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|v| v.trim() == origin || v.trim() == "*");
            if !reply.status.is_success() || !allowed {
                return Err(fail(
                    Some(reply.status.as_u16()),
                    format!(
                        "abuse-protection handshake: OPTIONS answered {} {} WebHook-Allowed-Origin: {origin}",
                        reply.status,
                        if allowed { "with" } else { "without" }
                    ),
                ));
            }
        }
    }
    tracing::info!(subscription = %sub.cfg.name, topic, "webhook validated");
    *done = true;
    Ok(())
}

async fn attempt(
    core: &Core,
    sub: &Subscription,
    topic: &str,
    body: &Bytes,
    data_version: &str,
    n: u32,
) -> Result<(), Failure> {
    ensure_validated(core, sub, topic).await?;
    let content_type = match sub.cfg.schema {
        DeliverySchema::EventGrid => "application/json; charset=utf-8",
        DeliverySchema::CloudEvents => "application/cloudevents+json; charset=utf-8",
    };
    let req = build(
        Method::POST,
        &sub.cfg.endpoint,
        &[
            ("content-type", content_type.into()),
            ("aeg-event-type", "Notification".into()),
            ("aeg-subscription-name", sub.cfg.name.to_uppercase()),
            ("aeg-delivery-count", (n - 1).to_string()),
            ("aeg-data-version", data_version.to_string()),
            ("aeg-metadata-version", "1".into()),
        ],
        body.clone(),
    )
    .map_err(|e| Failure {
        status: None,
        reason: e,
        fatal: true,
    })?;
    let reply = send(core, req).await.map_err(|e| Failure {
        status: None,
        reason: e,
        fatal: false,
    })?;
    if reply.status.is_success() {
        return Ok(());
    }
    let code = reply.status.as_u16();
    Err(Failure {
        status: Some(code),
        reason: format!("the webhook answered {}", reply.status),
        fatal: matches!(code, 400 | 403 | 413),
    })
}

/// Deliver one pending event to one subscription, retrying, then dead-lettering; the pending
/// record under `key` is updated after each failure and removed at the end. On shutdown it
/// stays, and the next start resumes it.
pub(super) async fn deliver(
    core: Arc<Core>,
    sub: Arc<Subscription>,
    key: String,
    mut rec: Pending,
) {
    let topic = rec.topic.clone();
    let topic_id = Core::topic_id(&topic);
    let value = render(&rec.event, sub.cfg.schema, &topic_id);
    let data_version = value
        .get("dataVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let body = match sub.cfg.schema {
        DeliverySchema::EventGrid => Bytes::from(Value::Array(vec![value.clone()]).to_string()),
        DeliverySchema::CloudEvents => Bytes::from(value.to_string()),
    };
    let mut stop = core.stop.clone();
    let max = core.retry.max_attempts.max(1);
    let mut n = (rec.attempts + 1).min(max);
    loop {
        if *stop.borrow() {
            return;
        }
        let result = tokio::select! {
            r = attempt(&core, &sub, &topic, &body, &data_version, n) => r,
            _ = stop.changed() => return,
        };
        let failure = match result {
            Ok(()) => {
                tracing::debug!(subscription = %sub.cfg.name, topic, attempt = n, "event delivered");
                let event = value.clone();
                let (subscription, topic) = (sub.cfg.name.clone(), topic.clone());
                (core.delivered).push(Delivered {
                    topic,
                    subscription,
                    attempt: n,
                    event,
                });
                finish(&core, vec![Pending::done(&key)]).await;
                return;
            }
            Err(f) => f,
        };
        tracing::debug!(subscription = %sub.cfg.name, topic, attempt = n, reason = %failure.reason, "delivery failed");
        if failure.fatal || n >= max {
            dead_letter(&core, &sub.cfg.name, &topic, value, failure, n, &key).await;
            return;
        }
        rec.attempts = n;
        finish(&core, vec![rec.put(&key)]).await;
        let wait = core.retry.backoff(n);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        n += 1;
    }
}

/// Commit bookkeeping of a delivery; a failure is logged (the event may be delivered again).
async fn finish(core: &Core, ops: Vec<Op>) {
    if let Err(e) = core.store.commit(ops).await {
        tracing::error!(error = %e, "could not update a pending delivery");
    }
}

/// Store a dead letter and drop the pending record under `key`, in one commit.
pub(super) async fn dead_letter(
    core: &Core,
    subscription: &str,
    topic: &str,
    event: Value,
    f: Failure,
    attempts: u32,
    key: &str,
) {
    let dl = DeadLetter {
        topic: topic.to_string(),
        subscription: subscription.to_string(),
        event,
        reason: f.reason,
        delivery_attempts: attempts,
        last_http_status: f.status,
        dead_lettered_at: crate::util::rfc3339_now(),
    };
    tracing::warn!(subscription = %dl.subscription, topic, reason = %dl.reason, "event dead-lettered");
    let dl_key = format!("{topic}/{:020}", crate::util::next_stamp());
    let value = serde_json::to_vec(&dl).unwrap_or_default();
    if let Err(e) = core
        .store
        .commit(vec![
            Op::Put {
                table: Table::DeadLetters,
                key: dl_key,
                value,
            },
            Pending::done(key),
        ])
        .await
    {
        tracing::error!(error = %e, "could not store a dead letter");
    }
}
