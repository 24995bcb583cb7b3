//! An item operation's answer as a handler's response (feature `handler`).

use crate::ItemResponse;
use azure_wasi_handler::{IntoResponse, Response};
use http::StatusCode;

/// The item as `application/json` with Cosmos's status (200 read or replaced, 201 created,
/// 204 deleted, with no body) and the item's `ETag`.
///
/// ```no_run
/// # async fn f(notes: azure_wasi_cosmos::ContainerClient) -> azure_wasi_cosmos::Result<()> {
/// use azure_wasi_handler::IntoResponse;
/// let response = notes.read_item("ann", "1", None).await?.into_response();
/// assert_eq!(response.status(), 200);
/// # Ok(()) }
/// ```
impl IntoResponse for ItemResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let response = if self.body.is_empty() {
            Response::new(status)
        } else {
            Response::bytes(self.body, "application/json").with_status(status)
        };
        match self.etag {
            Some(etag) => response.with_header("etag", etag),
            None => response,
        }
    }
}
