//! `WasiHttpClient`: `azure_core`'s transport over the host's outbound HTTP, in both worlds.

use crate::body::HostBodyStream;
use async_trait::async_trait;
use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Request, StatusCode};
use futures::AsyncReadExt;

/// An [`azure_core::http::HttpClient`] that sends every request through the host: the
/// `wasi_experimental_http` functions in a `wasm32-wasip1` module, wasi:http
/// `outgoing-handler` in a `wasm32-wasip2` component.
///
/// Method, URL, every header and the body go out; status, every header (repeated values joined
/// with `", "`, since `azure_core::http::headers::Headers` holds one value per name) and a
/// streamed body come back. On `wasm32-wasip2` a `SeekableStream` request body is written to
/// the host chunk by chunk as it is read (never into one buffer), and the connect / first-byte
/// / between-bytes timeouts of [`WasiHttpClient::with_options`] travel with each request.
///
/// Host errors become `azure_core::Error`s whose `source()` is the
/// [`azure_wasi_outbound::Error`]: transient failures (connection, time-out) are
/// `ErrorKind::Io` so the retry policy retries them; a denied destination and other
/// permanent errors are `ErrorKind::Other` and fail at once.
///
/// ```
/// use std::sync::Arc;
/// let transport = azure_core::http::Transport::new(Arc::new(azure_wasi_core::WasiHttpClient::new()));
/// ```
#[derive(Debug, Clone, Default)]
pub struct WasiHttpClient {
    options: azure_wasi_outbound::Options,
}

/// The timeouts [`WasiHttpClient::new`] asks the host for: 10 s to connect, 60 s to the first
/// byte, 60 s between body chunks. The host may lower them.
pub const DEFAULT_OPTIONS: azure_wasi_outbound::Options = azure_wasi_outbound::Options {
    connect_timeout: Some(std::time::Duration::from_secs(10)),
    first_byte_timeout: Some(std::time::Duration::from_secs(60)),
    between_bytes_timeout: Some(std::time::Duration::from_secs(60)),
};

impl WasiHttpClient {
    /// A client with [`DEFAULT_OPTIONS`]. Also installs the WASI async runtime ([`crate::init`]).
    ///
    /// ```
    /// let client = azure_wasi_core::WasiHttpClient::new();
    /// assert_eq!(client.options(), &azure_wasi_core::DEFAULT_OPTIONS);
    /// ```
    pub fn new() -> Self {
        Self::with_options(DEFAULT_OPTIONS)
    }

    /// A client whose requests ask the host for `options`' timeouts (`wasm32-wasip2`; the
    /// `wasi_experimental_http` ABI has no way to pass them, so there the host's apply).
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = azure_wasi_core::WasiHttpClient::with_options(
    ///     azure_wasi_outbound::Options::default().with_first_byte_timeout(Duration::from_secs(5)),
    /// );
    /// assert_eq!(client.options().first_byte_timeout, Some(Duration::from_secs(5)));
    /// ```
    pub fn with_options(options: azure_wasi_outbound::Options) -> Self {
        let _ = crate::init();
        Self { options }
    }

    /// The timeouts sent with each request.
    ///
    /// ```
    /// assert!(azure_wasi_core::WasiHttpClient::new().options().connect_timeout.is_some());
    /// ```
    pub fn options(&self) -> &azure_wasi_outbound::Options {
        &self.options
    }
}

#[async_trait]
impl HttpClient for WasiHttpClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method =
            http::Method::from_bytes(request.method().as_ref().as_bytes()).map_err(|_| {
                azure_core::Error::with_message(
                    ErrorKind::DataConversion,
                    format!("HTTP method `{}` is not valid", request.method()),
                )
            })?;
        let headers = to_header_map(request.headers())?;
        let url = request.url().as_str();
        let response = match request.body() {
            Body::Bytes(bytes) => {
                azure_wasi_outbound::send_with(&method, url, &headers, bytes, &self.options)
                    .map_err(to_azure_error)?
            }
            Body::SeekableStream(stream) => {
                let mut headers = headers;
                if let (Some(len), false) = (
                    stream.len(),
                    headers.contains_key(http::header::CONTENT_LENGTH),
                ) {
                    // Announce the length: wasi:http would otherwise send the body chunked.
                    headers.insert(http::header::CONTENT_LENGTH, len.into());
                }
                let mut upload = azure_wasi_outbound::start(&method, url, &headers, &self.options)
                    .map_err(to_azure_error)?;
                let mut stream = stream.clone();
                stream.reset().await?;
                let mut chunk = vec![0u8; STREAM_CHUNK];
                loop {
                    let n = stream.read(&mut chunk).await.map_err(|e| {
                        azure_core::Error::with_error(
                            ErrorKind::Io,
                            e,
                            "could not read the request body stream",
                        )
                    })?;
                    if n == 0 {
                        break;
                    }
                    upload.send_data(&chunk[..n]).map_err(to_azure_error)?;
                }
                upload.finish().map_err(to_azure_error)?
            }
        };
        let (status, headers, body) = response.into_parts();
        Ok(AsyncRawResponse::new(
            StatusCode::from(status.as_u16()),
            from_header_map(&headers),
            Box::pin(HostBodyStream::new(body)),
        ))
    }
}

/// How much of a streamed request body is read and handed to the host at a time.
const STREAM_CHUNK: usize = 64 * 1024;

/// `azure_core` headers to an [`http::HeaderMap`]. Only the name of an invalid header is
/// reported (values may be secrets such as `Authorization`).
pub(crate) fn to_header_map(headers: &Headers) -> azure_core::Result<http::HeaderMap> {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers.iter() {
        let invalid = || {
            azure_core::Error::with_message(
                ErrorKind::DataConversion,
                format!(
                    "request header `{}` cannot be sent: names must be tokens and values must not contain line breaks",
                    name.as_str()
                ),
            )
        };
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes()).map_err(|_| invalid())?;
        let value = http::HeaderValue::from_str(value.as_str()).map_err(|_| invalid())?;
        map.append(name, value);
    }
    Ok(map)
}

/// An [`http::HeaderMap`] to `azure_core` headers; repeated values are joined with `", "`.
pub(crate) fn from_header_map(map: &http::HeaderMap) -> Headers {
    let mut headers = Headers::new();
    for name in map.keys() {
        let joined = map
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(name.as_str().to_string(), joined);
    }
    headers
}

/// Wraps a binding error; transient failures (in either world: the one rule is
/// [`azure_wasi_outbound::Error::is_transient`]) get `ErrorKind::Io`, which `azure_core`
/// retries; everything else `ErrorKind::Other` (not retried).
pub(crate) fn to_azure_error(err: azure_wasi_outbound::Error) -> azure_core::Error {
    let kind = if err.is_transient() {
        ErrorKind::Io
    } else {
        ErrorKind::Other
    };
    azure_core::Error::new(kind, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::headers::HeaderName;

    #[test]
    fn headers_round_trip_and_repeats_are_joined() {
        let mut h = Headers::new();
        h.insert("x-ms-version", "2025-01-05");
        h.insert("content-type", "application/json");
        let map = to_header_map(&h).unwrap();
        assert_eq!(map["x-ms-version"], "2025-01-05");
        assert_eq!(map["content-type"], "application/json");

        let mut resp = http::HeaderMap::new();
        resp.append("x-a", http::HeaderValue::from_static("1"));
        resp.append("x-a", http::HeaderValue::from_static("2"));
        let back = from_header_map(&resp);
        assert_eq!(
            back.get_optional_str(&HeaderName::from_static("x-a")),
            Some("1, 2")
        );
    }

    #[test]
    fn invalid_header_names_the_header_but_not_the_value() {
        let mut h = Headers::new();
        h.insert("authorization", "SharedKey a:b\nc".to_string());
        let msg = to_header_map(&h).unwrap_err().to_string();
        assert!(
            msg.contains("authorization") && !msg.contains("SharedKey"),
            "{msg}"
        );
    }

    #[test]
    fn transient_errors_are_retriable_and_denials_are_not() {
        let denied = to_azure_error(azure_wasi_outbound::Error::from_code(
            7,
            "GET",
            "http://h:1/",
        ));
        assert_eq!(*denied.kind(), ErrorKind::Other);
        let inner = std::error::Error::source(&denied)
            .and_then(|s| s.downcast_ref::<azure_wasi_outbound::Error>());
        assert!(matches!(
            inner,
            Some(azure_wasi_outbound::Error::DestinationNotAllowed { .. })
        ));
        let failed = to_azure_error(azure_wasi_outbound::Error::from_code(
            11,
            "GET",
            "http://h/",
        ));
        assert_eq!(*failed.kind(), ErrorKind::Io);
        // The wasi:http world's transport errors follow the same rule.
        let transport = |transient| {
            to_azure_error(azure_wasi_outbound::Error::Transport {
                url: "http://h/".into(),
                reason: "ConnectionTerminated".into(),
                transient,
            })
        };
        assert_eq!(*transport(true).kind(), ErrorKind::Io);
        assert_eq!(*transport(false).kind(), ErrorKind::Other);
    }

    #[test]
    fn on_the_host_target_requests_fail_with_unsupported() {
        let client = WasiHttpClient::new();
        let req = Request::new(
            "http://127.0.0.1:1/".parse().unwrap(),
            azure_core::http::Method::Get,
        );
        let err = crate::block_on(client.execute_request(&req)).unwrap_err();
        assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
    }
}
