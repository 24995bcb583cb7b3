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
/// [`Response::status`] and [`Response::headers`] are read before the body; the body is read
/// with [`Response::bytes`] (all of it), through [`Read`], or split off with
/// [`Response::into_body`] / [`Response::into_parts`] to stream it chunk by chunk.
///
/// ```no_run
/// // Needs a host (a WAGI module or wasi:http component whose `allowed_hosts` lists the URL).
/// let request = http::Request::get("http://127.0.0.1:10000/devstoreaccount1/c/b.txt")
///     .body(bytes::Bytes::new())?;
/// let resp = azure_wasi_outbound::send(request)?;
/// if !resp.status().is_success() {
///     return Err(format!("GET failed: {}", resp.status()).into());
/// }
/// let etag = resp.headers().get("etag").cloned();
/// let cookies = resp.headers().get_all("set-cookie").iter().count();
/// let body = resp.bytes()?;
/// println!("{} bytes, etag {etag:?}, {cookies} cookies", body.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Every response header; repeated headers keep all their values (read them with
    /// [`HeaderMap::get_all`]).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body, for streaming reads while keeping the status and headers at hand.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Splits the response into status, headers and body.
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Body) {
        (self.status, self.headers, self.body)
    }

    /// Takes the body, dropping status and headers (see [`Body`] for streaming it).
    pub fn into_body(self) -> Body {
        self.body
    }

    /// Reads the whole body into memory (see the [`Response`] example).
    pub fn bytes(self) -> Result<Bytes, Error> {
        self.body.collect()
    }

    /// Same as [`Response::bytes`].
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
/// ```no_run
/// // Needs a host: streams a large download to a file without holding it in memory.
/// use std::io::Write;
/// let request = http::Request::get("http://127.0.0.1:8080/big.bin").body(bytes::Bytes::new())?;
/// let mut body = azure_wasi_outbound::send(request)?.into_body();
/// let expected = body.size_hint();
/// let mut file = std::fs::File::create("/data/big.bin")?;
/// let mut written = 0;
/// while let Some(chunk) = body.read_chunk(azure_wasi_outbound::DEFAULT_CHUNK)? {
///     file.write_all(&chunk)?;
///     written += chunk.len();
/// }
/// assert!(body.is_finished());
/// if let Some(expected) = expected {
///     assert_eq!(written, expected, "the host announced {expected} bytes");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
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

    /// The body length announced by `Content-Length`, if any (see the [`Body`] example).
    pub fn size_hint(&self) -> Option<usize> {
        self.size_hint
    }

    /// Reads into `buf`; returns 0 at end of body. This is what the [`Read`] implementation
    /// calls, with the error as an [`Error`] instead of an [`io::Error`].
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

    /// Reads the next chunk of at most `max` bytes; `None` at end of body (see the [`Body`]
    /// example).
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

    /// Reads the rest of the body into one buffer, sized by [`Body::size_hint`] when known.
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

    /// True once the end of the body was reached (or the body was closed); the host's
    /// resources are released by then.
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
