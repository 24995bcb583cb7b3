//! `POST /blob?container=<name>&blob=<name>`: stores the request body as a block blob (the
//! container is created if missing) and answers with JSON describing what it wrote.
//!
//! The body is streamed in 4 MiB blocks (Put Block + Put Block List), so a large upload never
//! sits in memory; an empty body is a 400. Every `?` answers by the status policy of
//! `azure_wasi::Error`. Settings come from the environment: `STORAGE_ACCOUNT`,
//! `STORAGE_MASTER_KEY`, optional `STORAGE_ENDPOINT`.

use azure_wasi::{storage::Storage, Error, Json, Method, Request, Result, StatusCode};
use serde_json::{json, Value};

#[azure_wasi::handler]
async fn handle(req: Request) -> Result<(StatusCode, Json<Value>)> {
    if req.method() != Method::POST && req.method() != Method::PUT {
        return Err(Error::method_not_allowed(&[Method::POST, Method::PUT]));
    }
    let container = req.require_query("container")?.to_string();
    let name = req.require_query("blob")?.to_string();
    let content_type = req.content_type().map(str::to_string);

    let storage = Storage::from_env()?;
    storage
        .container(&container)?
        .create_if_not_exists(None)
        .await?;
    let blob = storage.blob(&container, &name)?;
    let written = blob
        .upload(req.into_body_reader(), content_type.as_deref(), None)
        .await?;

    Ok((
        StatusCode::CREATED,
        Json(json!({
            "container": container,
            "blob": name,
            "bytes": written.bytes,
            "blocks": written.blocks,
            "etag": written.etag,
            "contentType": written.content_type,
            "url": blob.url().as_str(),
        })),
    ))
}
