//! The handler entry point and the mapping of errors to responses.

use crate::{Error, IntoResponse, Request, Response};
use http::StatusCode;
use std::error::Error as StdError;

/// A boxed error, the usual error type of a handler.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Runs one CGI request: builds the [`Request`] from the environment and stdin, calls
/// `handler`, and writes its response (or the response for its error) to stdout.
///
/// Errors become statuses (see [`error_response`]): a missing query parameter is a 400 naming
/// it, a destination denied by `allowed_hosts` a 502 naming the entry to add, anything else a
/// 500 with a short body; the full error chain goes to stderr.
///
/// ```no_run
/// wagi::run(|req| -> Result<_, wagi::BoxError> {
///     let name = req.require_query("name")?;
///     Ok(format!("hello {name}\n"))
/// })
/// ```
pub fn run<F, R, E>(handler: F)
where
    F: FnOnce(Request) -> Result<R, E>,
    R: IntoResponse,
    E: Into<BoxError>,
{
    let response = match Request::from_env() {
        Ok(request) => match handler(request) {
            Ok(ok) => ok.into_response(),
            Err(err) => {
                let err: BoxError = err.into();
                error_response(&*err)
            }
        },
        Err(err) => error_response(&err),
    };
    if let Err(err) = response.send() {
        eprintln!("wagi: could not write the response to stdout: {err}");
    }
}

/// The response for an error, chosen by looking through its whole `source()` chain:
///
/// - a [`crate::Error`] answers with its own [`Error::status`] and message;
/// - [`wasi_experimental_http::Error::DestinationNotAllowed`] answers 502 with the message that
///   names the `allowed_hosts` entry to add;
/// - anything else answers 500 with a short body.
///
/// The full chain is written to stderr (the host's log).
///
/// ```
/// let err = wagi::Error::MissingQuery { name: "url".into() };
/// let resp = wagi::error_response(&err);
/// assert_eq!(resp.status(), 400);
/// ```
pub fn error_response(err: &(dyn StdError + 'static)) -> Response {
    log_chain(err);
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(own) = e.downcast_ref::<Error>() {
            return Response::text(format!("{own}\n")).with_status(own.status());
        }
        if let Some(http_err) = e.downcast_ref::<wasi_experimental_http::Error>() {
            if let wasi_experimental_http::Error::DestinationNotAllowed { .. } = http_err {
                return Response::text(format!("{http_err}\n"))
                    .with_status(StatusCode::BAD_GATEWAY);
            }
        }
        current = e.source();
    }
    Response::text(
        "Internal Server Error: the handler failed; details are in the module's log (stderr)\n",
    )
    .with_status(StatusCode::INTERNAL_SERVER_ERROR)
}

fn log_chain(err: &(dyn StdError + 'static)) {
    eprintln!("wagi: handler error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        eprintln!("wagi:   caused by: {cause}");
        source = cause.source();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer failure")]
    struct Outer(#[source] wasi_experimental_http::Error);

    fn body(r: Response) -> String {
        let mut out = Vec::new();
        r.write_cgi(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn denied_host_anywhere_in_chain_is_502_with_hint() {
        let inner = wasi_experimental_http::Error::from_code(7, "GET", "http://127.0.0.1:9/x");
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
        assert!(text.starts_with("Status: 400 Bad Request\n"), "{text}");
        assert!(text.contains("`url`"), "{text}");
    }

    #[test]
    fn other_errors_are_500_with_short_body() {
        let boxed: BoxError = "database exploded with secret=123".into();
        let text = body(error_response(&*boxed));
        assert!(
            text.starts_with("Status: 500 Internal Server Error\n"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
        let other = wasi_experimental_http::Error::from_code(11, "GET", "http://h/");
        assert_eq!(error_response(&other).status(), 500);
    }
}
