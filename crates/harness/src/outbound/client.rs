//! Sending outbound requests: one pooled client per module, shared by its requests in both
//! worlds. Every new connection goes through the [`GuardedConnector`] (the resolved-address
//! check and the connect timeout); idle connections are capped per host and closed after the
//! idle timeout. For modules this also follows redirects, checking the allow-list on every hop.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{Client, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use url::Url;

use super::address_policy::{AddressPolicy, Prohibited};
use super::call_log::CallLog;
pub(crate) use super::connector::BoxError;
use super::connector::{ConnectFailed, ConnectTimedOut, GuardedConnector, LookupFailed, Resolver};
use super::policy::OutboundPolicy;
use super::Code;
use crate::{AllowList, Limits};

const MAX_REDIRECTS: usize = 10;

/// The request body type of the shared client (both worlds).
pub(crate) type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

type Connector = hyper_rustls::HttpsConnector<GuardedConnector>;

/// A module's HTTP client for its guests' outbound calls (connection pool, http and https).
#[derive(Clone)]
pub struct OutboundClient {
    client: Client<Connector, RequestBody>,
    /// The module's token rules: requests to the identity origin are answered with them.
    tokens: Option<Arc<crate::identity::ModuleTokens>>,
    /// Connections the pool has opened.
    opened: Arc<AtomicU64>,
}

impl std::fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboundClient")
    }
}

/// Why a request got no response, as far as the guest's error code is concerned.
pub(crate) enum Failure<'a> {
    /// The destination resolved to an address the module may not reach.
    Prohibited(&'a Prohibited),
    /// DNS and TCP connect did not finish within the connect timeout.
    ConnectTimeout,
    /// The name did not resolve.
    Lookup,
    /// Every address refused the connection (or failed otherwise).
    Connect(std::io::ErrorKind),
    /// The connection closed before the whole response head arrived.
    Cut,
    /// Anything else: TLS, a broken connection, a protocol error.
    Other,
}

impl OutboundClient {
    /// The client of a module with allow-list `allow`, with the Mozilla root certificates, for
    /// http and https, on the system resolver.
    pub(crate) fn new(allow: &AllowList, limits: &Limits) -> Self {
        Self::with_resolver(allow, limits, Resolver::system())
    }

    /// [`OutboundClient::new`] with another resolver.
    pub(crate) fn with_resolver(allow: &AllowList, limits: &Limits, resolver: Resolver) -> Self {
        let guarded = GuardedConnector::new(
            AddressPolicy::new(allow.clone(), limits.block_private_networks),
            resolver,
            limits.outbound_connect_timeout,
        );
        let opened = guarded.opened();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(guarded);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(limits.outbound_idle_timeout)
            .pool_max_idle_per_host(limits.outbound_max_idle_per_host)
            .build(connector);
        Self {
            client,
            tokens: None,
            opened,
        }
    }

    /// The count of connections the pool has opened (each kept alive is reused, not counted
    /// again).
    pub(crate) fn connections_opened(&self) -> Arc<AtomicU64> {
        self.opened.clone()
    }

    /// The same client, answering the identity origin with `tokens` (see [`crate::identity`]).
    pub(crate) fn with_identity(mut self, tokens: Arc<crate::identity::ModuleTokens>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The harness's own answer when `url` is the identity origin (both worlds ask this before
    /// the allow-list, so such a request never reaches the network).
    pub(crate) async fn answer_locally(
        &self,
        method: &Method,
        url: &Url,
        log: &CallLog,
    ) -> Option<http::Response<Bytes>> {
        if !crate::identity::is_identity_origin(url) {
            return None;
        }
        let response = match &self.tokens {
            Some(tokens) => tokens.answer(method, url, log).await,
            None => {
                let mut r = http::Response::new(Bytes::from_static(
                    b"this harness has no token rules for the module",
                ));
                *r.status_mut() = StatusCode::FORBIDDEN;
                r
            }
        };
        Some(response)
    }

    /// Sends one request as it is (no redirects followed); the component world's way out.
    pub(crate) fn request(&self, request: http::Request<RequestBody>) -> ResponseFuture {
        self.client.request(request)
    }

    /// Sends a request for a module's guest; every redirect hop is checked against the
    /// allow-list, and carries `hops` in the hop-count header.
    pub(crate) async fn send(
        &self,
        mut method: Method,
        mut url: Url,
        mut headers: HeaderMap,
        mut body: Bytes,
        hops: u32,
        log: &CallLog,
    ) -> Result<OpenResponse, Code> {
        let policy = log.policy();
        let started = Instant::now();
        let deadline = started + policy.timeout;
        if let Some(local) = self.answer_locally(&method, &url, log).await {
            return Ok(OpenResponse::local(local, policy.clone(), deadline));
        }
        let mut redirects = 0;
        loop {
            if !policy.check(&method, &url, log) {
                return Err(Code::DestinationNotAllowed);
            }
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(url.as_str());
            super::headers::sanitize(&mut headers, &url).ok_or(Code::InvalidUrl)?;
            headers.insert(crate::hops::header_name(), HeaderValue::from(hops));
            if let Some(h) = builder.headers_mut() {
                *h = headers.clone();
            }
            let request = builder
                .body(
                    Full::new(body.clone())
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .map_err(|_| Code::InvalidUrl)?;
            let sent = tokio::time::timeout_at(deadline.into(), self.client.request(request)).await;
            let response = match sent {
                Err(_) => {
                    let why = format_args!("timed out after {:?}", policy.timeout);
                    policy.log_failure(&method, &url, &why, true, started, log);
                    return Err(Code::RequestError);
                }
                Ok(Err(e)) => {
                    let failure = failure_of(&e);
                    if let Failure::Prohibited(p) = failure {
                        policy.log_prohibited(&method, &url, p, started, log);
                        return Err(Code::DestinationNotAllowed);
                    }
                    let timed_out = matches!(failure, Failure::ConnectTimeout);
                    policy.log_failure(&method, &url, &describe(&e), timed_out, started, log);
                    return Err(Code::RequestError);
                }
                Ok(Ok(r)) => r,
            };
            let status = response.status();
            policy.log_call(&method, &url, status.as_u16(), started, log);
            let next = redirect_target(&url, status, response.headers());
            match next {
                Some(next) if redirects < MAX_REDIRECTS => {
                    redirects += 1;
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
                        body: Some(body),
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

/// Finds the cause that decides the guest's error code in `err`'s source chain.
pub(crate) fn failure_of(err: &hyper_util::client::legacy::Error) -> Failure<'_> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cause {
        if let Some(p) = e.downcast_ref::<Prohibited>() {
            return Failure::Prohibited(p);
        }
        if e.is::<ConnectTimedOut>() {
            return Failure::ConnectTimeout;
        }
        if e.is::<LookupFailed>() {
            return Failure::Lookup;
        }
        if let Some(c) = e.downcast_ref::<ConnectFailed>() {
            return Failure::Connect(c.io().kind());
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return Failure::Cut;
            }
        }
        cause = e.source();
    }
    Failure::Other
}

/// `err` and its causes, joined with `: `, for a log line (no URL, so no query, is in it).
pub(crate) fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
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
    /// `None` for an answer the harness gave itself (all of it is in `pending`).
    body: Option<Incoming>,
    pending: Bytes,
    done: bool,
    read_total: u64,
    policy: Arc<OutboundPolicy>,
    deadline: Instant,
}

impl OpenResponse {
    /// A response the harness made itself (the identity origin's), read like any other.
    fn local(
        response: http::Response<Bytes>,
        policy: Arc<OutboundPolicy>,
        deadline: Instant,
    ) -> Self {
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body: None,
            pending: body,
            done: true,
            read_total: 0,
            policy,
            deadline,
        }
    }

    /// Up to `max` more body bytes; empty at the end of the body.
    pub(crate) async fn read(&mut self, max: usize) -> Result<Bytes, Code> {
        while self.pending.is_empty() && !self.done && max > 0 {
            let Some(body) = self.body.as_mut() else {
                self.done = true;
                break;
            };
            let frame = tokio::time::timeout_at(self.deadline.into(), body.frame()).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A loopback server answering after `delay`; counts accepted and still-open connections.
    async fn counting_server(delay: Duration) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (a, o) = (accepted.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |_req| async move {
                        tokio::time::sleep(delay).await;
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        (port, accepted, open)
    }

    async fn get(client: &OutboundClient, port: u16) {
        let request = http::Request::get(format!("http://127.0.0.1:{port}/"))
            .body(
                Full::new(Bytes::new())
                    .map_err(|n| match n {})
                    .boxed_unsync(),
            )
            .unwrap();
        let response = client.request(request).await.expect("a response");
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.expect("the body");
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(5), "{what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_connections_are_capped_per_host_reused_and_reaped() {
        let (port, accepted, open) = counting_server(Duration::from_millis(150)).await;
        let limits = Limits {
            outbound_max_idle_per_host: 1,
            outbound_idle_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let allow = AllowList::parse(&[format!("http://127.0.0.1:{port}")]).unwrap();
        let client = OutboundClient::new(&allow, &limits);
        tokio::join!(get(&client, port), get(&client, port), get(&client, port));
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            3,
            "three at once: three connections"
        );
        until("only one idle connection is kept per host", || {
            open.load(Ordering::SeqCst) == 1
        })
        .await;
        get(&client, port).await;
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            3,
            "the idle connection is reused"
        );
        until(
            "the idle connection is closed after the idle timeout",
            || open.load(Ordering::SeqCst) == 0,
        )
        .await;
    }
}
