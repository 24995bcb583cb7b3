//! How a run ended, and the response each ending becomes: one place for both worlds.

use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::parse_cgi_output;

/// How a run ended.
pub(crate) enum Outcome {
    /// A WAGI module finished (returned or `proc_exit(0)`); this is its CGI output.
    Finished(Bytes),
    /// A component answered with this response (body complete).
    Responded(Response<Bytes>),
    /// The handler's answer is unusable (a 502); the reason is safe to show the client.
    Invalid(String),
    /// It exited with a non-zero code.
    Exited(i32),
    /// It trapped.
    Trapped(String),
    /// It ran past the wall-clock limit.
    TimedOut,
    /// No instance slot was free.
    Busy,
    /// It could not start.
    Failed(String),
}

/// Timings of one run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timings {
    pub(crate) instantiate: Duration,
    pub(crate) run: Duration,
}

impl Timings {
    /// The `server-timing` header value.
    pub(crate) fn header(&self) -> String {
        format!(
            "instantiate;dur={:.3}, run;dur={:.3}",
            self.instantiate.as_secs_f64() * 1e3,
            self.run.as_secs_f64() * 1e3
        )
    }
}

/// The response for `outcome` of a module on `route` with wall-clock limit `timeout`; every
/// failure is logged once here.
pub(crate) fn response_for(outcome: Outcome, route: &str, timeout: Duration) -> Response<Bytes> {
    match outcome {
        Outcome::Finished(out) => match parse_cgi_output(out) {
            Ok(r) => r,
            Err(reason) => {
                tracing::warn!(route = %route, "invalid CGI output: {reason}");
                text(StatusCode::BAD_GATEWAY, &reason)
            }
        },
        Outcome::Responded(response) => response,
        Outcome::Invalid(reason) => {
            tracing::warn!(route = %route, "invalid response: {reason}");
            text(StatusCode::BAD_GATEWAY, &reason)
        }
        Outcome::Exited(code) => {
            tracing::warn!(route = %route, "module exited with code {code}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the handler exited with code {code}; see the server log"),
            )
        }
        Outcome::Trapped(detail) => {
            tracing::warn!(route = %route, "module trapped: {detail}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the handler crashed (a WebAssembly trap); see the server log",
            )
        }
        Outcome::TimedOut => {
            tracing::warn!(route = %route, "module exceeded the time limit of {timeout:?}");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the handler did not finish within {timeout:?}; it was stopped"),
            )
        }
        Outcome::Busy => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many requests are running; try again shortly",
        ),
        Outcome::Failed(detail) => {
            tracing::warn!(route = %route, "module failed to start: {detail}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the handler could not start; see the server log",
            )
        }
    }
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(format!("{body}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The 404 for a path no module is routed at.
pub(crate) fn no_route(path: &str) -> Response<Bytes> {
    text(
        StatusCode::NOT_FOUND,
        &format!("no route matches {path}; add a [[module]] with this route"),
    )
}
