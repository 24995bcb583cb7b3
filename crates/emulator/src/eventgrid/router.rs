//! HTTP surface of the EventGrid emulator.
//!
//! - `POST /api/events` (default topic) and `POST /<topic>/api/events`: publish
//! - `GET /<topic>/deadletters` (and `GET /deadletters`): list dead letters
//! - `GET|PUT|DELETE /<topic>/subscriptions[/<name>]`: manage subscriptions, with the admin key
//!   only (`x-emulator-admin-key`; off unless `eventgrid.admin_key` is set)
//! - `GET /<topic>/subscriptions/<name>/validate?code=..`: manual validation URL

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use super::auth::{verify_key, verify_sas_token};
use super::schema::{parse_batch, schema_of};
use super::Core;
use crate::config::{DeliverySchema, SubscriptionConfig};
use crate::server::{http_date_now, read_body, Body, BodyError, Resp};
use crate::util::ct_eq;

/// Header carrying `eventgrid.admin_key`.
const ADMIN_KEY_HEADER: &str = "x-emulator-admin-key";

/// Largest subscription body.
const MAX_SUBSCRIPTION_BODY: usize = 64 * 1024;

/// Largest accepted publish body (Azure: 1 MB per batch).
const MAX_BATCH: usize = 1024 * 1024;

struct EgError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn err(status: StatusCode, code: &'static str, message: impl Into<String>) -> EgError {
    EgError {
        status,
        code,
        message: message.into(),
    }
}

fn json_response(status: StatusCode, body: String) -> Resp {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::full(Bytes::from(body)))
        .unwrap_or_else(|_| http::Response::new(Body::default()))
}

/// The 503 for connections past `eventgrid.limits.max_connections`.
pub(super) fn server_busy() -> Resp {
    let mut resp = json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "error": { "code": "ServiceUnavailable", "message": "too many open connections (eventgrid.limits.max_connections); retry shortly" } }).to_string(),
    );
    resp.headers_mut()
        .insert("connection", http::HeaderValue::from_static("close"));
    resp
}

/// Read a body of at most `limit` bytes within the configured deadline.
async fn body(
    core: &Core,
    req: http::Request<Incoming>,
    limit: usize,
    what: &str,
) -> Result<Bytes, EgError> {
    let (parts, body) = req.into_parts();
    let deadline = core.egcfg.limits.body_read_timeout();
    read_body(&parts.headers, body, limit, deadline)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => err(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("the {what} is larger than {limit} bytes; send less"),
            ),
            BodyError::Timeout(d) => err(
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                format!(
                    "the {what} did not arrive within {} ms (eventgrid.limits.body_read_timeout_ms)",
                    d.as_millis()
                ),
            ),
            BodyError::Io(m) => err(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("the {what} could not be read: {m}"),
            ),
        })
}

/// Subscription management needs the admin key; topic keys only publish (as in Azure, where
/// subscriptions are managed through ARM).
fn authorize_admin(core: &Core, req: &http::Request<Incoming>) -> Result<(), EgError> {
    let Some(admin) = core.egcfg.admin_key.as_deref() else {
        return Err(err(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "subscription management over HTTP is disabled: declare subscriptions in [[emulators.eventgrid.subscriptions]] or add them with the Rust API (Emulators::add_subscription), or set eventgrid.admin_key and send it in x-emulator-admin-key",
        ));
    };
    let unauthorized = |m: &str| err(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    match req.headers().get(ADMIN_KEY_HEADER).map(|v| v.to_str()) {
        Some(Ok(given)) if ct_eq(given, admin) => Ok(()),
        Some(_) => Err(unauthorized("the x-emulator-admin-key header is not eventgrid.admin_key")),
        None if req.headers().contains_key("aeg-sas-key")
            || req.headers().contains_key("aeg-sas-token")
            || req.headers().contains_key(http::header::AUTHORIZATION) =>
        {
            Err(unauthorized("topic keys and SAS tokens publish events but cannot manage subscriptions; send eventgrid.admin_key in x-emulator-admin-key"))
        }
        None => Err(unauthorized("the request has no x-emulator-admin-key header; send eventgrid.admin_key in it")),
    }
}

pub(super) async fn handle(core: Arc<Core>, req: http::Request<Incoming>) -> Resp {
    let request_id = crate::util::new_id();
    let mut resp = match route(&core, req).await {
        Ok(r) => r,
        Err(e) => json_response(
            e.status,
            json!({ "error": { "code": e.code, "message": e.message } }).to_string(),
        ),
    };
    let h = resp.headers_mut();
    if let Ok(v) = request_id.parse() {
        h.insert("x-ms-request-id", v);
    }
    if let Ok(v) = http_date_now().parse() {
        h.insert("date", v);
    }
    resp
}

async fn route(core: &Arc<Core>, req: http::Request<Incoming>) -> Result<Resp, EgError> {
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let default = core.default_topic.clone();
    match (req.method().clone(), segs.as_slice()) {
        (Method::POST, ["api", "events"]) => publish(core, &default, req).await,
        (Method::POST, [topic, "api", "events"]) => publish(core, topic, req).await,
        (Method::GET, ["deadletters"]) => dead_letters(core, &default, req).await,
        (Method::GET, [topic, "deadletters"]) => dead_letters(core, topic, req).await,
        (Method::GET, [topic, "subscriptions"]) => list_subscriptions(core, topic, req).await,
        (Method::PUT, [topic, "subscriptions", name]) => put_subscription(core, topic, name, req).await,
        (Method::DELETE, [topic, "subscriptions", name]) => delete_subscription(core, topic, name, req).await,
        (Method::GET, [topic, "subscriptions", name, "validate"]) => manual_validate(core, topic, name, req),
        (_, ["api", "events"] | [_, "api", "events"]) => Err(err(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "publish with POST",
        )),
        _ => Err(err(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("`{path}` is not an EventGrid emulator endpoint; publish with POST /api/events or POST /<topic>/api/events"),
        )),
    }
}

fn topic_exists(core: &Core, topic: &str) -> Result<(), EgError> {
    if core.topics.contains_key(topic) {
        Ok(())
    } else {
        Err(err(
            StatusCode::NOT_FOUND,
            "TopicNotFound",
            format!("topic `{topic}` does not exist; add it to [[emulators.eventgrid.topics]]"),
        ))
    }
}

/// Check an `Authorization: Bearer` token: the trusted issuer's signature, audience
/// `https://eventgrid.azure.net`, lifetime (401 `Unauthorized`), and the `EventGrid Data Sender`
/// role (403 `Forbidden`). Messages name the claim, never the token.
fn authorize_bearer(core: &Core, topic: &str, token: &str) -> Result<(), EgError> {
    use crate::identity::{roles, EVENTGRID_AUDIENCE};
    let unauthorized = |m: String| err(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    let Some(trust) = &core.egcfg.trusted_issuer else {
        return Err(unauthorized(
            "bearer tokens are not accepted: this emulator trusts no issuer; configure [emulators.identity] or send the topic key".into(),
        ));
    };
    let claims = trust
        .verify(token, EVENTGRID_AUDIENCE, crate::util::now_unix())
        .map_err(|why| unauthorized(why.to_string()))?;
    if claims.has_any_role(roles::EVENTGRID_SEND) {
        return Ok(());
    }
    Err(err(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "the principal `{}` is not authorized to publish to topic `{topic}`: it needs the role `{}` (the token's `roles` claim)",
            claims.sub,
            roles::EVENTGRID_SENDER
        ),
    ))
}

/// Check `aeg-sas-key`, `aeg-sas-token`, `Authorization: SharedAccessSignature <token>` or
/// `Authorization: Bearer <Entra ID token>`.
fn authorize(core: &Core, topic: &str, req: &http::Request<Incoming>) -> Result<(), EgError> {
    let key = match core.topics.get(topic) {
        Some(t) => t.key.as_str(),
        None => return topic_exists(core, topic),
    };
    let unauthorized = |m: String| err(StatusCode::UNAUTHORIZED, "Unauthorized", m);
    let h = req.headers();
    if let Some(v) = h.get("aeg-sas-key") {
        let v = v.to_str().unwrap_or("");
        return if verify_key(v, key) {
            Ok(())
        } else {
            Err(unauthorized(format!(
                "the aeg-sas-key is not the key of topic `{topic}`"
            )))
        };
    }
    if let Some(token) = h
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return authorize_bearer(core, topic, token.trim());
    }
    let token = h
        .get("aeg-sas-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            h.get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("SharedAccessSignature "))
                .map(str::to_string)
        });
    match token {
        Some(t) => verify_sas_token(&t, key, req.uri().path(), crate::util::now_unix())
            .map_err(|e| unauthorized(e.to_string())),
        None => Err(unauthorized(
            "the request has no aeg-sas-key or aeg-sas-token header; send the topic key or a SAS token".into(),
        )),
    }
}

async fn publish(
    core: &Arc<Core>,
    topic: &str,
    req: http::Request<Incoming>,
) -> Result<Resp, EgError> {
    topic_exists(core, topic)?;
    let has_version = req
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "api-version"))
        .unwrap_or(false);
    if !has_version {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the api-version query parameter is required (for example ?api-version=2018-01-01)",
        ));
    }
    authorize(core, topic, &req)?;
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (schema, batch) = schema_of(content_type.as_deref())
        .map_err(|m| err(StatusCode::BAD_REQUEST, "BadRequest", m))?;
    let body = body(core, req, MAX_BATCH, "batch").await?;
    let events = parse_batch(&body, schema, batch, &Core::topic_id(topic))
        .map_err(|m| err(StatusCode::BAD_REQUEST, "BadRequest", m))?;
    tracing::debug!(topic, count = events.len(), "events accepted");
    core.dispatch(topic, events).await.map_err(|e| {
        err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("the events could not be stored for delivery: {e}"),
        )
    })?;
    Ok(json_response(StatusCode::OK, String::new()))
}

async fn dead_letters(
    core: &Arc<Core>,
    topic: &str,
    req: http::Request<Incoming>,
) -> Result<Resp, EgError> {
    authorize(core, topic, &req)?;
    let list = core.dead_letters(topic).await.map_err(|e| {
        err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            e.to_string(),
        )
    })?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_string(&list).unwrap_or_default(),
    ))
}

async fn list_subscriptions(
    core: &Arc<Core>,
    topic: &str,
    req: http::Request<Incoming>,
) -> Result<Resp, EgError> {
    authorize_admin(core, &req)?;
    topic_exists(core, topic)?;
    let subs: Vec<SubscriptionConfig> = core
        .subs_snapshot()
        .iter()
        .filter(|s| s.cfg.topic == topic)
        .map(|s| s.cfg.clone())
        .collect();
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_string(&subs).unwrap_or_default(),
    ))
}

/// Body of `PUT /<topic>/subscriptions/<name>`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionBody {
    endpoint: String,
    #[serde(default)]
    included_event_types: Vec<String>,
    #[serde(default)]
    subject_begins_with: Option<String>,
    #[serde(default)]
    subject_ends_with: Option<String>,
    #[serde(default)]
    schema: DeliverySchema,
}

async fn put_subscription(
    core: &Arc<Core>,
    topic: &str,
    name: &str,
    req: http::Request<Incoming>,
) -> Result<Resp, EgError> {
    authorize_admin(core, &req)?;
    topic_exists(core, topic)?;
    let body = body(core, req, MAX_SUBSCRIPTION_BODY, "subscription body").await?;
    let b: SubscriptionBody = serde_json::from_slice(&body).map_err(|e| {
        err(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("invalid subscription JSON: {e}; expected {{\"endpoint\": \"http://...\", \"included_event_types\": [..], \"schema\": \"eventgrid\"|\"cloudevents\"}}"),
        )
    })?;
    let cfg = SubscriptionConfig {
        name: name.to_string(),
        topic: topic.to_string(),
        endpoint: b.endpoint,
        included_event_types: b.included_event_types,
        subject_begins_with: b.subject_begins_with,
        subject_ends_with: b.subject_ends_with,
        schema: b.schema,
    };
    core.add_subscription(cfg.clone(), true)
        .await
        .map_err(|e| match e {
            crate::Error::Config(m) => err(StatusCode::BAD_REQUEST, "BadRequest", m),
            other => err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                other.to_string(),
            ),
        })?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_string(&cfg).unwrap_or_default(),
    ))
}

async fn delete_subscription(
    core: &Arc<Core>,
    topic: &str,
    name: &str,
    req: http::Request<Incoming>,
) -> Result<Resp, EgError> {
    authorize_admin(core, &req)?;
    topic_exists(core, topic)?;
    match core.remove_subscription(topic, name).await {
        Ok(true) => Ok(json_response(StatusCode::OK, String::new())),
        Ok(false) => Err(err(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("subscription `{name}` does not exist on topic `{topic}`"),
        )),
        Err(e) => Err(err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            e.to_string(),
        )),
    }
}

fn manual_validate(
    core: &Arc<Core>,
    topic: &str,
    name: &str,
    req: http::Request<Incoming>,
) -> Result<Resp, EgError> {
    let code = req
        .uri()
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let sub = core
        .subs_snapshot()
        .into_iter()
        .find(|s| s.cfg.topic == topic && s.cfg.name == name)
        .ok_or_else(|| {
            err(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("subscription `{name}` does not exist on topic `{topic}`"),
            )
        })?;
    if !crate::util::ct_eq(&code, &sub.validation_code) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the validation code does not match",
        ));
    }
    sub.manually_validated.store(true, Ordering::SeqCst);
    Ok(json_response(
        StatusCode::OK,
        json!({ "message": "Webhook successfully validated as a result of user action." })
            .to_string(),
    ))
}
