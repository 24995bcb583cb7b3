//! `GET /blob?container=<name>&blob=<name>`: streams a blob back with its content type and ETag.
//!
//! The body is copied chunk by chunk from the storage response to the client. A missing blob is
//! a 404 that says to write it first. Settings come from the environment: `STORAGE_ACCOUNT`,
//! `STORAGE_MASTER_KEY`, optional `STORAGE_ENDPOINT`.

use azure_wasi::storage::{BlobDownload, Storage};
use azure_wasi::{Error, Method, Request, Result};

#[azure_wasi::handler]
async fn handle(req: Request) -> Result<BlobDownload> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(Error::method_not_allowed(&[Method::GET, Method::HEAD]));
    }
    let container = req.require_query("container")?;
    let name = req.require_query("blob")?;
    let blob = Storage::from_env()?.blob(container, name)?;
    Ok(blob.download(None).await?)
}
