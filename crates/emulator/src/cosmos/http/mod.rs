//! The HTTP front end: hyper server, routing, request handling and response shaping.

pub(crate) mod handler;
mod respond;
mod route;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::cosmos::api_error::ApiError;
use handler::State;
use respond::{finish, Body, Reply};

/// Largest request body read at all (items are limited to 2 MB further down).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Serves one request: reads the body, then runs the (blocking) handler off the async threads.
pub(crate) async fn serve(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let too_big = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let err = if too_big {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    "Request size is too large; items are limited to 2 MB.",
                )
            } else {
                ApiError::bad_request("The request body could not be read completely.")
            };
            return Ok(finish(Reply::from(err)));
        }
    };
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let reply = tokio::task::spawn_blocking(move || handler::handle(&state, &parts, &bytes)).await;
    let reply = match reply {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cosmos emulator request handler failed");
            Reply::from(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "The emulator failed while handling this request; see its log.",
            ))
        }
    };
    tracing::debug!(%method, %path, status = reply.status.as_u16(), "cosmos request");
    Ok(finish(reply))
}
