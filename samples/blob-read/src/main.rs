//! `GET /blob?container=<name>&blob=<name>`: streams a blob back with its content type.
//!
//! The body is copied chunk by chunk from the storage response to stdout. Settings come from
//! the environment: `STORAGE_ACCOUNT`, `STORAGE_MASTER_KEY`, optional `STORAGE_ENDPOINT`.

use http::{Method, StatusCode};
use wagi::{BoxError, Response};

fn main() {
    wagi::run(handle)
}

fn handle(req: wagi::Request) -> Result<Response, BoxError> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(wagi::Error::with_status(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET /blob?container=<name>&blob=<name>",
        )
        .into());
    }
    let container = req.require_query("container")?.to_string();
    let blob = req.require_query("blob")?.to_string();
    azure_core_wasi::block_on(read(container, blob))
}

async fn read(container: String, blob: String) -> Result<Response, BoxError> {
    let settings = azure_storage_wasi::StorageSettings::from_env().map_err(to_wagi)?;
    let client = settings
        .blob_client(&container, &blob, azure_core_wasi::client_options())
        .map_err(to_wagi)?;
    let download = match azure_storage_wasi::open_download(&client).await {
        Ok(d) => d,
        Err(e) if e.http_status() == Some(404) => {
            return Err(wagi::Error::with_status(
                StatusCode::NOT_FOUND,
                format!(
                    "there is no blob {blob:?} in container {container:?}: write it first (POST /blob?container=..&blob=..)"
                ),
            )
            .into())
        }
        Err(e) => return Err(to_wagi(e).into()),
    };
    let content_type = download
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_string());
    let etag = download.etag.clone();
    let mut response = Response::stream(
        azure_core_wasi::BlockingReader::new(download.into_body()),
        &content_type,
    );
    if let Some(etag) = etag {
        response = response.with_header("etag", etag);
    }
    Ok(response)
}

/// Maps a storage error to a status and a message that says what to do.
fn to_wagi(e: azure_storage_wasi::Error) -> wagi::Error {
    use azure_storage_wasi::Error as E;
    let status = match &e {
        E::InvalidName { .. } => StatusCode::BAD_REQUEST,
        E::MissingSetting { .. } | E::InvalidKey { .. } | E::InvalidEndpoint { .. } | E::Sas(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        E::Io(_) | E::Azure(_) => StatusCode::BAD_GATEWAY,
    };
    eprintln!("blob-read: {e}");
    wagi::Error::with_status(status, e.to_string())
}
