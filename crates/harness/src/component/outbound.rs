//! Outbound `wasi:http` calls of components: the `send_request` hook applies the module's
//! [`OutboundPolicy`] (allow-list, forbidden headers, timeouts, body cap), then sends with
//! wasmtime-wasi-http's own client. Redirects are never followed: a 3xx reaches the guest.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderMap;
use http_body_util::BodyExt;
use url::Url;
use wasmtime_wasi_http::{
    default_send_request, Error, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks,
};

use super::body::LimitedBody;
use crate::outbound::headers::is_forbidden_header;
use crate::outbound::OutboundPolicy;

/// The future `send_request` hands back while the connection finishes in the background.
type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;
type Sent = Result<(http::Response<WasiBody>, IoFuture), Error>;

/// The hooks of one component request: its module's outbound policy.
pub(crate) struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
}

impl OutboundHooks {
    pub(crate) fn new(policy: Arc<OutboundPolicy>) -> Self {
        Self { policy }
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
        Box::new(send(self.policy.clone(), request, options))
    }
}

async fn send(
    policy: Arc<OutboundPolicy>,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Sent {
    let url = Url::parse(&request.uri().to_string()).map_err(|_| Error::HttpRequestUriInvalid)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::HttpRequestUriInvalid);
    }
    if !policy.check(&url) {
        return Err(Error::HttpRequestDenied);
    }
    sanitize_headers(request.headers_mut(), &url)?;
    let options = clamp(options, policy.timeout);
    let method = request.method().clone();
    let started = Instant::now();
    let sent =
        tokio::time::timeout(policy.timeout, default_send_request(request, Some(options))).await;
    let (response, io) = match sent {
        Err(_) => {
            policy.log_failure(&url, &format_args!("timed out after {:?}", policy.timeout));
            return Err(Error::ConnectionReadTimeout);
        }
        Ok(Err(e)) => {
            policy.log_failure(&url, &e);
            return Err(e);
        }
        Ok(Ok(sent)) => sent,
    };
    policy.log_call(&method, &url, response.status().as_u16(), started);
    let deadline = started + policy.timeout;
    let response = response
        .map(|body| LimitedBody::new(body.boxed_unsync(), policy.clone(), deadline).boxed_unsync());
    Ok((response, Box::new(io)))
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
