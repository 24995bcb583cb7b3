//! The response builder and its CGI serialisation.

use crate::Error;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use std::io::{self, Read, Write};

/// Bodies up to this size are written together with the CGI head, in one call to the host.
const ONE_WRITE_BODY_BYTES: usize = 16 * 1024;

/// Copies a streamed body to `out`. Never inlined: `io::copy`'s 8 KiB buffer would otherwise
/// sit in the frame of whatever inlines it (a module's `main`, in a size-optimised build),
/// spreading the locals of every handler, streaming or not, over more stack pages for the host
/// to reset after each request.
#[inline(never)]
fn stream_body(reader: &mut dyn Read, out: &mut impl Write) -> io::Result<u64> {
    io::copy(reader, out)
}

/// Content type used by [`Response::text`].
pub const TEXT: &str = "text/plain; charset=utf-8";
/// Content type used by [`Response::json`].
pub const JSON: &str = "application/json";

/// Whether `value` may be sent as a header value: visible characters, spaces and tabs, no
/// control characters (the rule of `http::HeaderValue::from_bytes`).
fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

/// An HTTP response: a status, repeated headers and a body (bytes or a reader that is streamed).
///
/// In a `wasm32-wasip1` module it is written as CGI output (`Status:` line, headers, blank
/// line, body) to stdout and flushed; in a `wasm32-wasip2` component it goes to the host through
/// wasi:http, the body streamed.
///
/// Headers may repeat. Invalid header names or values are not sent; the response then becomes
/// a 500 naming the header (the value is never echoed).
///
/// ```
/// let resp = azure_wasi_handler::Response::text("not here")
///     .with_status(http::StatusCode::NOT_FOUND)
///     .with_header("set-cookie", "a=1")
///     .with_header("set-cookie", "b=2");
/// let mut out = Vec::new();
/// resp.write_cgi(&mut out).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "Status: 404\nContent-Type: text/plain; charset=utf-8\nset-cookie: a=1\nset-cookie: b=2\n\nnot here"
/// );
/// ```
pub struct Response {
    status: StatusCode,
    /// Checked like a header value; kept as text so a response that sets no other header
    /// needs none of the `http` header machinery.
    content_type: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Body,
    invalid_header: Option<String>,
}

/// A response body: nothing, bytes in memory, or a reader streamed to the client.
///
/// ```
/// use azure_wasi_handler::Body;
/// assert_eq!(Body::from("hi").in_memory(), Some(&b"hi"[..]));
/// assert_eq!(Body::from(bytes::Bytes::from_static(b"blob")).in_memory(), Some(&b"blob"[..]));
/// assert!(Body::Reader(Box::new(std::io::empty())).in_memory().is_none());
/// ```
pub enum Body {
    /// No body.
    Empty,
    /// A body in memory, shared without copying (e.g. a downloaded blob).
    Bytes(Bytes),
    /// A body in memory that the response owns (from a `String` or a `Vec<u8>`). Kept apart
    /// from [`Body::Bytes`] so a handler that never touches `Bytes` carries none of its code.
    Owned(Vec<u8>),
    /// A body copied from a reader (e.g. an outbound response) while writing.
    Reader(Box<dyn Read>),
}

impl Body {
    /// The body's bytes when it is in memory; `None` for a reader, empty for [`Body::Empty`].
    ///
    /// ```
    /// assert_eq!(azure_wasi_handler::Body::Empty.in_memory(), Some(&b""[..]));
    /// ```
    pub fn in_memory(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Bytes(bytes) => Some(bytes),
            Body::Owned(vec) => Some(vec),
            Body::Reader(_) => None,
        }
    }
}

impl From<Bytes> for Body {
    fn from(value: Bytes) -> Self {
        Body::Bytes(value)
    }
}

impl From<Vec<u8>> for Body {
    fn from(value: Vec<u8>) -> Self {
        Body::Owned(value)
    }
}

impl From<String> for Body {
    fn from(value: String) -> Self {
        Body::Owned(value.into_bytes())
    }
}

impl From<&str> for Body {
    fn from(value: &str) -> Self {
        Body::Owned(value.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Body {
    fn from(value: &[u8]) -> Self {
        Body::Owned(value.to_vec())
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl Default for Response {
    fn default() -> Self {
        Self::new(StatusCode::OK)
    }
}

impl Response {
    /// An empty response with `status`.
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::new(http::StatusCode::NO_CONTENT);
    /// assert_eq!(r.status(), 204);
    /// ```
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Body::Empty,
            invalid_header: None,
        }
    }

    /// 200 with a UTF-8 text body.
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::text("hello");
    /// assert_eq!(r.content_type(), Some("text/plain; charset=utf-8"));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(StatusCode::OK)
            .with_content_type(TEXT)
            .with_body(text.into())
    }

    /// 200 with `value` serialised as JSON (feature `json`, on by default).
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::json(&serde_json::json!({"ok": true})).unwrap();
    /// assert_eq!(r.content_type(), Some("application/json"));
    /// ```
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(value).map_err(Error::JsonResponse)?;
        Ok(Self::new(StatusCode::OK)
            .with_content_type(JSON)
            .with_body(body))
    }

    /// 200 with a byte body and the given content type.
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::bytes(vec![1, 2, 3], "application/octet-stream");
    /// assert_eq!(r.status(), 200);
    /// ```
    pub fn bytes(body: impl Into<Bytes>, content_type: &str) -> Self {
        Self::new(StatusCode::OK)
            .with_content_type(content_type)
            .with_body(body.into())
    }

    /// 200 whose body is streamed from `reader` while the response is written.
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::stream(std::io::Cursor::new(b"data".to_vec()), "text/plain");
    /// assert_eq!(r.status(), 200);
    /// ```
    pub fn stream(reader: impl Read + 'static, content_type: &str) -> Self {
        Self::new(StatusCode::OK)
            .with_content_type(content_type)
            .with_body(Body::Reader(Box::new(reader)))
    }

    /// Sets the status.
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::text("x").with_status(http::StatusCode::CREATED);
    /// assert_eq!(r.status(), 201);
    /// ```
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets the `Content-Type` (replacing any earlier one).
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::new(http::StatusCode::OK).with_content_type("text/html");
    /// assert_eq!(r.content_type(), Some("text/html"));
    /// ```
    pub fn with_content_type(mut self, content_type: &str) -> Self {
        if is_field_value(content_type.as_bytes()) {
            self.content_type = Some(content_type.to_string());
        } else {
            self.invalid_header = Some("content-type".into());
        }
        self
    }

    /// Appends a header; calling it twice with one name sends both values. `Content-Type` and
    /// `Status` are routed to [`Response::with_content_type`] / [`Response::with_status`].
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::new(http::StatusCode::OK).with_header("x-a", "1").with_header("x-a", "2");
    /// assert_eq!(r.headers().count(), 2);
    /// ```
    pub fn with_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let value = value.as_ref();
        if name.eq_ignore_ascii_case("content-type") {
            return match std::str::from_utf8(value) {
                Ok(v) => self.with_content_type(v),
                Err(_) => {
                    self.invalid_header = Some("content-type".into());
                    self
                }
            };
        }
        if name.eq_ignore_ascii_case("status") {
            let code = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u16>().ok())
                .and_then(|v| StatusCode::from_u16(v).ok());
            match code {
                Some(code) => self.status = code,
                None => self.invalid_header = Some("status".into()),
            }
            return self;
        }
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            (Ok(n), Ok(v)) => self.headers.push((n, v)),
            _ => self.invalid_header = Some(name.chars().take(100).collect()),
        }
        self
    }

    /// Sets the body.
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::new(http::StatusCode::OK).with_body("raw");
    /// let (_, headers, body) = r.into_http_parts();
    /// assert_eq!(body.in_memory(), Some(&b"raw"[..]));
    /// // `with_body` keeps the content type; bytes without one are sent as octet-stream.
    /// assert_eq!(headers["content-type"], "application/octet-stream");
    /// ```
    pub fn with_body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// The status.
    ///
    /// ```
    /// assert_eq!(azure_wasi_handler::Response::default().status(), 200);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The content type, if set.
    ///
    /// ```
    /// assert_eq!(azure_wasi_handler::Response::default().content_type(), None);
    /// ```
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The extra headers in order (without `Content-Type`).
    ///
    /// ```
    /// let r = azure_wasi_handler::Response::default().with_header("x", "y");
    /// assert_eq!(r.headers().next().map(|(n, _)| n.as_str()), Some("x"));
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().map(|(n, v)| (n, v))
    }

    /// The response as it goes on the wire: an invalid header turns it into a 500 naming the
    /// header, and a body without a content type gets `application/octet-stream`.
    fn finish(mut self) -> Self {
        if let Some(name) = self.invalid_header.take() {
            let err = Error::InvalidHeader { name };
            eprintln!("azure-wasi-handler: {err}");
            return Response::text(format!("{err}\n")).with_status(err.status());
        }
        let has_body = self.body.in_memory().is_none_or(|b| !b.is_empty());
        if self.content_type.is_none() && has_body {
            self.content_type = Some("application/octet-stream".to_string());
        }
        self
    }

    /// Status, every header (`content-type` first) and the body, for hosts that take an HTTP
    /// response (wasi:http).
    ///
    /// ```
    /// let (status, headers, _body) = azure_wasi_handler::Response::text("hi").into_http_parts();
    /// assert_eq!(status, 200);
    /// assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    /// ```
    pub fn into_http_parts(self) -> (StatusCode, http::HeaderMap, Body) {
        let response = self.finish();
        let mut headers = http::HeaderMap::with_capacity(response.headers.len() + 1);
        if let Some(ct) = response
            .content_type
            .and_then(|ct| HeaderValue::try_from(ct).ok())
        {
            headers.insert(http::header::CONTENT_TYPE, ct);
        }
        for (name, value) in response.headers {
            headers.append(name, value);
        }
        (response.status, headers, response.body)
    }

    /// Writes the CGI response to `out` and flushes it.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// azure_wasi_handler::Response::new(http::StatusCode::NO_CONTENT).write_cgi(&mut out).unwrap();
    /// assert_eq!(out, b"Status: 204\n\n");
    /// ```
    pub fn write_cgi(self, out: &mut impl Write) -> io::Result<()> {
        let response = self.finish();
        let mut head = Vec::with_capacity(256);
        // No reason phrase: both WAGI and our harness take the code alone (RFC 3875 allows an
        // empty reason), and leaving out `http`'s reason table keeps small modules small.
        head.extend_from_slice(b"Status: ");
        head.extend_from_slice(response.status.as_str().as_bytes());
        head.push(b'\n');
        if let Some(ct) = &response.content_type {
            head.extend_from_slice(b"Content-Type: ");
            head.extend_from_slice(ct.as_bytes());
            head.push(b'\n');
        }
        for (name, value) in &response.headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.push(b'\n');
        }
        head.push(b'\n');
        match response.body {
            Body::Reader(mut reader) => {
                out.write_all(&head)?;
                stream_body(&mut reader, out)?;
            }
            // A small body goes out with the head in one write (one host call, not two).
            body => match body.in_memory().unwrap_or_default() {
                small if small.len() <= ONE_WRITE_BODY_BYTES => {
                    head.extend_from_slice(small);
                    out.write_all(&head)?;
                }
                large => {
                    out.write_all(&head)?;
                    out.write_all(large)?;
                }
            },
        }
        out.flush()
    }

    /// Writes the CGI response to stdout and flushes, so no byte is lost when the module exits
    /// (`wasm32-wasip1` modules; `#[handler]` calls it for you).
    ///
    /// ```no_run
    /// azure_wasi_handler::Response::text("hello").send().expect("stdout is writable");
    /// ```
    pub fn send(self) -> io::Result<()> {
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        // In a WAGI module each write is one host call: std's stdout would hold back a body
        // that does not end in a newline for a second one. Whatever the handler printed first
        // goes out first.
        #[cfg(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1"))]
        {
            lock.flush()?;
            self.write_cgi(&mut crate::wasip1::Stdout)
        }
        #[cfg(not(all(target_arch = "wasm32", target_os = "wasi", target_env = "p1")))]
        self.write_cgi(&mut lock)
    }
}

/// Conversion of handler results into a [`Response`].
///
/// ```
/// use azure_wasi_handler::IntoResponse;
/// assert_eq!("hi".into_response().status(), 200);
/// assert_eq!((http::StatusCode::CREATED, "made").into_response().status(), 201);
/// ```
pub trait IntoResponse {
    /// Converts `self` into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::bytes(self, "application/octet-stream")
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::bytes(self, "application/octet-stream")
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        crate::error_response(&self)
    }
}

impl IntoResponse for crate::BoxError {
    fn into_response(self) -> Response {
        crate::error_response(&*self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(StatusCode::NO_CONTENT)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}

impl<R: IntoResponse> IntoResponse for (StatusCode, R) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}

/// A value answered as JSON by [`IntoResponse`] (feature `json`, on by default).
///
/// ```
/// use azure_wasi_handler::IntoResponse;
/// let r = azure_wasi_handler::Json(serde_json::json!({"a": 1})).into_response();
/// assert_eq!(r.content_type(), Some("application/json"));
/// ```
#[cfg(feature = "json")]
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

#[cfg(feature = "json")]
impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match Response::json(&self.0) {
            Ok(r) => r,
            Err(e) => crate::error_response(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(r: Response) -> String {
        let mut out = Vec::new();
        r.write_cgi(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Records each `write` call the CGI writer makes (each is one host call in a module).
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_small_body_goes_out_with_its_head_in_one_write() {
        let mut out = Writes::default();
        Response::text("hello\n").write_cgi(&mut out).unwrap();
        assert_eq!(out.0.len(), 1);
        let text = String::from_utf8(out.0.concat()).unwrap();
        assert!(text.starts_with("Status: 200\n"), "{text}");
        assert!(text.ends_with("\n\nhello\n"), "{text}");
    }

    #[test]
    fn a_large_body_is_written_after_its_head() {
        let body = vec![b'x'; ONE_WRITE_BODY_BYTES + 1];
        let mut out = Writes::default();
        Response::bytes(body.clone(), "application/octet-stream")
            .write_cgi(&mut out)
            .unwrap();
        assert_eq!(out.0.len(), 2);
        assert!(out.0[0].ends_with(b"\n\n"));
        assert_eq!(out.0[1], body);
    }

    #[test]
    fn invalid_header_becomes_500_without_value() {
        let out = render(Response::text("x").with_header("bad name", "secret"));
        assert!(out.starts_with("Status: 500\n"), "{out}");
        assert!(out.contains("bad name") && !out.contains("secret"), "{out}");
    }

    #[test]
    fn status_header_and_streamed_body() {
        let r = Response::stream(std::io::Cursor::new(b"abc".to_vec()), "text/csv")
            .with_header("Status", "418 I'm a teapot");
        assert_eq!(render(r), "Status: 418\nContent-Type: text/csv\n\nabc");
    }

    #[test]
    fn body_without_content_type_gets_octet_stream() {
        let out = render(Response::new(StatusCode::OK).with_body("z"));
        assert_eq!(
            out,
            "Status: 200\nContent-Type: application/octet-stream\n\nz"
        );
    }
}
