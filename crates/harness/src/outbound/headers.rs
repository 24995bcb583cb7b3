//! The request-header rules of outbound calls, the same for modules and components: which
//! headers a guest may never send, and what a redirect to another origin may not carry.

use http::header::{HeaderName, HeaderValue, HOST, TE};
use http::{HeaderMap, Method, StatusCode};
use url::Url;
use wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS;

/// Whether a guest may never set `name`: the connection-level headers wasmtime-wasi-http
/// forbids (`host`, `connection`, `keep-alive`, `proxy-*`, `te`, `transfer-encoding`,
/// `upgrade`, `http2-settings`), and the harness's hop-count header, which the host sets.
pub(crate) fn is_forbidden_header(name: &HeaderName) -> bool {
    DEFAULT_FORBIDDEN_HEADERS.contains(name)
        || *name == TE
        || name.as_str().starts_with("proxy-")
        || name.as_str() == crate::hops::HOPS_HEADER
}

/// Drops every forbidden header and sets `Host` from `url`, so a guest allowed to reach one
/// address cannot ask it for another virtual host. `None` when `url` has no host.
pub(crate) fn sanitize(headers: &mut HeaderMap, url: &Url) -> Option<()> {
    let forbidden: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_forbidden_header(name))
        .cloned()
        .collect();
    for name in forbidden {
        headers.remove(&name);
    }
    let host = url.host_str()?;
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    headers.insert(HOST, HeaderValue::from_str(&host).ok()?);
    Some(())
}

/// Whether a redirect from `from` to `to` leaves the origin (scheme, host or port change).
fn changes_origin(from: &Url, to: &Url) -> bool {
    from.scheme() != to.scheme()
        || from.host_str() != to.host_str()
        || from.port_or_known_default() != to.port_or_known_default()
}

/// Adjusts a request for the next hop of a redirect, as curl, reqwest and Go do: credentials
/// (`authorization`, `cookie`, `aeg-sas-key`, `aeg-sas-token` and every `x-ms-*` header, which
/// carry Azure signatures and dates) never follow to another origin; after a 303, or a 301/302
/// answering a POST, the method becomes GET and the body and the `content-*` headers that
/// described it are dropped. Returns the method for the next hop and whether to drop the body.
pub(crate) fn for_redirect(
    headers: &mut HeaderMap,
    method: &Method,
    status: StatusCode,
    from: &Url,
    to: &Url,
) -> (Method, bool) {
    if changes_origin(from, to) {
        let credentials: Vec<HeaderName> = headers
            .keys()
            .filter(|n| {
                let n = n.as_str();
                matches!(
                    n,
                    "authorization" | "cookie" | "aeg-sas-key" | "aeg-sas-token"
                ) || n.starts_with("x-ms-")
            })
            .cloned()
            .collect();
        for name in credentials {
            headers.remove(&name);
        }
    }
    let to_get = status == StatusCode::SEE_OTHER
        || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
            && *method == Method::POST);
    if !to_get {
        return (method.clone(), false);
    }
    let described: Vec<HeaderName> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("content-"))
        .cloned()
        .collect();
    for name in described {
        headers.remove(&name);
    }
    (Method::GET, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_guest_host_header_is_replaced_by_the_urls() {
        let mut h = headers(&[("host", "internal.example"), ("te", "x"), ("x-a", "1")]);
        sanitize(&mut h, &Url::parse("http://127.0.0.1:9000/p").unwrap()).unwrap();
        assert_eq!(h["host"], "127.0.0.1:9000");
        assert!(!h.contains_key("te"));
        assert_eq!(h["x-a"], "1");
    }

    #[test]
    fn credentials_stay_on_the_origin_and_303_drops_the_body() {
        let a = Url::parse("http://a.example/x").unwrap();
        let b = Url::parse("http://b.example/y").unwrap();
        let a_other_port = Url::parse("http://a.example:8080/y").unwrap();
        let creds = [
            ("authorization", "SharedKey acct:sig"),
            ("cookie", "s=1"),
            ("aeg-sas-key", "k"),
            ("x-ms-date", "d"),
            ("content-type", "text/plain"),
            ("accept", "*/*"),
        ];
        let mut same = headers(&creds);
        let (m, drop_body) = for_redirect(
            &mut same,
            &Method::PUT,
            StatusCode::TEMPORARY_REDIRECT,
            &a,
            &Url::parse("http://a.example:80/z").unwrap(),
        );
        assert_eq!((m, drop_body), (Method::PUT, false));
        assert_eq!(same.len(), creds.len(), "same origin keeps everything");

        for to in [&b, &a_other_port] {
            let mut cross = headers(&creds);
            let (m, drop_body) = for_redirect(
                &mut cross,
                &Method::PUT,
                StatusCode::TEMPORARY_REDIRECT,
                &a,
                to,
            );
            assert_eq!((m, drop_body), (Method::PUT, false));
            let mut names: Vec<&str> = cross.keys().map(|n| n.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, ["accept", "content-type"], "to {to}");
        }

        let mut post = headers(&creds);
        let (m, drop_body) = for_redirect(
            &mut post,
            &Method::POST,
            StatusCode::FOUND,
            &a,
            &a_other_port,
        );
        assert_eq!((m, drop_body), (Method::GET, true));
        assert_eq!(
            post.keys().map(|n| n.as_str()).collect::<Vec<_>>(),
            ["accept"]
        );
    }
}
