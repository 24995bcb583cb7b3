//! Sending a request whose body is written as it is produced.

use crate::{Error, Options, Response};
use http::{HeaderMap, Method};
use std::io;

/// A request whose head is on its way and whose body is being written; [`RequestBody::finish`]
/// ends the body and returns the response.
///
/// On `wasm32-wasip2` each write goes straight to the host's output stream, so a large upload
/// never sits in guest memory. The `wasi_experimental_http` ABI of `wasm32-wasip1` takes the
/// body in one call, so there the writes are collected and sent by `finish`.
///
/// It implements [`std::io::Write`], so `std::io::copy` can feed it.
///
/// ```no_run
/// use std::io::Write;
/// let mut upload = azure_wasi_outbound::start(
///     &http::Method::PUT,
///     "http://127.0.0.1:8080/files/a.txt",
///     &http::HeaderMap::new(),
///     &azure_wasi_outbound::Options::default(),
/// )?;
/// upload.write_all(b"first part, ")?;
/// upload.write_all(b"second part")?;
/// let response = upload.finish()?;
/// println!("{}", response.status());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RequestBody {
    inner: Inner,
}

enum Inner {
    /// The whole request, sent by `finish` (`wasm32-wasip1` and non-wasm targets).
    #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
    Buffered {
        method: Method,
        url: String,
        headers: HeaderMap,
        body: Vec<u8>,
    },
    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    Streaming(crate::p2::Pending),
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody").finish_non_exhaustive()
    }
}

/// Starts a request: on `wasm32-wasip2` the head is sent now (a denied destination fails
/// here, before any body is produced); write the body, then call [`RequestBody::finish`].
///
/// ```no_run
/// let upload = azure_wasi_outbound::start(
///     &http::Method::POST,
///     "http://127.0.0.1:8080/items",
///     &http::HeaderMap::new(),
///     &Default::default(),
/// )?;
/// let response = upload.finish()?;
/// # Ok::<(), azure_wasi_outbound::Error>(())
/// ```
pub fn start(
    method: &Method,
    url: &str,
    headers: &HeaderMap,
    options: &Options,
) -> Result<RequestBody, Error> {
    crate::send::check_url(url)?;
    #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
    {
        crate::p2::start(method, url, headers, options).map(|p| RequestBody {
            inner: Inner::Streaming(p),
        })
    }
    #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
    {
        let _ = options;
        Ok(RequestBody {
            inner: Inner::Buffered {
                method: method.clone(),
                url: url.to_string(),
                headers: headers.clone(),
                body: Vec::new(),
            },
        })
    }
}

impl RequestBody {
    /// Appends `data` to the body.
    ///
    /// ```no_run
    /// # let mut upload = azure_wasi_outbound::start(&http::Method::PUT, "http://127.0.0.1:1/", &Default::default(), &Default::default())?;
    /// upload.send_data(b"chunk")?;
    /// # Ok::<(), azure_wasi_outbound::Error>(())
    /// ```
    pub fn send_data(&mut self, data: &[u8]) -> Result<(), Error> {
        match &mut self.inner {
            #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
            Inner::Buffered { body, .. } => {
                body.extend_from_slice(data);
                Ok(())
            }
            #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
            Inner::Streaming(pending) => pending.write(data),
        }
    }

    /// Ends the body and waits for the response head.
    ///
    /// ```no_run
    /// # let upload = azure_wasi_outbound::start(&http::Method::PUT, "http://127.0.0.1:1/", &Default::default(), &Default::default())?;
    /// let response = upload.finish()?;
    /// assert!(response.status().is_success());
    /// # Ok::<(), azure_wasi_outbound::Error>(())
    /// ```
    pub fn finish(self) -> Result<Response, Error> {
        match self.inner {
            #[cfg(not(all(target_arch = "wasm32", target_env = "p2")))]
            Inner::Buffered {
                method,
                url,
                headers,
                body,
            } => crate::send_parts(&method, &url, &headers, &body),
            #[cfg(all(target_arch = "wasm32", target_env = "p2"))]
            Inner::Streaming(pending) => pending.finish(),
        }
    }
}

impl io::Write for RequestBody {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_data(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
