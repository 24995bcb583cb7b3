//! `POST /webhook`: an EventGrid subscription endpoint.
//!
//! - Answers the subscription validation handshake (`{"validationResponse": code}`) and the
//!   CloudEvents `OPTIONS` handshake (`WebHook-Allowed-Origin`).
//! - For each `Microsoft.Storage.BlobCreated` event, reads the blob and upserts a document
//!   about it into Cosmos DB (`COSMOS_DATABASE`/`COSMOS_COLLECTION`, default `wagi`/`blobs`,
//!   created if missing). Other event types are counted and ignored.
//!
//! Settings: `STORAGE_*` (to read blobs) and `COSMOS_*` (to record them).

use azure_wasi::cosmos::{ContainerClient, Cosmos};
use azure_wasi::eventgrid::{options_handshake, parse_delivery, ReceivedEvent, SystemEvent};
use azure_wasi::{storage::Storage, Error, Method, Request, Response, Result, StatusCode};
use serde_json::{json, Value};

/// How many bytes of a text blob are copied into the Cosmos document.
const PREVIEW_BYTES: usize = 256;
const NO_ORIGIN: &str =
    "OPTIONS needs a WebHook-Request-Origin header (CloudEvents webhook handshake)";

#[azure_wasi::handler]
async fn handle(mut req: Request) -> Result<Response> {
    if req.method() == Method::OPTIONS {
        let headers = options_handshake(req.header("webhook-request-origin"))
            .ok_or_else(|| Error::bad_request(NO_ORIGIN))?;
        let ok = Response::new(StatusCode::OK);
        return Ok(headers
            .into_iter()
            .fold(ok, |r, (n, v)| r.with_header(n, v)));
    }
    if req.method() != Method::POST {
        return Err(Error::method_not_allowed(&[Method::POST, Method::OPTIONS]));
    }
    let delivery = parse_delivery(req.body()?)?;
    if let Some(answer) = delivery.validation_response() {
        return Ok(Response::json(&answer)?);
    }
    let events = delivery.events();
    let (mut recorded, mut ignored) = (Vec::new(), Vec::new());
    let mut sinks = None; // opened for the first blob only
    for event in &events {
        match event.system_event() {
            SystemEvent::BlobCreated(data) if event.blob_location().is_some() => {
                if sinks.is_none() {
                    sinks = Some(Sinks::open().await?);
                }
                if let Some(s) = &sinks {
                    recorded.push(s.record(event, data.content_type).await?);
                }
            }
            _ => ignored.push(json!({ "id": event.id, "eventType": event.event_type })),
        }
    }
    let answer = json!({ "received": events.len(), "recorded": recorded, "ignored": ignored });
    Ok(Response::json(&answer)?)
}

/// Where blobs are read from and recorded to.
struct Sinks {
    storage: Storage,
    records: ContainerClient,
}

impl Sinks {
    async fn open() -> Result<Self> {
        let env_or = |name, default: &str| {
            let value = std::env::var(name).ok().filter(|v| !v.is_empty());
            value.unwrap_or_else(|| default.to_string())
        };
        let database = env_or("COSMOS_DATABASE", "wagi");
        let db = Cosmos::from_env()?
            .create_database_if_not_exists(&database, None)
            .await?;
        let collection = env_or("COSMOS_COLLECTION", "blobs");
        let records = db
            .create_container_if_not_exists(&collection, "/id", None)
            .await?;
        Ok(Self {
            storage: Storage::from_env()?,
            records,
        })
    }

    /// Reads the blob (counting every byte, keeping a short preview) and upserts its document.
    async fn record(&self, event: &ReceivedEvent, content_type: Option<String>) -> Result<Value> {
        let (container, name) = event.blob_location().unwrap_or_default();
        let blob = self.storage.blob(&container, &name)?;
        let download = blob.download(None).await?;
        let content_type = download.content_type.clone().or(content_type);
        let etag = download.etag.clone();
        let (size, head) = download.measure(PREVIEW_BYTES).await?;
        let ct = content_type.as_deref().unwrap_or("");
        let text = ct.starts_with("text/") || ct.contains("json") || ct.contains("xml");
        let preview = text.then(|| String::from_utf8_lossy(&head).into_owned());
        // Cosmos ids may not contain '/', so blob paths are joined with '|'.
        let id = format!("{container}|{name}").replace('/', "|");
        let doc = json!({
            "id": id, "container": container, "blob": name, "size": size,
            "contentType": content_type, "etag": etag, "url": blob.url().as_str(),
            "eventId": event.id, "eventTime": event.time, "preview": preview,
        });
        self.records.upsert_item(id.as_str(), &doc, None).await?;
        Ok(doc)
    }
}
