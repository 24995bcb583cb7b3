//! The crate's error type; every variant knows the HTTP status it should become.

use http::StatusCode;

/// Errors raised while reading a CGI request or building a response.
///
/// [`crate::run`] turns each into a response with [`Error::status`] and a short text body.
///
/// ```
/// let e = azure_wasi_handler::Error::MissingQuery { name: "url".into() };
/// assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
/// assert!(e.to_string().contains("`url`"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required query parameter is absent.
    #[error("missing query parameter `{name}`: add `?{name}=...` to the request URL")]
    MissingQuery {
        /// Parameter name.
        name: String,
    },
    /// A query parameter could not be parsed into the requested type.
    #[error("query parameter `{name}` is invalid: {reason}")]
    InvalidQuery {
        /// Parameter name.
        name: String,
        /// Why parsing failed.
        reason: String,
    },
    /// The request body is not the JSON the handler expects.
    #[error("request body is not valid JSON for this endpoint: {reason}; send a JSON body with `Content-Type: application/json`")]
    InvalidJson {
        /// Parser message (line/column and what was expected).
        reason: String,
    },
    /// The request body has a content type this endpoint cannot decode.
    #[error("unsupported content type `{got}`: send the body as `{expected}`")]
    UnsupportedMediaType {
        /// What the endpoint accepts.
        expected: &'static str,
        /// What the client sent.
        got: String,
    },
    /// The request body is larger than the limit.
    #[error("request body is larger than {limit} bytes: send a smaller body")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The host passed a method that is not a valid HTTP method token.
    #[error("REQUEST_METHOD `{method}` is not a valid HTTP method")]
    InvalidMethod {
        /// The method text.
        method: String,
    },
    /// Reading the request body from stdin failed.
    #[error("could not read the request body from stdin: {0}; the host closed the body early")]
    BodyRead(#[source] std::io::Error),
    /// Serialising a JSON response failed.
    #[cfg(feature = "json")]
    #[error("could not serialise the response as JSON: {0}")]
    JsonResponse(#[source] serde_json::Error),
    /// A response header name or value is invalid.
    #[error("response header `{name}` is invalid: header names must be tokens and values must not contain line breaks")]
    InvalidHeader {
        /// The offending header name (values are never echoed: they may be secret).
        name: String,
    },
    /// A handler-chosen status with a message for the client.
    #[error("{message}")]
    Status {
        /// The HTTP status to answer with.
        status: StatusCode,
        /// Text sent to the client.
        message: String,
    },
}

impl Error {
    /// A handler-chosen status and message, e.g. a 404.
    ///
    /// ```
    /// let e = azure_wasi_handler::Error::with_status(http::StatusCode::NOT_FOUND, "no such blob");
    /// assert_eq!(e.status(), 404);
    /// assert_eq!(e.to_string(), "no such blob");
    /// ```
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        Error::Status {
            status,
            message: message.into(),
        }
    }

    /// The HTTP status this error should become.
    ///
    /// ```
    /// let e = azure_wasi_handler::Error::UnsupportedMediaType { expected: "application/json", got: "text/xml".into() };
    /// assert_eq!(e.status(), 415);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Error::MissingQuery { .. }
            | Error::InvalidQuery { .. }
            | Error::InvalidJson { .. }
            | Error::InvalidMethod { .. } => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::BodyRead(_) | Error::InvalidHeader { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            #[cfg(feature = "json")]
            Error::JsonResponse(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Status { status, .. } => *status,
        }
    }
}
