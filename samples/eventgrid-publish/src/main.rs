//! `POST /publish?container=<name>&blob=<name>`: stores the body as a blob, then publishes an
//! EventGrid event describing it (by default shaped like Storage's own
//! `Microsoft.Storage.BlobCreated`, so the `eventgrid-webhook` sample can handle it).
//!
//! Settings: `STORAGE_ACCOUNT`, `STORAGE_MASTER_KEY`, optional `STORAGE_ENDPOINT`;
//! `EVENTGRID_ENDPOINT`, `EVENTGRID_KEY` (or `EVENTGRID_SAS_TOKEN`); optional `EVENT_TYPE`.

use azure_wasi::eventgrid::{EventGridEvent, EventGridPublisher, StorageBlobCreatedEventData};
use azure_wasi::Response;
use azure_wasi::{Method, StatusCode};
use std::io::Read;

#[azure_wasi::handler]
async fn handle(req: azure_wasi::Request) -> azure_wasi::Result<Response> {
    if req.method() != Method::POST {
        return Err(azure_wasi::Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST /publish?container=<name>&blob=<name> with the content as the body",
        ));
    }
    let container = req.require_query("container")?.to_string();
    let blob = req.require_query("blob")?.to_string();
    let content_type = req
        .content_type()
        .filter(|t| !t.is_empty())
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut body = req.into_body_reader();
    let mut first = [0u8; 1];
    if body.read(&mut first)? == 0 {
        return Err(azure_wasi::Error::new(
            StatusCode::BAD_REQUEST,
            "the request body is empty: send the content to store as the body",
        ));
    }
    let reader = (&first[..]).chain(body);
    store_and_publish(container, blob, content_type, reader).await
}

async fn store_and_publish(
    container: String,
    blob: String,
    content_type: String,
    reader: impl Read,
) -> azure_wasi::Result<Response> {
    // Check every setting before writing anything.
    let settings = azure_wasi::storage::StorageSettings::from_env().map_err(storage_err)?;
    let publisher =
        EventGridPublisher::from_env(azure_wasi::azure::client_options()).map_err(eventgrid_err)?;
    let options = azure_wasi::azure::client_options();

    let container_client = settings
        .container_client(&container, options.clone())
        .map_err(storage_err)?;
    if let Err(e) = container_client.create(None).await {
        if e.http_status().map(u16::from) != Some(409) {
            return Err(storage_err(e.into()));
        }
    }
    let blob_client = settings
        .blob_client(&container, &blob, options)
        .map_err(storage_err)?;
    let summary =
        azure_wasi::storage::upload_from_reader(&blob_client, reader, Some(&content_type), None)
            .await
            .map_err(storage_err)?;

    let data = StorageBlobCreatedEventData {
        api: Some(
            if summary.blocks > 1 {
                "PutBlockList"
            } else {
                "PutBlob"
            }
            .to_string(),
        ),
        etag: summary.etag.clone(),
        content_type: Some(content_type.clone()),
        content_length: Some(summary.bytes),
        blob_type: Some("BlockBlob".to_string()),
        url: Some(blob_client.url().to_string()),
        ..Default::default()
    };
    let event_type = std::env::var("EVENT_TYPE")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "Microsoft.Storage.BlobCreated".to_string());
    let subject = format!("/blobServices/default/containers/{container}/blobs/{blob}");
    let event = EventGridEvent::new(&subject, &event_type, &data).map_err(eventgrid_err)?;
    publisher.send_event(&event).await.map_err(eventgrid_err)?;

    let answer = serde_json::json!({
        "blob": {
            "container": container,
            "blob": blob,
            "bytes": summary.bytes,
            "etag": summary.etag,
            "contentType": content_type,
            "url": blob_client.url().as_str(),
        },
        "event": { "id": event.id, "eventType": event.event_type, "subject": event.subject },
    });
    Ok(Response::json(&answer)?.with_status(StatusCode::CREATED))
}

fn storage_err(e: azure_wasi::storage::Error) -> azure_wasi::Error {
    use azure_wasi::storage::Error as E;
    let status = match &e {
        E::InvalidName { .. } | E::Io(_) => StatusCode::BAD_REQUEST,
        E::Azure(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    eprintln!("eventgrid-publish: storage: {e}");
    azure_wasi::Error::new(status, e.to_string())
}

fn eventgrid_err(e: azure_wasi::eventgrid::Error) -> azure_wasi::Error {
    use azure_wasi::eventgrid::Error as E;
    let status = match &e {
        E::Service { .. } | E::Transport(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    eprintln!("eventgrid-publish: eventgrid: {e}");
    azure_wasi::Error::new(
        status,
        format!("{e} (the blob may already be stored; publishing the event failed)"),
    )
}
