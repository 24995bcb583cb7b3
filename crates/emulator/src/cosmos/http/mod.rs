//! The HTTP front end: hyper server, routing, request handling and response shaping.

pub(crate) mod handler;
mod respond;
mod route;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::cosmos::api_error::ApiError;
use crate::server::{read_body, BodyError};
use handler::State;
use respond::{finish, Body, Reply};

/// Largest request body read at all (items are limited to 2 MB further down).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Serves one request: authenticates it and picks its route from the head, refuses a declared
/// body over the cap, then reads the body (within the deadline) and runs the (blocking) handler
/// off the async threads.
pub(crate) async fn serve(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let target = route::parse(parts.uri.path());
    if let Err(e) = handler::authenticate(&state, &parts, &target) {
        return Ok(finish(Reply::from(e)));
    }
    let bytes = if handler::takes_body(&parts, &target) {
        let deadline = state.limits.body_read_timeout();
        match read_body(&parts.headers, body, MAX_BODY, deadline).await {
            Ok(b) => b,
            Err(e) => return Ok(finish(Reply::from(body_error(e)))),
        }
    } else {
        Bytes::new()
    };
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let reply =
        tokio::task::spawn_blocking(move || handler::handle(&state, &parts, &target, &bytes)).await;
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

fn body_error(e: BodyError) -> ApiError {
    match e {
        BodyError::TooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Request size is too large; items are limited to 2 MB.",
        ),
        BodyError::Timeout(d) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeout",
            format!(
                "The request body did not arrive within {} ms (cosmos settings limits.body_read_timeout_ms).",
                d.as_millis()
            ),
        ),
        BodyError::Io(_) => ApiError::bad_request("The request body could not be read completely."),
    }
}

/// The 503 for connections past `limits.max_connections`.
pub(crate) fn server_busy() -> crate::server::Resp {
    let mut resp = finish(Reply::from(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        "Too many open connections (limits.max_connections of the Cosmos DB emulator); retry shortly.",
    )));
    resp.headers_mut()
        .insert("connection", http::HeaderValue::from_static("close"));
    resp
}
