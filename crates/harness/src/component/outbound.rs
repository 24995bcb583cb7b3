//! Outbound `wasi:http` calls of components: the `send_request` hook applies the module's
//! [`OutboundPolicy`] (allow-list, forbidden headers, hop count, timeouts, body cap), then sends
//! through the module's pooled [`OutboundClient`], whose connector checks the resolved address
//! (the same client and rules as WAGI modules). Redirects are never followed: a 3xx reaches the
//! guest, as wasi:http specifies.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Uri};
use http_body_util::BodyExt;
use url::Url;
use wasmtime_wasi_http::{Error, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks};

use super::body::LimitedBody;
use crate::outbound::call_log::CallLog;
use crate::outbound::client::{describe, failure_of, Failure, RequestBody};
use crate::outbound::headers::is_forbidden_header;
use crate::outbound::{OutboundClient, OutboundPolicy};

/// The future `send_request` hands back while the connection finishes in the background.
type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;
type Sent = Result<(http::Response<WasiBody>, IoFuture), Error>;

/// The hooks of one component request: its module's outbound policy and client, and the hop
/// count its outbound calls carry.
pub(crate) struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    client: OutboundClient,
    hops: u32,
    /// This request's warning budget, shared with its calls in flight.
    log: Arc<CallLog>,
}

impl OutboundHooks {
    pub(crate) fn new(policy: Arc<OutboundPolicy>, client: OutboundClient, hops: u32) -> Self {
        Self {
            log: Arc::new(CallLog::new(policy.clone())),
            policy,
            client,
            hops,
        }
    }
}

impl WasiHttpHooks for OutboundHooks {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(is_forbidden_header)
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        Box::new(send(
            self.policy.clone(),
            self.client.clone(),
            self.hops,
            self.log.clone(),
            request,
            options,
        ))
    }
}

async fn send(
    policy: Arc<OutboundPolicy>,
    client: OutboundClient,
    hops: u32,
    log: Arc<CallLog>,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Sent {
    let url = Url::parse(&request.uri().to_string()).map_err(|_| Error::HttpRequestUriInvalid)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::HttpRequestUriInvalid);
    }
    if let Some(local) = client.answer_locally(request.method(), &url, &log).await {
        let response = local.map(|body| {
            http_body_util::Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync()
        });
        let io: IoFuture = Box::new(async { Ok(()) });
        return Ok((response, io));
    }
    if !policy.check(request.method(), &url, &log) {
        return Err(Error::HttpRequestDenied);
    }
    sanitize_headers(request.headers_mut(), &url)?;
    request
        .headers_mut()
        .insert(crate::hops::header_name(), HeaderValue::from(hops));
    // The connector sees the host exactly as the allow-list check saw it.
    *request.uri_mut() = checked_uri(&url, request.uri())?;
    let options = clamp(options, policy.timeout);
    let head_limit = head_limit(&options, policy.timeout);
    let method = request.method().clone();
    let request = request.map(|body| -> RequestBody {
        body.map_err(|e| Box::new(e) as crate::outbound::client::BoxError)
            .boxed_unsync()
    });
    let started = Instant::now();
    let response = match tokio::time::timeout(head_limit, client.request(request)).await {
        Err(_) => {
            let why = format_args!("no response within {head_limit:?}");
            policy.log_failure(&method, &url, &why, true, started, &log);
            return Err(Error::ConnectionReadTimeout);
        }
        Ok(Err(e)) => return Err(failed(&policy, &method, &url, &e, started, &log)),
        Ok(Ok(response)) => response,
    };
    policy.log_call(&method, &url, response.status().as_u16(), started, &log);
    let deadline = started + policy.timeout;
    let between = options.between_bytes_timeout.unwrap_or(policy.timeout);
    let response = response.map(|body| {
        let body = body.map_err(response_error).boxed_unsync();
        LimitedBody::new(body, policy.clone(), deadline, between).boxed_unsync()
    });
    // The pooled client drives the connection itself; nothing is left for the caller to poll.
    let io: IoFuture = Box::new(async { Ok(()) });
    Ok((response, io))
}

/// The error code for a request that got no response; a refused address is logged with how
/// to allow it, any other failure with its causes.
fn failed(
    policy: &OutboundPolicy,
    method: &http::Method,
    url: &Url,
    e: &hyper_util::client::legacy::Error,
    started: Instant,
    log: &CallLog,
) -> Error {
    match failure_of(e) {
        Failure::Prohibited(refusal) => {
            policy.log_prohibited(method, url, refusal, started, log);
            return Error::HttpRequestDenied;
        }
        Failure::ConnectTimeout => {
            policy.log_failure(method, url, &describe(e), true, started, log);
            return Error::ConnectionTimeout;
        }
        _ => policy.log_failure(method, url, &describe(e), false, started, log),
    }
    match failure_of(e) {
        Failure::Lookup => Error::DnsError {
            rcode: Some("address not available".to_string()),
            info_code: None,
        },
        Failure::Connect(std::io::ErrorKind::TimedOut) => Error::ConnectionTimeout,
        Failure::Connect(_) => Error::ConnectionRefused,
        Failure::Cut => Error::ConnectionTerminated,
        _ if e.is_connect() => Error::TlsProtocolError,
        _ => Error::HttpProtocolError,
    }
}

/// A response body error as wasmtime-wasi-http reports it.
fn response_error(e: hyper::Error) -> Error {
    if e.is_timeout() {
        Error::HttpResponseTimeout
    } else {
        Error::Hyper(e)
    }
}

/// The request URI with scheme and authority from the checked `url` and the guest's own path
/// and query.
fn checked_uri(url: &Url, original: &Uri) -> Result<Uri, Error> {
    let host = url.host_str().ok_or(Error::HttpRequestUriInvalid)?;
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let path = original.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Uri::builder()
        .scheme(url.scheme())
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)
}

/// How long to wait for the response head: the guest's connect and first-byte timeouts
/// together (the pooled client connects within `outbound_connect_timeout`), never longer than
/// the call's `limit`.
fn head_limit(options: &RequestOptions, limit: Duration) -> Duration {
    let connect = options.connect_timeout.unwrap_or(limit);
    let first_byte = options.first_byte_timeout.unwrap_or(limit);
    connect.saturating_add(first_byte).min(limit)
}

/// Drops every forbidden header and sets `Host` from the URL (the rules of
/// [`crate::outbound::headers`], shared with modules).
fn sanitize_headers(headers: &mut HeaderMap, url: &Url) -> Result<(), Error> {
    crate::outbound::headers::sanitize(headers, url).ok_or(Error::HttpRequestUriInvalid)
}

/// The guest's timeouts, none longer than `limit`; unset ones are `limit`.
fn clamp(options: Option<RequestOptions>, limit: Duration) -> RequestOptions {
    let options = options.unwrap_or_default();
    let cap = |d: Option<Duration>| Some(d.map_or(limit, |d| d.min(limit)));
    RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderName, HeaderValue, HOST, TE};

    #[test]
    fn forbidden_headers() {
        for name in [
            "host",
            "connection",
            "keep-alive",
            "proxy-authorization",
            "proxy-foo",
            "te",
            "transfer-encoding",
            "upgrade",
            "http2-settings",
        ] {
            assert!(
                is_forbidden_header(&HeaderName::from_static(name)),
                "{name}"
            );
        }
        for name in ["authorization", "x-ms-date", "content-type", "tea"] {
            assert!(
                !is_forbidden_header(&HeaderName::from_static(name)),
                "{name}"
            );
        }
    }

    #[test]
    fn host_comes_from_the_url() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("evil.example"));
        h.insert(TE, HeaderValue::from_static("trailers"));
        h.insert("x-keep", HeaderValue::from_static("1"));
        sanitize_headers(&mut h, &"http://127.0.0.1:8080/x".parse().unwrap()).unwrap();
        assert_eq!(h[HOST], "127.0.0.1:8080");
        assert!(h.get(TE).is_none());
        assert_eq!(h["x-keep"], "1");
        sanitize_headers(&mut h, &"https://a.example:443/".parse().unwrap()).unwrap();
        assert_eq!(h[HOST], "a.example");
    }

    #[test]
    fn the_uri_takes_the_checked_host_and_keeps_the_path() {
        let original: Uri = "http://127.1:8080/a/../b?q=1%202".parse().unwrap();
        let url = Url::parse(&original.to_string()).unwrap();
        let uri = checked_uri(&url, &original).unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:8080/a/../b?q=1%202");
        let original: Uri = "https://[0:0::1]/x".parse().unwrap();
        let url = Url::parse(&original.to_string()).unwrap();
        assert_eq!(
            checked_uri(&url, &original).unwrap().to_string(),
            "https://[::1]/x"
        );
    }

    #[test]
    fn the_head_waits_for_connect_and_first_byte_within_the_limit() {
        let limit = Duration::from_secs(5);
        let o = RequestOptions {
            connect_timeout: Some(Duration::from_secs(1)),
            first_byte_timeout: Some(Duration::from_secs(2)),
            between_bytes_timeout: None,
        };
        assert_eq!(head_limit(&o, limit), Duration::from_secs(3));
        assert_eq!(head_limit(&clamp(None, limit), limit), limit);
    }

    #[test]
    fn timeouts_are_clamped() {
        let limit = Duration::from_secs(5);
        let o = clamp(
            Some(RequestOptions {
                connect_timeout: Some(Duration::from_secs(60)),
                first_byte_timeout: Some(Duration::from_secs(1)),
                between_bytes_timeout: None,
            }),
            limit,
        );
        assert_eq!(o.connect_timeout, Some(limit));
        assert_eq!(o.first_byte_timeout, Some(Duration::from_secs(1)));
        assert_eq!(o.between_bytes_timeout, Some(limit));
        assert_eq!(clamp(None, limit).connect_timeout, Some(limit));
    }
}
