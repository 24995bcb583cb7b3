//! The one error type of a handler and the one status policy for every service.

use crate::{IntoResponse, Response, StatusCode};
use std::fmt;

/// `Result` with [`Error`] as the default error: the return type of a handler.
///
/// ```
/// fn parse(n: &str) -> azure_wasi::Result<u32> {
///     n.parse().map_err(|_| azure_wasi::Error::bad_request("`n` must be a number"))
/// }
/// assert_eq!(parse("x").unwrap_err().status(), 400);
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A handler's error: a status, a message for the client, and the cause for the log.
///
/// Every error of this crate family converts into it with `?`, by one policy:
///
/// | cause | status |
/// |---|---|
/// | bad input from the request: missing or invalid parameter, invalid name or id, bad JSON | 400 (415, 413 where they fit) |
/// | the service answered 404, 409 or 412 | the same |
/// | the service is throttling (429) or unavailable (503) | 503, with the service's `Retry-After` |
/// | the destination is not in `allowed_hosts`, the service is unreachable, or it failed otherwise | 502, naming what to fix |
/// | a setting is missing or invalid (a key, an endpoint) | 500, naming the variable |
///
/// The table is defined once, in `azure_wasi_core::status_policy`; each service crate's
/// `Error::status()` implements it and the `From` impls here keep that status. The message
/// never holds a key, a signature or a URL's query string (SAS); the full cause goes to the
/// module's log (stderr) when the error becomes a response.
///
/// ```
/// use azure_wasi::{Error, IntoResponse, StatusCode};
/// let err = Error::new(StatusCode::NOT_FOUND, "no such blob");
/// let response = err.into_response();
/// assert_eq!(response.status(), 404);
/// ```
pub struct Error {
    status: StatusCode,
    message: String,
    retry_after: Option<String>,
    source: Option<crate::BoxError>,
}

impl Error {
    /// An error with a status and a message for the client.
    ///
    /// ```
    /// let e = azure_wasi::Error::new(azure_wasi::StatusCode::CONFLICT, "already there");
    /// assert_eq!(e.to_string(), "already there");
    /// ```
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// A 400 with `message`.
    ///
    /// ```
    /// assert_eq!(azure_wasi::Error::bad_request("send a body").status(), 400);
    /// ```
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 405 saying which methods the handler accepts.
    ///
    /// ```
    /// let e = azure_wasi::Error::method_not_allowed(&[azure_wasi::Method::POST]);
    /// assert_eq!(e.status(), 405);
    /// assert!(e.to_string().contains("POST"));
    /// ```
    pub fn method_not_allowed(allowed: &[crate::Method]) -> Self {
        let list: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("this endpoint accepts {}", list.join(", ")),
        )
    }

    /// The status the error becomes.
    ///
    /// ```
    /// assert_eq!(azure_wasi::Error::bad_request("x").status(), azure_wasi::StatusCode::BAD_REQUEST);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Retry-After` value the service gave, if any.
    ///
    /// ```
    /// assert_eq!(azure_wasi::Error::bad_request("x").retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<&str> {
        self.retry_after.as_deref()
    }

    /// Keeps `source` as the cause, for the log.
    ///
    /// ```
    /// let io = std::io::Error::other("disk on fire");
    /// let e = azure_wasi::Error::bad_request("could not read").with_source(io);
    /// assert!(std::error::Error::source(&e).is_some());
    /// ```
    pub fn with_source(mut self, source: impl Into<crate::BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    #[cfg(feature = "azure")]
    fn with_retry_after(mut self, retry_after: Option<String>) -> Self {
        self.retry_after = retry_after;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        eprintln!("azure-wasi: {} {}", self.status.as_u16(), self.message);
        let mut cause = std::error::Error::source(&self);
        while let Some(c) = cause {
            eprintln!("azure-wasi:   caused by: {c}");
            cause = c.source();
        }
        let response = Response::text(format!("{}\n", self.message)).with_status(self.status);
        match self.retry_after {
            Some(after) => response.with_header("retry-after", after),
            None => response,
        }
    }
}

impl From<azure_wasi_handler::Error> for Error {
    fn from(e: azure_wasi_handler::Error) -> Self {
        Self::new(e.status(), e.to_string()).with_source(e)
    }
}

impl From<azure_wasi_outbound::Error> for Error {
    fn from(e: azure_wasi_outbound::Error) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, e.to_string()).with_source(e)
    }
}

impl From<http::Error> for Error {
    fn from(e: http::Error) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the handler built an invalid HTTP message: {e}"),
        )
        .with_source(e)
    }
}

impl From<http::status::InvalidStatusCode> for Error {
    fn from(e: http::status::InvalidStatusCode) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            format!("the upstream answered with {e}"),
        )
        .with_source(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("the request body could not be read: {e}"),
        )
        .with_source(e)
    }
}

impl From<crate::BoxError> for Error {
    fn from(e: crate::BoxError) -> Self {
        let e = match e.downcast::<Error>() {
            Ok(own) => return *own,
            Err(other) => other,
        };
        // Keep the status of a known error anywhere in the chain.
        let response = azure_wasi_handler::error_response(&*e);
        let status = response.status();
        let message = match status {
            StatusCode::INTERNAL_SERVER_ERROR => {
                "the handler failed; details are in the module's log".to_string()
            }
            _ => e.to_string(),
        };
        Self {
            status,
            message,
            retry_after: None,
            source: Some(e),
        }
    }
}

/// A service crate's error: its own status (by `azure_wasi_core::status_policy`), its own
/// message (already redacted), and the service's `Retry-After`.
#[cfg(feature = "azure")]
fn from_service_error(
    status: StatusCode,
    retry_after: Option<String>,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::new(status, e.to_string())
        .with_retry_after(retry_after)
        .with_source(e)
}

/// Any other `azure_core` client: the same policy through `azure_wasi_core::status_policy`.
#[cfg(feature = "azure")]
impl From<azure_core::Error> for Error {
    fn from(e: azure_core::Error) -> Self {
        use azure_wasi_core::status_policy::{status, transport_message, Failure, ServiceAnswer};
        match ServiceAnswer::from_error(&e) {
            Some(a) => {
                let code = a.code.map(|c| format!(" ({c})")).unwrap_or_default();
                Error::new(
                    status(Failure::Service(a.status)),
                    format!(
                        "the Azure service answered {}{code}: {}",
                        a.status, a.message
                    ),
                )
                .with_retry_after(a.retry_after)
                .with_source(e)
            }
            None => Error::new(status(Failure::Unreachable), transport_message(&e)).with_source(e),
        }
    }
}

#[cfg(feature = "storage")]
impl From<azure_wasi_storage::Error> for Error {
    fn from(e: azure_wasi_storage::Error) -> Self {
        from_service_error(e.status(), e.retry_after().map(str::to_string), e)
    }
}

#[cfg(feature = "cosmos")]
impl From<azure_wasi_cosmos::Error> for Error {
    fn from(e: azure_wasi_cosmos::Error) -> Self {
        from_service_error(e.status(), e.retry_after().map(str::to_string), e)
    }
}

#[cfg(feature = "eventgrid")]
impl From<azure_wasi_eventgrid::Error> for Error {
    fn from(e: azure_wasi_eventgrid::Error) -> Self {
        from_service_error(e.status(), e.retry_after().map(str::to_string), e)
    }
}
