//! `GET /blob?container=<name>&blob=<name>`: streams a blob back with its content type.
//!
//! The body is copied chunk by chunk from the storage response to stdout. Settings come from
//! the environment: `STORAGE_ACCOUNT`, `STORAGE_MASTER_KEY`, optional `STORAGE_ENDPOINT`.

use azure_wasi::Response;
use azure_wasi::{Method, StatusCode};

#[azure_wasi::handler]
async fn handle(req: azure_wasi::Request) -> azure_wasi::Result<Response> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(azure_wasi::Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET /blob?container=<name>&blob=<name>",
        ));
    }
    let container = req.require_query("container")?.to_string();
    let blob = req.require_query("blob")?.to_string();
    read(container, blob).await
}

async fn read(container: String, blob: String) -> azure_wasi::Result<Response> {
    let settings = azure_wasi::storage::StorageSettings::from_env().map_err(to_wagi)?;
    let client = settings
        .blob_client(&container, &blob, azure_wasi::azure::client_options())
        .map_err(to_wagi)?;
    let download = match azure_wasi::storage::open_download(&client).await {
        Ok(d) => d,
        Err(e) if e.http_status() == Some(404) => {
            return Err(azure_wasi::Error::new(
                StatusCode::NOT_FOUND,
                format!(
                    "there is no blob {blob:?} in container {container:?}: write it first (POST /blob?container=..&blob=..)"
                ),
            ))
        }
        Err(e) => return Err(to_wagi(e)),
    };
    let content_type = download
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_string());
    let etag = download.etag.clone();
    let mut response = Response::stream(
        azure_wasi::azure::BlockingReader::new(download.into_body()),
        &content_type,
    );
    if let Some(etag) = etag {
        response = response.with_header("etag", etag);
    }
    Ok(response)
}

/// Maps a storage error to a status and a message that says what to do.
fn to_wagi(e: azure_wasi::storage::Error) -> azure_wasi::Error {
    use azure_wasi::storage::Error as E;
    let status = match &e {
        E::InvalidName { .. } => StatusCode::BAD_REQUEST,
        E::MissingSetting { .. } | E::InvalidKey { .. } | E::InvalidEndpoint { .. } | E::Sas(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        E::Io(_) | E::Azure(_) => StatusCode::BAD_GATEWAY,
    };
    eprintln!("blob-read: {e}");
    azure_wasi::Error::new(status, e.to_string())
}
