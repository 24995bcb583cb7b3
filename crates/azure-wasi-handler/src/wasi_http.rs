//! The `wasm32-wasip2` world: the request comes from wasi:http `incoming-handler`, the response
//! goes back through its `response-outparam`, and both bodies are streams.

use crate::{Body, Error, Request, Response};
use std::io::{self, Read};
use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method as WasiMethod, OutgoingBody, OutgoingResponse,
    ResponseOutparam,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// Largest write the host must accept in one `blocking-write-and-flush`.
const MAX_WRITE: usize = 4096;

/// Builds the handler's [`Request`] from a wasi:http incoming request. The body is not read:
/// it streams from the host as the handler reads it.
pub(crate) fn request(incoming: IncomingRequest) -> Result<Request, Error> {
    let method = match incoming.method() {
        WasiMethod::Get => "GET".to_string(),
        WasiMethod::Head => "HEAD".to_string(),
        WasiMethod::Post => "POST".to_string(),
        WasiMethod::Put => "PUT".to_string(),
        WasiMethod::Delete => "DELETE".to_string(),
        WasiMethod::Connect => "CONNECT".to_string(),
        WasiMethod::Options => "OPTIONS".to_string(),
        WasiMethod::Trace => "TRACE".to_string(),
        WasiMethod::Patch => "PATCH".to_string(),
        WasiMethod::Other(m) => crate::request::checked_method(&m)?,
    };
    let path_and_query = incoming
        .path_with_query()
        .unwrap_or_else(|| "/".to_string());
    // Parsed into a `HeaderMap` only if the handler asks for headers.
    let fields = incoming.headers().entries();
    let env = crate::environment::Environment::of_process();
    let body = IncomingReader::new(incoming);
    Ok(Request::from_fields(
        method,
        &path_and_query,
        fields,
        env,
        Box::new(body),
    ))
}

/// Reads an incoming request body from the host's input stream, opened on the first read (a
/// handler that never reads its body makes no host call for it).
struct IncomingReader {
    // Field order is drop order: the stream, then its body, then the request.
    stream: Option<InputStream>,
    body: Option<IncomingBody>,
    request: Option<IncomingRequest>,
}

impl IncomingReader {
    fn new(request: IncomingRequest) -> Self {
        Self {
            stream: None,
            body: None,
            request: Some(request),
        }
    }

    /// The body's stream, consuming the request the first time; `None` once the body ended
    /// (or when the host gave none). The request is kept until then, and only then: while it
    /// is held without a stream, the body is yet to be opened.
    fn stream(&mut self) -> Option<&InputStream> {
        if let (None, Some(request)) = (&self.stream, &self.request) {
            self.body = request.consume().ok();
            self.stream = self.body.as_ref().and_then(|b| b.stream().ok());
            if self.stream.is_none() {
                // Nothing to read: the request is no longer needed either.
                self.body = None;
                self.request = None;
            }
        }
        self.stream.as_ref()
    }
}

impl Read for IncomingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(stream) = self.stream() else {
            return Ok(0);
        };
        loop {
            match stream.blocking_read(buf.len() as u64) {
                Ok(chunk) if chunk.is_empty() => continue,
                Ok(chunk) => {
                    let n = chunk.len().min(buf.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(StreamError::Closed) => {
                    self.stream = None;
                    if let Some(body) = self.body.take() {
                        drop(IncomingBody::finish(body));
                    }
                    self.request = None;
                    return Ok(0);
                }
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(io::Error::other(format!(
                        "the request body broke off: {}",
                        e.to_debug_string()
                    )))
                }
            }
        }
    }
}

/// Sends `response` through `out`: head first, then the body streamed in host-sized writes.
pub(crate) fn send(response: Response, out: ResponseOutparam) {
    let (status, headers, body) = response.into_http_parts();
    // An in-memory body's own length replaces any `content-length` the handler set.
    let length = body.in_memory().map(<[u8]>::len);
    let mut entries: Vec<(String, Vec<u8>)> = headers
        .iter()
        .filter(|(name, _)| length.is_none() || *name != http::header::CONTENT_LENGTH)
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
        .collect();
    if let Some(length) = length {
        entries.push((
            "content-length".to_string(),
            length.to_string().into_bytes(),
        ));
    }
    let outgoing = OutgoingResponse::new(response_fields(&entries));
    let _ = outgoing.set_status_code(status.as_u16());
    let Ok(outgoing_body) = outgoing.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(outgoing));
    let Ok(stream) = outgoing_body.write() else {
        return;
    };
    if let Err(e) = write_body(&stream, body) {
        // The client went away or the body reader failed: nothing more can reach the client.
        eprintln!("azure-wasi-handler: the response body was cut short: {e}");
        return;
    }
    drop(stream);
    if let Err(e) = OutgoingBody::finish(outgoing_body, None) {
        eprintln!("azure-wasi-handler: the host refused the end of the response body: {e:?}");
    }
}

/// The response's header fields in one host call; when the host refuses the list (a header it
/// forbids a guest to set), one call per field, each refused one left out.
fn response_fields(entries: &[(String, Vec<u8>)]) -> Fields {
    Fields::from_list(entries).unwrap_or_else(|_| {
        let fields = Fields::new();
        for (name, value) in entries {
            // Names and values were validated when the response was built.
            let _ = fields.append(name, value);
        }
        fields
    })
}

fn write_body(stream: &OutputStream, body: Body) -> io::Result<()> {
    let write = |mut data: &[u8]| -> io::Result<()> {
        while !data.is_empty() {
            let n = data.len().min(MAX_WRITE);
            stream
                .blocking_write_and_flush(&data[..n])
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
            data = &data[n..];
        }
        Ok(())
    };
    match body {
        Body::Reader(mut reader) => {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                write(&buf[..n])?;
            }
        }
        body => write(body.in_memory().unwrap_or_default()),
    }
}
