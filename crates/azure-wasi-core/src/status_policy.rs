//! The one status policy: which HTTP status a handler answers when a call to an Azure service
//! fails, and the redaction every error message goes through.
//!
//! | [`Failure`] | status |
//! |---|---|
//! | [`Failure::BadInput`]: bad input from the request (invalid name or id, bad or empty body) | 400 |
//! | [`Failure::Service`] 404, 409 or 412 | the same |
//! | [`Failure::Service`] 429 or 503 (throttled, unavailable) | 503, with the service's `Retry-After` |
//! | [`Failure::Service`] anything else, [`Failure::Unreachable`] (denied by `allowed_hosts`, no answer) | 502 |
//! | [`Failure::Setting`]: a missing or invalid setting | 500 |
//!
//! The service crates (`azure-wasi-storage`, `-cosmos`, `-eventgrid`) implement their
//! `Error::status()` with [`status`], and the `azure-wasi` facade uses those statuses, so the
//! table above is defined here and nowhere else.
//!
//! ```
//! use azure_wasi_core::status_policy::{status, Failure};
//! assert_eq!(status(Failure::Service(409)), 409);
//! assert_eq!(status(Failure::Service(429)), 503);
//! assert_eq!(status(Failure::Service(403)), 502);
//! assert_eq!(status(Failure::Setting), 500);
//! ```

use azure_core::http::headers::Headers;
use http::StatusCode;

/// What went wrong, in the terms of the status policy.
///
/// ```
/// let f = azure_wasi_core::status_policy::Failure::Service(404);
/// assert_eq!(azure_wasi_core::status_policy::status(f), 404);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Bad input from the request: an invalid name or id, a malformed or empty body.
    BadInput,
    /// A setting in the module's environment is missing or invalid.
    Setting,
    /// The service answered with this HTTP status (>= 400).
    Service(u16),
    /// The destination is not in `allowed_hosts`, cannot be reached, or the exchange failed.
    Unreachable,
}

/// The status a handler answers for `failure` (see the [module](self) table).
///
/// ```
/// use azure_wasi_core::status_policy::{status, Failure};
/// assert_eq!(status(Failure::BadInput), 400);
/// assert_eq!(status(Failure::Unreachable), 502);
/// ```
pub fn status(failure: Failure) -> StatusCode {
    match failure {
        Failure::BadInput => StatusCode::BAD_REQUEST,
        Failure::Setting => StatusCode::INTERNAL_SERVER_ERROR,
        Failure::Service(code @ (404 | 409 | 412)) => {
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        Failure::Service(429 | 503) => StatusCode::SERVICE_UNAVAILABLE,
        Failure::Service(_) | Failure::Unreachable => StatusCode::BAD_GATEWAY,
    }
}

/// What a service said when it answered with an error status.
///
/// ```
/// let a = azure_wasi_core::status_policy::ServiceAnswer {
///     status: 503, code: None, message: "busy".into(), retry_after: Some("2".into()),
/// };
/// assert_eq!(a.retry_after.as_deref(), Some("2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The service's error code (`x-ms-error-code`, or `code` in the body).
    pub code: Option<String>,
    /// The service's message, redacted (see [`redact`]).
    pub message: String,
    /// `Retry-After` in seconds, from `retry-after`, `retry-after-ms` or `x-ms-retry-after-ms`.
    pub retry_after: Option<String>,
}

impl ServiceAnswer {
    /// The answer carried by an `azure_core` HTTP-response error, if `error` is one.
    ///
    /// ```
    /// use azure_core::error::{Error, ErrorKind};
    /// let e = Error::with_message(ErrorKind::HttpResponse {
    ///     status: azure_core::http::StatusCode::NotFound, error_code: Some("BlobNotFound".into()),
    ///     raw_response: None }, "no such blob");
    /// let a = azure_wasi_core::status_policy::ServiceAnswer::from_error(&e).unwrap();
    /// assert_eq!((a.status, a.code.as_deref()), (404, Some("BlobNotFound")));
    /// ```
    pub fn from_error(error: &azure_core::Error) -> Option<Self> {
        let azure_core::error::ErrorKind::HttpResponse {
            status,
            error_code,
            raw_response,
        } = error.kind()
        else {
            return None;
        };
        let (body_code, body_message, retry_after) = match raw_response {
            Some(raw) => {
                let (c, m) = message_of_body(raw.body().as_ref());
                (c, m, retry_after(raw.headers()))
            }
            None => (None, None, None),
        };
        Some(Self {
            status: u16::from(*status),
            code: error_code.clone().or(body_code),
            message: redact(&body_message.unwrap_or_else(|| "no message in the answer".into())),
            retry_after,
        })
    }
}

/// `Retry-After` in whole seconds from a service's headers: `retry-after`, else `retry-after-ms`
/// or `x-ms-retry-after-ms` rounded up.
///
/// ```
/// let mut h = azure_core::http::headers::Headers::new();
/// h.insert("x-ms-retry-after-ms", "1500");
/// assert_eq!(azure_wasi_core::status_policy::retry_after(&h).as_deref(), Some("2"));
/// ```
pub fn retry_after(headers: &Headers) -> Option<String> {
    let get = |name: &'static str| headers.get_optional_str(&name.into()).map(str::trim);
    if let Some(v) = get("retry-after").filter(|v| !v.is_empty()) {
        return Some(v.to_string());
    }
    ["retry-after-ms", "x-ms-retry-after-ms"]
        .into_iter()
        .find_map(|n| get(n).and_then(|v| v.parse::<f64>().ok()))
        .map(|ms| ((ms / 1000.0).ceil() as u64).max(1).to_string())
}

/// The error code and message of an error body: Azure's XML (`<Code>`, `<Message>`) or JSON
/// (`code`/`message`, or `error.code`/`error.message`). The message is its first line.
fn message_of_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let xml = |tag: &str| {
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].to_string())
    };
    let json = |key: &str| {
        let v: serde_like::Value = serde_like::parse(&text)?;
        v.get(key)
    };
    let code = xml("Code").or_else(|| json("code"));
    let message = xml("Message")
        .or_else(|| json("message"))
        .map(|m| m.lines().next().unwrap_or("").trim().to_string())
        .filter(|m| !m.is_empty());
    (code, message)
}

/// A tiny, dependency-free reader for the two string fields of a JSON error body.
mod serde_like {
    pub struct Value(String);

    pub fn parse(text: &str) -> Option<Value> {
        let t = text.trim();
        (t.starts_with('{') && t.ends_with('}')).then(|| Value(t.to_string()))
    }

    impl Value {
        /// The first string value of `"key"` (at any depth), unescaped for `\"` and `\\`.
        pub fn get(&self, key: &str) -> Option<String> {
            let pattern = format!("\"{key}\"");
            let mut rest = &self.0[..];
            while let Some(at) = rest.find(&pattern) {
                rest = &rest[at + pattern.len()..];
                let after = rest.trim_start();
                let Some(after) = after.strip_prefix(':') else {
                    continue;
                };
                let after = after.trim_start();
                let Some(body) = after.strip_prefix('"') else {
                    continue;
                };
                let mut out = String::new();
                let mut chars = body.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => return Some(out),
                        '\\' => match chars.next() {
                            Some('n') => out.push('\n'),
                            Some(o) => out.push(o),
                            None => return None,
                        },
                        c => out.push(c),
                    }
                }
                return None;
            }
            None
        }
    }
}

/// A message for a failed exchange (no answer from the service): the outbound error's own
/// message when there is one (a denied destination names the `allowed_hosts` entry to add), the
/// credential's when no token could be had (the host names the `identity` line to add), else
/// what to check. Redacted.
///
/// ```
/// use azure_core::error::{Error, ErrorKind};
/// let e = Error::with_message(ErrorKind::Io, "connection refused");
/// let m = azure_wasi_core::status_policy::transport_message(&e);
/// assert!(m.contains("allowed_hosts"), "{m}");
/// let refused = Error::with_message(ErrorKind::Credential, "the host refused a token: add identity = ...")
///     .with_context("non-transport error occurred which will not be retried");
/// let m = azure_wasi_core::status_policy::transport_message(&refused);
/// assert!(m.starts_with("no access token: the host refused a token"), "{m}");
/// ```
pub fn transport_message(error: &azure_core::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    // The innermost credential error holds the credential's own reason (outer ones are
    // context added on the way up, such as the retry policy's).
    let mut credential = None;
    while let Some(c) = cause {
        if let Some(outbound) = c.downcast_ref::<azure_wasi_outbound::Error>() {
            return redact(&outbound.to_string());
        }
        if let Some(e) = c.downcast_ref::<azure_core::Error>() {
            if matches!(e.kind(), azure_core::error::ErrorKind::Credential) {
                credential = Some(e);
            }
        }
        cause = c.source();
    }
    if let Some(e) = credential {
        return format!("no access token: {}", redact(&e.to_string()));
    }
    match error.kind() {
        azure_core::error::ErrorKind::Io | azure_core::error::ErrorKind::Connection => format!(
            "the service could not be reached ({}): check that it is up and that its origin is in allowed_hosts",
            redact(&error.to_string())
        ),
        _ => format!("the exchange with the service failed: {}", redact(&error.to_string())),
    }
}

/// Removes secrets from text meant for a client or a log: the query string of every URL (a SAS
/// token lives there) and every run of 32 or more base64 characters (account keys, signatures).
///
/// ```
/// let t = azure_wasi_core::status_policy::redact(
///     "GET http://h/c/b?sv=1&sig=abc failed; signature 'Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy' wrong");
/// assert!(!t.contains("sig=abc") && !t.contains("Zm9vYmFy"), "{t}");
/// assert!(t.contains("http://h/c/b"), "{t}");
/// ```
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_url = false;
    let mut skipping_query = false;
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 32 {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        let ends_url = c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ',');
        if skipping_query {
            if ends_url {
                skipping_query = false;
                in_url = false;
            } else {
                continue;
            }
        }
        if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') {
            run.push(c);
            if run.ends_with("://") {
                in_url = true;
            }
            continue;
        }
        if c == ':' {
            run.push(c);
            continue;
        }
        flush(&mut run, &mut out);
        if in_url && c == '?' {
            out.push_str("?<redacted>");
            skipping_query = true;
            continue;
        }
        if ends_url {
            in_url = false;
        }
        out.push(c);
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_and_json_bodies_give_code_and_message() {
        let xml = br#"<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.
RequestId:1</Message></Error>"#;
        let (c, m) = message_of_body(xml);
        assert_eq!(c.as_deref(), Some("AuthenticationFailed"));
        assert_eq!(
            m.as_deref(),
            Some("Server failed to authenticate the request.")
        );
        let json = br#"{"error":{"code":"Unauthorized","message":"bad \"key\""}}"#;
        let (c, m) = message_of_body(json);
        assert_eq!(c.as_deref(), Some("Unauthorized"));
        assert_eq!(m.as_deref(), Some("bad \"key\""));
    }

    #[test]
    fn redaction_keeps_words_and_drops_secrets() {
        let key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
        let t = redact(&format!(
            "key {key} at https://a.blob.core.windows.net/c/x?se=1&sig=Q%2B, ok"
        ));
        assert_eq!(
            t,
            "key <redacted> at https://a.blob.core.windows.net/c/x?<redacted>, ok"
        );
        assert_eq!(
            redact("Blob Storage answered 404"),
            "Blob Storage answered 404"
        );
    }
}
