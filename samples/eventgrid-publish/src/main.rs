//! `POST /publish?container=<name>&blob=<name>`: stores the body as a blob, then publishes an
//! EventGrid event describing it (by default shaped like Storage's own
//! `Microsoft.Storage.BlobCreated`, so the `eventgrid-webhook` sample can handle it).
//!
//! Settings: `STORAGE_ACCOUNT`, `STORAGE_MASTER_KEY`, optional `STORAGE_ENDPOINT`;
//! `EVENTGRID_ENDPOINT`, `EVENTGRID_KEY` (or `EVENTGRID_SAS_TOKEN`); optional `EVENT_TYPE`.

use azure_wasi::eventgrid::{EventGrid, EventGridEvent, StorageBlobCreatedEventData};
use azure_wasi::{storage::Storage, Error, Json, Method, Request, Result, StatusCode};
use serde_json::{json, Value};

#[azure_wasi::handler]
async fn handle(req: Request) -> Result<(StatusCode, Json<Value>)> {
    if req.method() != Method::POST {
        return Err(Error::method_not_allowed(&[Method::POST]));
    }
    let container = req.require_query("container")?.to_string();
    let name = req.require_query("blob")?.to_string();
    let content_type = req.content_type().map(str::to_string);
    // Both clients first, so a missing setting is reported before anything is written.
    let (storage, eventgrid) = (Storage::from_env()?, EventGrid::from_env()?);

    storage
        .container(&container)?
        .create_if_not_exists(None)
        .await?;
    let blob = storage.blob(&container, &name)?;
    let written = blob
        .upload(req.into_body_reader(), content_type.as_deref(), None)
        .await?;

    let data = StorageBlobCreatedEventData {
        api: Some(
            if written.blocks > 1 {
                "PutBlockList"
            } else {
                "PutBlob"
            }
            .to_string(),
        ),
        etag: written.etag.clone(),
        content_type: Some(written.content_type.clone()),
        content_length: Some(written.bytes),
        blob_type: Some("BlockBlob".to_string()),
        url: Some(blob.url().to_string()),
        ..Default::default()
    };
    let event_type = std::env::var("EVENT_TYPE").ok().filter(|t| !t.is_empty());
    let event_type = event_type
        .as_deref()
        .unwrap_or("Microsoft.Storage.BlobCreated");
    let subject = format!("/blobServices/default/containers/{container}/blobs/{name}");
    let event = EventGridEvent::new(&subject, event_type, &data)?;
    eventgrid.send_event(&event, None).await?;

    Ok((
        StatusCode::CREATED,
        Json(json!({
            "blob": {
                "container": container, "blob": name, "bytes": written.bytes, "etag": written.etag,
                "contentType": written.content_type, "url": blob.url().as_str(),
            },
            "event": { "id": event.id, "eventType": event.event_type, "subject": event.subject },
        })),
    ))
}
