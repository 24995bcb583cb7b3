//! Sending a request through the host.

use crate::{codec, sys, Body, Error, Response};
use azure_wasi_abi::Code;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

/// First buffer size for `headers_get_all`; it doubles on "buffer too small".
const FIRST_HEADER_BUFFER: usize = 4 * 1024;
/// Upper bound for the header buffer, to stop a broken host from exhausting memory.
const MAX_HEADER_BUFFER: usize = 256 * 1024 * 1024;
/// Code 4: the host needs a larger buffer (and wrote the size it needs).
const BUFFER_TOO_SMALL: i32 = Code::BufferTooSmall.as_i32();

/// Sends `request` through the host and returns the response: `wasi_experimental_http` on
/// `wasm32-wasip1`, wasi:http `outgoing-handler` on `wasm32-wasip2`.
///
/// The URI must be absolute. Every header value (repeated ones too) is sent. On targets other
/// than wasm32 it returns [`Error::Unsupported`].
///
/// ```no_run
/// // Needs a host whose `allowed_hosts` lists the URL.
/// let req = http::Request::get("http://127.0.0.1:8080/hello")
///     .header("accept", "text/plain")
///     .body(bytes::Bytes::new())?;
/// match azure_wasi_outbound::send(req) {
///     Ok(resp) => assert!(resp.status().is_success(), "{}", resp.status()),
///     // A denied destination names the `allowed_hosts` entry to add.
///     Err(e @ azure_wasi_outbound::Error::DestinationNotAllowed { .. }) => eprintln!("{e}"),
///     Err(e) if e.is_transient() => eprintln!("retry later: {e}"),
///     Err(e) => return Err(e.into()),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn send(request: http::Request<Bytes>) -> Result<Response, Error> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    send_parts(&parts.method, &url, &parts.headers, &body)
}

/// Like [`send`] but from borrowed parts, so callers with their own request type need not
/// build an [`http::Request`] (and the body is not copied).
///
/// ```no_run
/// // Needs a host whose `allowed_hosts` lists the URL.
/// use http::{header, HeaderMap, HeaderValue, Method};
/// let mut headers = HeaderMap::new();
/// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
/// let body = br#"{"id":"1"}"#;
/// let resp = azure_wasi_outbound::send_parts(&Method::POST, "http://127.0.0.1:8080/items", &headers, body)?;
/// assert_eq!(resp.status(), http::StatusCode::CREATED);
/// # Ok::<(), azure_wasi_outbound::Error>(())
/// ```
pub fn send_parts(
    method: &Method,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Error> {
    send_with(method, url, headers, body, &crate::Options::default())
}

/// Like [`send_parts`], asking the host for `options`' timeouts (`wasm32-wasip2`; on
/// `wasm32-wasip1` the host's own timeout applies).
///
/// ```no_run
/// // Needs a host whose `allowed_hosts` lists the URL.
/// use http::{HeaderMap, Method};
/// let options = azure_wasi_outbound::Options::default()
///     .with_first_byte_timeout(std::time::Duration::from_secs(5));
/// let url = "http://127.0.0.1:8080/slow";
/// match azure_wasi_outbound::send_with(&Method::GET, url, &HeaderMap::new(), b"", &options) {
///     Ok(resp) => println!("{}", resp.status()),
///     Err(e) if e.is_transient() => eprintln!("no answer within 5 s, try again: {e}"),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), azure_wasi_outbound::Error>(())
/// ```
pub fn send_with(
    method: &Method,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
    options: &crate::Options,
) -> Result<Response, Error> {
    check_url(url)?;
    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    {
        // wasi:http sends a body of unannounced length chunked; announce the known length, as
        // the wasi_experimental_http host does (Shared Key signatures cover Content-Length).
        let sized;
        let headers = if body.is_empty() || headers.contains_key(http::header::CONTENT_LENGTH) {
            headers
        } else {
            let mut with_length = headers.clone();
            with_length.insert(http::header::CONTENT_LENGTH, body.len().into());
            sized = with_length;
            &sized
        };
        let mut pending = crate::p2::start(method, url, headers, options)?;
        pending.write(body)?;
        pending.finish()
    }
    #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
    {
        let _ = options;
        send_p1(method, url, headers, body)
    }
}

/// Refuses what no backend can send: a relative URL, or no host ABI at all.
pub(crate) fn check_url(url: &str) -> Result<(), Error> {
    if cfg!(not(target_arch = "wasm32")) {
        return Err(Error::Unsupported);
    }
    if !url.contains("://") {
        return Err(Error::RelativeUrl {
            url: crate::redact_url(url),
        });
    }
    Ok(())
}

/// The `wasi_experimental_http` backend: the whole request in one `req` call.
#[cfg_attr(all(target_arch = "wasm32", target_env = "p2"), allow(dead_code))]
fn send_p1(
    method: &Method,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Error> {
    for (what, len) in [("URL", url.len()), ("body", body.len())] {
        if len > i32::MAX as usize {
            return Err(Error::TooLarge { what });
        }
    }
    let wire_headers = codec::encode_headers(headers);
    if wire_headers.len() > i32::MAX as usize {
        return Err(Error::TooLarge { what: "headers" });
    }
    let method_name = azure_wasi_abi::encode_method(method);
    let (status, handle) = sys::req(url.as_bytes(), method_name.as_bytes(), &wire_headers, body)
        .map_err(|code| Error::from_code(code, &method_name, url))?;
    // From here on the handle is owned by `body`, which closes it on every path.
    let body = Body::new(handle, None);
    let status = StatusCode::from_u16(status).map_err(|_| Error::InvalidResponseHeader {
        line: format!("status {status}"),
    })?;
    let raw = read_all_headers(handle)?;
    let headers = codec::decode_headers(&raw)?;
    let size_hint = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let body = body.with_size_hint(size_hint);
    Ok(Response::new(status, headers, body))
}

/// Calls `headers_get_all`, growing the buffer while the host answers "buffer too small".
fn read_all_headers(handle: u32) -> Result<Vec<u8>, Error> {
    let mut size = FIRST_HEADER_BUFFER;
    loop {
        let mut buf = vec![0u8; size];
        match sys::headers_get_all(handle, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err((code, hint)) if code == BUFFER_TOO_SMALL && size < MAX_HEADER_BUFFER => {
                size = hint.max(size * 2).min(MAX_HEADER_BUFFER);
            }
            Err((BUFFER_TOO_SMALL, _)) => {
                return Err(Error::BufferTooSmall {
                    what: "headers",
                    tried: size,
                })
            }
            Err((code, _)) => return Err(Error::from_code(code, "", "")),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn host_targets_get_a_clear_unsupported_error() {
        let req = http::Request::get("http://127.0.0.1:1/")
            .body(Bytes::new())
            .unwrap();
        let err = send(req).unwrap_err();
        assert!(matches!(err, Error::Unsupported));
        assert!(err.to_string().contains("wasm32-wasip1"), "{err}");
    }
}
