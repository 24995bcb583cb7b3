//! A download as a handler's response (feature `handler`).

use crate::BlobDownload;
use azure_wasi_handler::{IntoResponse, Response};

/// A 200 that streams the blob, with its `Content-Type` (`application/octet-stream` when it
/// has none) and `ETag`.
///
/// ```no_run
/// # async fn f(blob: azure_wasi_storage::BlobClient) -> azure_wasi_storage::Result<()> {
/// use azure_wasi_handler::IntoResponse;
/// let response = blob.download(None).await?.into_response();
/// assert_eq!(response.status(), 200);
/// # Ok(()) }
/// ```
impl IntoResponse for BlobDownload {
    fn into_response(self) -> Response {
        let content_type = self
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".to_string());
        let etag = self.etag.clone();
        let response = Response::stream(self.into_reader(), &content_type);
        match etag {
            Some(etag) => response.with_header("etag", etag),
            None => response,
        }
    }
}
