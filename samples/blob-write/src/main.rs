//! `POST /blob?container=<name>&blob=<name>`: stores the request body as a block blob (the
//! container is created if missing) and answers with JSON describing what it wrote.
//!
//! The body is streamed from stdin in 4 MiB blocks (Put Block + Put Block List), so a large
//! upload never sits in memory twice. Settings come from the environment: `STORAGE_ACCOUNT`,
//! `STORAGE_MASTER_KEY`, optional `STORAGE_ENDPOINT`.

use azure_wasi::Response;
use azure_wasi::{Method, StatusCode};
use std::io::Read;

#[azure_wasi::handler]
async fn handle(req: azure_wasi::Request) -> azure_wasi::Result<Response> {
    if req.method() != Method::POST && req.method() != Method::PUT {
        return Err(azure_wasi::Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST /blob?container=<name>&blob=<name> with the content as the body",
        ));
    }
    let container = req.require_query("container")?.to_string();
    let blob = req.require_query("blob")?.to_string();
    let content_type = req
        .content_type()
        .filter(|t| !t.is_empty())
        .unwrap_or("application/octet-stream")
        .to_string();
    if req.content_length() == Some(0) {
        return Err(empty_body());
    }
    let mut body = req.into_body_reader();
    // Peek one byte so an empty body is refused before anything is written.
    let mut first = [0u8; 1];
    let n = body.read(&mut first)?;
    if n == 0 {
        return Err(empty_body());
    }
    let reader = (&first[..n]).chain(body);
    store(container, blob, content_type, reader).await
}

fn empty_body() -> azure_wasi::Error {
    azure_wasi::Error::new(
        StatusCode::BAD_REQUEST,
        "the request body is empty: send the blob content as the body (e.g. curl --data-binary @file)",
    )
}

async fn store(
    container: String,
    blob: String,
    content_type: String,
    reader: impl Read,
) -> azure_wasi::Result<Response> {
    let settings = azure_wasi::storage::StorageSettings::from_env().map_err(to_wagi)?;
    let options = azure_wasi::azure::client_options();
    let container_client = settings
        .container_client(&container, options.clone())
        .map_err(to_wagi)?;
    if let Err(e) = container_client.create(None).await {
        // 409: the container exists already, which is fine.
        if e.http_status().map(u16::from) != Some(409) {
            return Err(to_wagi(e.into()));
        }
    }
    let blob_client = settings
        .blob_client(&container, &blob, options)
        .map_err(to_wagi)?;
    let summary =
        azure_wasi::storage::upload_from_reader(&blob_client, reader, Some(&content_type), None)
            .await
            .map_err(to_wagi)?;
    let answer = serde_json::json!({
        "container": container,
        "blob": blob,
        "bytes": summary.bytes,
        "blocks": summary.blocks,
        "etag": summary.etag,
        "contentType": content_type,
        "url": blob_client.url().as_str(),
    });
    Ok(Response::json(&answer)?.with_status(StatusCode::CREATED))
}

/// Maps a storage error to a status and a message that says what to do.
fn to_wagi(e: azure_wasi::storage::Error) -> azure_wasi::Error {
    use azure_wasi::storage::Error as E;
    let status = match &e {
        E::InvalidName { .. } => StatusCode::BAD_REQUEST,
        E::MissingSetting { .. } | E::InvalidKey { .. } | E::InvalidEndpoint { .. } | E::Sas(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        E::Io(_) => StatusCode::BAD_REQUEST,
        E::Azure(_) => StatusCode::BAD_GATEWAY,
    };
    eprintln!("blob-write: {e}");
    azure_wasi::Error::new(status, e.to_string())
}
