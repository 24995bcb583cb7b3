//! Sending one outbound request: allow-list on every hop, redirects, timeouts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use url::Url;

use super::policy::{redacted, OutboundPolicy};
use super::Code;

const MAX_REDIRECTS: usize = 10;

/// The harness's shared HTTP client for guests' outbound calls (connection pool, http and https).
#[derive(Clone)]
pub struct OutboundClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboundClient")
    }
}

impl OutboundClient {
    /// A client with the Mozilla root certificates, for http and https.
    pub(crate) fn new() -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self { client }
    }

    /// Sends a request for a guest; every redirect hop is checked against the allow-list.
    pub(crate) async fn send(
        &self,
        policy: &Arc<OutboundPolicy>,
        mut method: Method,
        mut url: Url,
        mut headers: HeaderMap,
        mut body: Bytes,
    ) -> Result<OpenResponse, Code> {
        let started = Instant::now();
        let deadline = started + policy.timeout;
        let mut hops = 0;
        loop {
            if !policy.check(&url) {
                return Err(Code::DestinationNotAllowed);
            }
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(url.as_str());
            super::headers::sanitize(&mut headers, &url).ok_or(Code::InvalidUrl)?;
            if let Some(h) = builder.headers_mut() {
                *h = headers.clone();
            }
            let request = builder
                .body(Full::new(body.clone()))
                .map_err(|_| Code::InvalidUrl)?;
            let sent = tokio::time::timeout_at(deadline.into(), self.client.request(request)).await;
            let response = match sent {
                Err(_) => {
                    tracing::warn!(route = %policy.route, destination = %redacted(&url), "outbound call timed out after {:?}", policy.timeout);
                    return Err(Code::RequestError);
                }
                Ok(Err(e)) => {
                    policy.log_failure(&url, &e);
                    return Err(Code::RequestError);
                }
                Ok(Ok(r)) => r,
            };
            let status = response.status();
            policy.log_call(&method, &url, status.as_u16(), started);
            let next = redirect_target(&url, status, response.headers());
            match next {
                Some(next) if hops < MAX_REDIRECTS => {
                    hops += 1;
                    let (next_method, drop_body) =
                        super::headers::for_redirect(&mut headers, &method, status, &url, &next);
                    method = next_method;
                    if drop_body {
                        body = Bytes::new();
                    }
                    url = next;
                }
                _ => {
                    let (parts, body) = response.into_parts();
                    return Ok(OpenResponse {
                        status: parts.status,
                        headers: parts.headers,
                        body,
                        pending: Bytes::new(),
                        done: false,
                        read_total: 0,
                        policy: policy.clone(),
                        deadline,
                    });
                }
            }
        }
    }
}

fn redirect_target(current: &Url, status: StatusCode, headers: &HeaderMap) -> Option<Url> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = headers.get(http::header::LOCATION)?.to_str().ok()?;
    current.join(location).ok()
}

/// A response whose body the guest reads through its handle.
pub(crate) struct OpenResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    body: Incoming,
    pending: Bytes,
    done: bool,
    read_total: u64,
    policy: Arc<OutboundPolicy>,
    deadline: Instant,
}

impl OpenResponse {
    /// Up to `max` more body bytes; empty at the end of the body.
    pub(crate) async fn read(&mut self, max: usize) -> Result<Bytes, Code> {
        while self.pending.is_empty() && !self.done && max > 0 {
            let frame = tokio::time::timeout_at(self.deadline.into(), self.body.frame()).await;
            match frame {
                Err(_) => return Err(Code::RequestError),
                Ok(None) => self.done = true,
                Ok(Some(Err(_))) => return Err(Code::RequestError),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.read_total += data.len() as u64;
                        if self.read_total > self.policy.max_body {
                            self.policy.log_body_too_large();
                            return Err(Code::RequestError);
                        }
                        self.pending = data;
                    }
                }
            }
        }
        let n = max.min(self.pending.len());
        Ok(self.pending.split_to(n))
    }
}
