//! The response of an outbound request: status, every header, and a streamed body.

use crate::{sys, Error};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use std::io::{self, Read};

/// Chunk size used by [`Body::collect`] and the streaming helpers.
pub const DEFAULT_CHUNK: usize = 64 * 1024;

/// A response from [`crate::send`]. Dropping it closes the host handle.
///
/// It implements [`Read`] over the body, so it can be streamed with [`std::io::copy`].
///
/// ```ignore
/// let resp = azure_wasi_outbound::send(request)?;
/// assert_eq!(resp.status(), 200);
/// let etag = resp.headers().get("etag");
/// let body = resp.bytes()?;
/// ```
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
}

impl Response {
    pub(crate) fn new(status: StatusCode, headers: HeaderMap, body: Body) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The HTTP status.
    ///
    /// ```ignore
    /// if resp.status().is_success() { /* ... */ }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Every response header; repeated headers keep all their values.
    ///
    /// ```ignore
    /// for cookie in resp.headers().get_all("set-cookie") { /* ... */ }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body, for streaming reads.
    ///
    /// ```ignore
    /// let chunk = resp.body_mut().read_chunk(8192)?;
    /// ```
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Splits the response into status, headers and body.
    ///
    /// ```ignore
    /// let (status, headers, body) = resp.into_parts();
    /// ```
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Body) {
        (self.status, self.headers, self.body)
    }

    /// Takes the body, dropping status and headers.
    ///
    /// ```ignore
    /// let mut body = resp.into_body();
    /// std::io::copy(&mut body, &mut std::io::stdout())?;
    /// ```
    pub fn into_body(self) -> Body {
        self.body
    }

    /// Reads the whole body into memory.
    ///
    /// ```ignore
    /// let text = String::from_utf8_lossy(&resp.bytes()?).into_owned();
    /// ```
    pub fn bytes(self) -> Result<Bytes, Error> {
        self.body.collect()
    }

    /// Same as [`Response::bytes`].
    ///
    /// ```ignore
    /// let all = resp.collect()?;
    /// ```
    pub fn collect(self) -> Result<Bytes, Error> {
        self.body.collect()
    }
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body.read(buf)
    }
}

/// A response body streamed from the host: with `body_read` on `wasm32-wasip1`, from the
/// wasi:http input stream on `wasm32-wasip2`. Releases the host's resources at end of body or on
/// drop, whichever comes first.
///
/// ```ignore
/// let mut body = resp.into_body();
/// while let Some(chunk) = body.read_chunk(64 * 1024)? {
///     consume(&chunk);
/// }
/// ```
#[derive(Debug)]
pub struct Body {
    source: Source,
    size_hint: Option<usize>,
}

#[derive(Debug)]
enum Source {
    /// A `wasi_experimental_http` response handle; `None` once closed.
    Handle(Option<u32>),
    /// A wasi:http incoming body.
    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    Stream(crate::p2::IncomingStream),
}

impl Body {
    pub(crate) fn new(handle: u32, size_hint: Option<usize>) -> Self {
        Self {
            source: Source::Handle(Some(handle)),
            size_hint,
        }
    }

    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    pub(crate) fn from_p2(stream: crate::p2::IncomingStream, size_hint: Option<usize>) -> Self {
        Self {
            source: Source::Stream(stream),
            size_hint,
        }
    }

    pub(crate) fn with_size_hint(mut self, size_hint: Option<usize>) -> Self {
        self.size_hint = size_hint;
        self
    }

    /// The body length announced by `Content-Length`, if any.
    ///
    /// ```ignore
    /// let expected = body.size_hint();
    /// ```
    pub fn size_hint(&self) -> Option<usize> {
        self.size_hint
    }

    /// Reads into `buf`; returns 0 at end of body.
    ///
    /// ```ignore
    /// let mut buf = [0u8; 4096];
    /// let n = body.read_into(&mut buf)?;
    /// ```
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        match &mut self.source {
            Source::Handle(None) => Ok(0),
            Source::Handle(Some(handle)) => {
                let limit = buf.len().min(i32::MAX as usize);
                match sys::body_read(*handle, &mut buf[..limit]) {
                    Ok(0) => {
                        self.close();
                        Ok(0)
                    }
                    Ok(n) => Ok(n),
                    Err((code, _)) => {
                        self.close();
                        Err(Error::from_code(code, "", ""))
                    }
                }
            }
            #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
            Source::Stream(stream) => match stream.read(buf.len())? {
                Some(chunk) => {
                    // `read` never returns more than asked for.
                    buf[..chunk.len()].copy_from_slice(&chunk);
                    Ok(chunk.len())
                }
                None => Ok(0),
            },
        }
    }

    /// Reads the next chunk of at most `max` bytes; `None` at end of body.
    ///
    /// ```ignore
    /// while let Some(chunk) = body.read_chunk(65536)? { out.extend_from_slice(&chunk); }
    /// ```
    pub fn read_chunk(&mut self, max: usize) -> Result<Option<Bytes>, Error> {
        #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
        if let Source::Stream(stream) = &mut self.source {
            // The host hands over its own buffer: no zero-filling, no second copy.
            return stream.read(max.max(1));
        }
        let mut buf = BytesMut::zeroed(max.max(1));
        let n = self.read_into(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some(buf.freeze()))
    }

    /// Reads the rest of the body into one buffer.
    ///
    /// ```ignore
    /// let bytes = body.collect()?;
    /// ```
    pub fn collect(mut self) -> Result<Bytes, Error> {
        let mut out = BytesMut::with_capacity(self.size_hint.unwrap_or(0).min(64 << 20));
        loop {
            #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
            if let Source::Stream(stream) = &mut self.source {
                match stream.read(DEFAULT_CHUNK)? {
                    Some(chunk) => out.extend_from_slice(&chunk),
                    None => return Ok(out.freeze()),
                }
                continue;
            }
            // The host writes straight into the spare capacity: one copy.
            let filled = out.len();
            let want = (out.capacity() - filled).max(DEFAULT_CHUNK);
            out.resize(filled + want, 0);
            let n = self.read_into(&mut out[filled..])?;
            out.truncate(filled + n);
            if n == 0 {
                return Ok(out.freeze());
            }
        }
    }

    /// True once the end of the body was reached (or the body was closed).
    ///
    /// ```ignore
    /// while !body.is_finished() { body.read_chunk(4096)?; }
    /// ```
    pub fn is_finished(&self) -> bool {
        match &self.source {
            Source::Handle(handle) => handle.is_none(),
            #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
            Source::Stream(stream) => stream.is_finished(),
        }
    }

    fn close(&mut self) {
        match &mut self.source {
            Source::Handle(handle) => {
                if let Some(handle) = handle.take() {
                    // Nothing useful can be done if closing fails: the handle is gone either way.
                    let _ = sys::close(handle);
                }
            }
            #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
            Source::Stream(stream) => stream.close(),
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_into(buf).map_err(io::Error::other)
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.close();
    }
}
