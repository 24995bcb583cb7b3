//! `POST /webhook`: an EventGrid subscription endpoint.
//!
//! - Answers the subscription validation handshake (`{"validationResponse": code}`) and the
//!   CloudEvents `OPTIONS` handshake (`WebHook-Allowed-Origin`).
//! - For each `Microsoft.Storage.BlobCreated` event, reads the blob and upserts a document
//!   about it into Cosmos DB (`COSMOS_DATABASE`/`COSMOS_COLLECTION`, default `wagi`/`blobs`,
//!   created if missing). Other event types are counted and ignored.
//!
//! Settings: `STORAGE_*` (to read blobs) and `COSMOS_*` (to record them).

use azure_wasi::eventgrid::{options_handshake, parse_delivery, ReceivedEvent, SystemEvent};
use azure_wasi::Response;
use azure_wasi::{Method, StatusCode};
use futures::StreamExt;
use serde_json::{json, Value};

/// How many bytes of a text blob are copied into the Cosmos document.
const PREVIEW_BYTES: usize = 256;

#[azure_wasi::handler]
async fn handle(mut req: azure_wasi::Request) -> azure_wasi::Result<Response> {
    if req.method() == Method::OPTIONS {
        let origin = req.header("webhook-request-origin").map(str::to_string);
        return match options_handshake(origin.as_deref()) {
            Some(headers) => {
                let mut response = Response::new(StatusCode::OK);
                for (name, value) in headers {
                    response = response.with_header(name, value);
                }
                Ok(response)
            }
            None => Err(azure_wasi::Error::new(
                StatusCode::BAD_REQUEST,
                "OPTIONS needs a WebHook-Request-Origin header (CloudEvents webhook handshake)",
            )),
        };
    }
    if req.method() != Method::POST {
        return Err(azure_wasi::Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "EventGrid delivers with POST (and validates CloudEvents endpoints with OPTIONS)",
        ));
    }
    let body = req.body()?.clone();
    if body.is_empty() {
        return Err(azure_wasi::Error::new(
            StatusCode::BAD_REQUEST,
            "the request body is empty: EventGrid sends a JSON array of events",
        ));
    }
    let delivery = parse_delivery(&body).map_err(|e| {
        azure_wasi::Error::new(
            StatusCode::BAD_REQUEST,
            format!("{e}: send EventGrid or CloudEvents JSON"),
        )
    })?;
    if let Some(answer) = delivery.validation_response() {
        eprintln!("eventgrid-webhook: answered the subscription validation handshake");
        return Ok(Response::json(&answer)?);
    }
    handle_events(delivery.events()).await
}

async fn handle_events(events: Vec<ReceivedEvent>) -> azure_wasi::Result<Response> {
    let mut recorded = Vec::new();
    let mut ignored = Vec::new();
    let mut sinks: Option<Sinks> = None;
    for event in &events {
        match (event.system_event(), event.blob_location()) {
            (SystemEvent::BlobCreated(data), Some((container, blob))) => {
                if sinks.is_none() {
                    sinks = Some(Sinks::open().await?);
                }
                let Some(s) = sinks.as_ref() else { continue };
                let doc = record_blob(s, event, &container, &blob, data.content_type).await?;
                recorded.push(doc);
            }
            _ => ignored.push(json!({ "id": event.id, "eventType": event.event_type })),
        }
    }
    Ok(Response::json(&json!({
        "received": events.len(),
        "recorded": recorded,
        "ignored": ignored,
    }))?)
}

/// The clients an event needs, opened once per delivery.
struct Sinks {
    storage: azure_wasi::storage::StorageSettings,
    cosmos: azure_wasi::cosmos::ContainerClient,
}

impl Sinks {
    async fn open() -> azure_wasi::Result<Self> {
        let storage = azure_wasi::storage::StorageSettings::from_env().map_err(storage_err)?;
        let database = env_or("COSMOS_DATABASE", "wagi");
        let collection = env_or("COSMOS_COLLECTION", "blobs");
        let client =
            azure_wasi::cosmos::CosmosClient::from_env(azure_wasi::azure::client_options())
                .map_err(cosmos_err)?;
        let db = client
            .create_database_if_not_exists(&database)
            .await
            .map_err(cosmos_err)?;
        let cosmos = db
            .create_container_if_not_exists(&collection, "/id")
            .await
            .map_err(cosmos_err)?;
        Ok(Self { storage, cosmos })
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Reads the blob (counting every byte, keeping a short preview) and upserts its document.
async fn record_blob(
    sinks: &Sinks,
    event: &ReceivedEvent,
    container: &str,
    blob: &str,
    event_content_type: Option<String>,
) -> azure_wasi::Result<Value> {
    let client = sinks
        .storage
        .blob_client(container, blob, azure_wasi::azure::client_options())
        .map_err(storage_err)?;
    let download = azure_wasi::storage::open_download(&client)
        .await
        .map_err(storage_err)?;
    let content_type = download.content_type.clone().or(event_content_type);
    let etag = download.etag.clone();
    let mut body = download.into_body();
    let mut size = 0u64;
    let mut head = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| storage_err(e.into()))?;
        size += chunk.len() as u64;
        if head.len() < PREVIEW_BYTES {
            let take = (PREVIEW_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
    }
    let is_text = content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/") || t.contains("json") || t.contains("xml"));
    let preview = if is_text {
        Some(String::from_utf8_lossy(&head).into_owned())
    } else {
        None
    };
    // Cosmos ids may not contain '/', so blob paths are joined with '|'.
    let id = format!("{container}|{blob}").replace('/', "|");
    let doc = json!({
        "id": id,
        "container": container,
        "blob": blob,
        "size": size,
        "contentType": content_type,
        "etag": etag,
        "url": client.url().as_str(),
        "eventId": event.id,
        "eventTime": event.time,
        "preview": preview,
    });
    sinks
        .cosmos
        .upsert_item(id.as_str(), &doc, None)
        .await
        .map_err(cosmos_err)?;
    Ok(doc)
}

fn storage_err(e: azure_wasi::storage::Error) -> azure_wasi::Error {
    eprintln!("eventgrid-webhook: storage: {e}");
    let status = match e.http_status() {
        // EventGrid retries deliveries answered with 5xx; a missing blob will not appear later.
        Some(404) => StatusCode::NOT_FOUND,
        Some(_) => StatusCode::BAD_GATEWAY,
        None => StatusCode::INTERNAL_SERVER_ERROR,
    };
    azure_wasi::Error::new(status, format!("reading the blob failed: {e}"))
}

fn cosmos_err(e: azure_wasi::cosmos::Error) -> azure_wasi::Error {
    eprintln!("eventgrid-webhook: cosmos: {e}");
    let status = match e.status() {
        Some(_) => StatusCode::BAD_GATEWAY,
        None => StatusCode::INTERNAL_SERVER_ERROR,
    };
    azure_wasi::Error::new(
        status,
        format!("recording the blob in Cosmos DB failed: {e}"),
    )
}
