//! The handler entry points of both worlds and the mapping of errors to responses.

use crate::{Error, IntoResponse, Request, Response};
use http::StatusCode;
use std::error::Error as StdError;
use std::future::Future;

/// A boxed error, the usual error type of a handler.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Runs one CGI request in a `wasm32-wasip1` WAGI module: builds the [`Request`] from the
/// environment and stdin, runs `handler` to completion on the guest's executor, and writes its
/// response (or the response for its error) to stdout.
///
/// `#[handler]` (crate `azure-wasi`) calls this for you in a module and exports
/// wasi:http `incoming-handler` in a component, so a handler never names it. Errors become
/// statuses through [`IntoResponse`] (see [`error_response`]).
///
/// ```no_run
/// azure_wasi_handler::run(|req| async move {
///     let name = req.require_query("name")?.to_string();
///     Ok::<_, azure_wasi_handler::Error>(format!("hello {name}\n"))
/// })
/// ```
pub fn run<F, Fut>(handler: F)
where
    F: FnOnce(Request) -> Fut,
    Fut: Future,
    Fut::Output: IntoResponse,
{
    respond_cgi(|request| azure_wasi_runtime::block_on(handler(request)).into_response());
}

/// [`run`] for a handler that is a plain `fn`: no executor is involved, so a module whose
/// handler never awaits carries none (`#[handler]` on a non-`async fn` calls this).
///
/// ```no_run
/// azure_wasi_handler::run_sync(|req| format!("hello {}\n", req.query("name").unwrap_or("world")))
/// ```
pub fn run_sync<F, R>(handler: F)
where
    F: FnOnce(Request) -> R,
    R: IntoResponse,
{
    respond_cgi(|request| handler(request).into_response());
}

/// The CGI request/response cycle around `handle`.
fn respond_cgi(handle: impl FnOnce(Request) -> Response) {
    let response = match Request::from_env() {
        Ok(request) => handle(request),
        Err(err) => request_error_response(&err),
    };
    if let Err(err) = response.send() {
        eprintln!("azure-wasi-handler: could not write the response to stdout: {err}");
    }
}

/// Answers one wasi:http request in a `wasm32-wasip2` component: builds the [`Request`]
/// (its body streams from the host as the handler reads it), runs `handler` on the guest's
/// executor and streams the response back through `out`.
///
/// `#[handler]` (crate `azure-wasi`) exports wasi:http `incoming-handler` and calls this.
///
/// ```ignore
/// impl wasip2::exports::http::incoming_handler::Guest for MyHandler {
///     fn handle(request: IncomingRequest, out: ResponseOutparam) {
///         azure_wasi_handler::serve(request, out, |req| async move { format!("{} {}", req.method(), req.path()) })
///     }
/// }
/// ```
#[cfg(all(target_arch = "wasm32", target_env = "p2"))]
pub fn serve<F, Fut>(
    request: wasip2::http::types::IncomingRequest,
    out: wasip2::http::types::ResponseOutparam,
    handler: F,
) where
    F: FnOnce(Request) -> Fut,
    Fut: Future,
    Fut::Output: IntoResponse,
{
    respond_wasi_http(request, out, |request| {
        azure_wasi_runtime::block_on(handler(request)).into_response()
    });
}

/// [`serve`] for a handler that is a plain `fn` (no executor involved).
#[cfg(all(target_arch = "wasm32", target_env = "p2"))]
pub fn serve_sync<F, R>(
    request: wasip2::http::types::IncomingRequest,
    out: wasip2::http::types::ResponseOutparam,
    handler: F,
) where
    F: FnOnce(Request) -> R,
    R: IntoResponse,
{
    respond_wasi_http(request, out, |request| handler(request).into_response());
}

/// The wasi:http request/response cycle around `handle`.
#[cfg(all(target_arch = "wasm32", target_env = "p2"))]
fn respond_wasi_http(
    request: wasip2::http::types::IncomingRequest,
    out: wasip2::http::types::ResponseOutparam,
    handle: impl FnOnce(Request) -> Response,
) {
    let response = match crate::wasi_http::request(request) {
        Ok(request) => handle(request),
        Err(err) => request_error_response(&err),
    };
    crate::wasi_http::send(response, out);
}

/// The response for a request that could not be read (a bad method, an unreadable header
/// block): its own status and message, without walking an error chain.
fn request_error_response(err: &Error) -> Response {
    eprintln!("azure-wasi-handler: bad request: {err}");
    Response::text(format!("{err}\n")).with_status(err.status())
}

/// The response for an error, chosen by looking through its whole `source()` chain:
///
/// - a [`crate::Error`] answers with its own [`Error::status`] and message;
/// - [`azure_wasi_outbound::Error::DestinationNotAllowed`] answers 502 with the message that
///   names the `allowed_hosts` entry to add, and any other outbound failure 502 too;
/// - anything else answers 500 with a short body.
///
/// The full chain is written to stderr (the host's log).
///
/// ```
/// let err = azure_wasi_handler::Error::MissingQuery { name: "url".into() };
/// let resp = azure_wasi_handler::error_response(&err);
/// assert_eq!(resp.status(), 400);
/// ```
pub fn error_response(err: &(dyn StdError + 'static)) -> Response {
    log_chain(err);
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(own) = e.downcast_ref::<Error>() {
            return Response::text(format!("{own}\n")).with_status(own.status());
        }
        if let Some(http_err) = e.downcast_ref::<azure_wasi_outbound::Error>() {
            return Response::text(format!("{http_err}\n")).with_status(StatusCode::BAD_GATEWAY);
        }
        current = e.source();
    }
    Response::text(
        "Internal Server Error: the handler failed; details are in the module's log (stderr)\n",
    )
    .with_status(StatusCode::INTERNAL_SERVER_ERROR)
}

fn log_chain(err: &(dyn StdError + 'static)) {
    eprintln!("azure-wasi-handler: handler error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        eprintln!("azure-wasi-handler:   caused by: {cause}");
        source = cause.source();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failure")]
    struct Outer(#[source] azure_wasi_outbound::Error);

    fn body(r: Response) -> String {
        let mut out = Vec::new();
        r.write_cgi(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn denied_host_anywhere_in_chain_is_502_with_hint() {
        let inner = azure_wasi_outbound::Error::from_code(7, "GET", "http://127.0.0.1:9/x");
        let boxed: BoxError = Box::new(Outer(inner));
        let r = error_response(&*boxed);
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let text = body(r);
        assert!(text.contains("\"http://127.0.0.1:9\""), "{text}");
    }

    #[test]
    fn missing_query_is_400_naming_it() {
        let boxed: BoxError = Box::new(Error::MissingQuery { name: "url".into() });
        let text = body(error_response(&*boxed));
        assert!(text.starts_with("Status: 400\n"), "{text}");
        assert!(text.contains("`url`"), "{text}");
    }

    #[test]
    fn other_errors_are_500_with_short_body() {
        let boxed: BoxError = "database exploded with secret=123".into();
        let text = body(error_response(&*boxed));
        assert!(text.starts_with("Status: 500\n"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let other = azure_wasi_outbound::Error::from_code(11, "GET", "http://h/");
        assert_eq!(error_response(&other).status(), 502);
    }
}
