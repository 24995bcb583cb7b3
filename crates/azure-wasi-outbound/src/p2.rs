//! The `wasm32-wasip2` backend: wasi:http `outgoing-handler`, with the request body written as a
//! stream and the response body read as one.

use crate::{Error, Options};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, Method as WasiMethod, OutgoingBody,
    OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// Largest write the host must accept in one `blocking-write-and-flush`.
const MAX_WRITE: usize = 4096;

/// A request whose head is sent and whose body is being written.
pub(crate) struct Pending {
    // Field order is drop order: the stream before the body it belongs to.
    stream: Option<OutputStream>,
    body: Option<OutgoingBody>,
    response: wasip2::http::types::FutureIncomingResponse,
    method: Method,
    url: String,
}

/// Sends the head of a request; the body follows through [`Pending::write`].
pub(crate) fn start(
    method: &Method,
    url: &str,
    headers: &HeaderMap,
    options: &Options,
) -> Result<Pending, Error> {
    let uri: http::Uri = url.parse().map_err(|_| Error::InvalidUrl {
        url: crate::redact_url(url),
    })?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(Error::RelativeUrl {
            url: crate::redact_url(url),
        });
    };
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name.as_str(), value.as_bytes())
            .map_err(|_| Error::InvalidEncoding {
                url: crate::redact_url(url),
            })?;
    }
    let request = OutgoingRequest::new(fields);
    let invalid_url = || Error::InvalidUrl {
        url: crate::redact_url(url),
    };
    request
        .set_method(&wasi_method(method))
        .map_err(|_| Error::InvalidMethod {
            method: method.as_str().chars().take(32).collect(),
        })?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_string()),
    };
    request
        .set_scheme(Some(&scheme))
        .map_err(|_| invalid_url())?;
    request
        .set_authority(Some(authority.as_str()))
        .map_err(|_| invalid_url())?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    request
        .set_path_with_query(Some(path))
        .map_err(|_| invalid_url())?;
    let body = request.body().map_err(|_| Error::Runtime)?;
    let response = outgoing_handler::handle(request, Some(request_options(options)))
        .map_err(|code| from_error_code(&code, method.as_str(), url))?;
    let stream = body.write().map_err(|_| Error::Runtime)?;
    Ok(Pending {
        stream: Some(stream),
        body: Some(body),
        response,
        method: method.clone(),
        url: url.to_string(),
    })
}

impl Pending {
    /// Writes the next part of the body.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> Result<(), Error> {
        let Some(stream) = &self.stream else {
            return Ok(());
        };
        while !data.is_empty() {
            let n = data.len().min(MAX_WRITE);
            if let Err(e) = stream.blocking_write_and_flush(&data[..n]) {
                // The host stopped taking the body: the response (or its error) says why.
                self.stream = None;
                return Err(self.stream_error(e));
            }
            data = &data[n..];
        }
        Ok(())
    }

    /// Ends the body and waits for the response head.
    pub(crate) fn finish(mut self) -> Result<crate::Response, Error> {
        drop(self.stream.take());
        if let Some(body) = self.body.take() {
            OutgoingBody::finish(body, None)
                .map_err(|code| from_error_code(&code, self.method.as_str(), &self.url))?;
        }
        self.wait()
    }

    fn wait(&self) -> Result<crate::Response, Error> {
        self.response.subscribe().block();
        let response = match self.response.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => {
                return Err(from_error_code(&code, self.method.as_str(), &self.url))
            }
            Some(Err(())) | None => return Err(Error::Runtime),
        };
        let status =
            StatusCode::from_u16(response.status()).map_err(|_| Error::InvalidResponseHeader {
                line: format!("status {}", response.status()),
            })?;
        let mut headers = HeaderMap::new();
        {
            let fields = response.headers();
            for (name, value) in fields.entries() {
                let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_bytes(&value),
                ) else {
                    return Err(Error::InvalidResponseHeader {
                        line: name.chars().take(100).collect(),
                    });
                };
                headers.append(name, value);
            }
        }
        let size_hint = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        let body = IncomingStream::open(response, &self.url)?;
        Ok(crate::Response::new(
            status,
            headers,
            crate::Body::from_p2(body, size_hint),
        ))
    }

    fn stream_error(&self, e: StreamError) -> Error {
        // A closed body stream usually means the host refused the request: its response
        // future then carries the reason.
        if let Err(reason) = self.wait() {
            return reason;
        }
        Error::Transport {
            url: crate::redact_url(&self.url),
            reason: match e {
                StreamError::Closed => "the host closed the request body stream".into(),
                StreamError::LastOperationFailed(e) => e.to_debug_string(),
            },
            transient: true,
        }
    }
}

/// A response body read from the host's input stream.
pub(crate) struct IncomingStream {
    // Field order is drop order: stream, then body, then the response they came from.
    stream: Option<InputStream>,
    body: Option<IncomingBody>,
    _response: IncomingResponse,
    url: String,
}

impl std::fmt::Debug for IncomingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingStream")
            .field("open", &self.stream.is_some())
            .finish()
    }
}

impl IncomingStream {
    fn open(response: IncomingResponse, url: &str) -> Result<Self, Error> {
        let body = response.consume().map_err(|_| Error::Runtime)?;
        let stream = body.stream().map_err(|_| Error::Runtime)?;
        Ok(Self {
            stream: Some(stream),
            body: Some(body),
            _response: response,
            url: url.to_string(),
        })
    }

    /// Up to `max` bytes, waiting for at least one; `None` at the end of the body.
    pub(crate) fn read(&mut self, max: usize) -> Result<Option<Bytes>, Error> {
        let Some(stream) = &self.stream else {
            return Ok(None);
        };
        loop {
            match stream.blocking_read(max as u64) {
                Ok(chunk) if chunk.is_empty() => continue,
                Ok(chunk) => return Ok(Some(chunk.into())),
                Err(StreamError::Closed) => {
                    self.close();
                    return Ok(None);
                }
                Err(StreamError::LastOperationFailed(e)) => {
                    self.close();
                    return Err(Error::Transport {
                        url: crate::redact_url(&self.url),
                        reason: format!("the response body broke off: {}", e.to_debug_string()),
                        transient: true,
                    });
                }
            }
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.stream.is_none()
    }

    pub(crate) fn close(&mut self) {
        drop(self.stream.take());
        if let Some(body) = self.body.take() {
            // Trailers are not used; finishing frees the body's resources on the host.
            drop(IncomingBody::finish(body));
        }
    }
}

fn request_options(options: &Options) -> RequestOptions {
    let ro = RequestOptions::new();
    let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    // A host that does not support a timeout refuses it; the request then goes without it.
    if let Some(d) = options.connect_timeout {
        let _ = ro.set_connect_timeout(Some(nanos(d)));
    }
    if let Some(d) = options.first_byte_timeout {
        let _ = ro.set_first_byte_timeout(Some(nanos(d)));
    }
    if let Some(d) = options.between_bytes_timeout {
        let _ = ro.set_between_bytes_timeout(Some(nanos(d)));
    }
    ro
}

fn wasi_method(method: &Method) -> WasiMethod {
    match *method {
        Method::GET => WasiMethod::Get,
        Method::HEAD => WasiMethod::Head,
        Method::POST => WasiMethod::Post,
        Method::PUT => WasiMethod::Put,
        Method::DELETE => WasiMethod::Delete,
        Method::CONNECT => WasiMethod::Connect,
        Method::OPTIONS => WasiMethod::Options,
        Method::TRACE => WasiMethod::Trace,
        Method::PATCH => WasiMethod::Patch,
        _ => WasiMethod::Other(method.as_str().to_string()),
    }
}

/// A wasi:http error code as this crate's [`Error`].
fn from_error_code(code: &ErrorCode, method: &str, url: &str) -> Error {
    let redacted = || crate::redact_url(url);
    let transport = |transient: bool| Error::Transport {
        url: redacted(),
        reason: format!("{code:?}"),
        transient,
    };
    match code {
        ErrorCode::HttpRequestDenied => Error::DestinationNotAllowed {
            url: redacted(),
            allowed_host: crate::allowed_hosts_entry(url),
        },
        ErrorCode::HttpRequestMethodInvalid => Error::InvalidMethod {
            method: method.chars().take(32).collect(),
        },
        ErrorCode::HttpRequestUriInvalid => Error::InvalidUrl { url: redacted() },
        ErrorCode::DnsTimeout
        | ErrorCode::DestinationUnavailable
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTerminated
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::ConnectionLimitReached
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::HttpResponseIncomplete => transport(true),
        _ => transport(false),
    }
}
