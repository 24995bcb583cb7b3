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
    let env = std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    });
    let body = IncomingReader::open(incoming);
    Ok(Request::from_fields(
        method,
        &path_and_query,
        fields,
        env,
        Box::new(body),
    ))
}

/// Reads an incoming request body from the host's input stream.
struct IncomingReader {
    // Field order is drop order: the stream, then its body, then the request.
    stream: Option<InputStream>,
    body: Option<IncomingBody>,
    _request: IncomingRequest,
}

impl IncomingReader {
    fn open(request: IncomingRequest) -> Self {
        let body = request.consume().ok();
        let stream = body.as_ref().and_then(|b| b.stream().ok());
        Self {
            stream,
            body,
            _request: request,
        }
    }
}

impl Read for IncomingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(stream) = &self.stream else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
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
    let fields = Fields::new();
    for (name, value) in &headers {
        // Names and values were validated when the response was built.
        let _ = fields.append(name.as_str(), value.as_bytes());
    }
    if let Some(bytes) = body.in_memory() {
        let _ = fields.set("content-length", &[bytes.len().to_string().into_bytes()]);
    }
    let outgoing = OutgoingResponse::new(fields);
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
