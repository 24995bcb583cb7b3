//! The crate's one error type, covering every host code plus local failures.

use azure_wasi_abi::Code;

/// Everything that can go wrong when sending a request or reading a response.
///
/// Host codes 1..=13 map to one variant each ([`Error::code`] gives the number back). URLs in
/// messages have their query string, fragment and user info removed, so SAS signatures and
/// passwords never end up in logs.
///
/// ```
/// use azure_wasi_outbound::Error;
/// let e = Error::from_code(7, "GET", "http://127.0.0.1:8080/x?sig=secret");
/// assert_eq!(e.code(), Some(7));
/// assert!(e.to_string().contains("\"http://127.0.0.1:8080\""));
/// assert!(!e.to_string().contains("secret"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Code 1: the host does not know the response handle.
    #[error("the host does not know this response handle (code 1): it was already closed; do not read a response after it was dropped")]
    InvalidHandle,
    /// Code 2: the host found no exported `memory`.
    #[error("the host found no exported `memory` in this module (code 2): build it as an ordinary wasm32-wasip1 binary that exports its memory")]
    MemoryNotFound,
    /// Code 3: the host could not access guest memory.
    #[error("the host could not read or write this module's memory (code 3): a pointer or length was out of bounds; report this as a bug in the binding or the host")]
    MemoryAccess,
    /// Code 4: the host kept answering "buffer too small" even for the largest buffer we try.
    #[error("the {what} of the response does not fit in {tried} bytes (code 4): the response is larger than this module is willing to buffer")]
    BufferTooSmall {
        /// What was being read (e.g. "headers").
        what: &'static str,
        /// The largest buffer size tried.
        tried: usize,
    },
    /// Code 5: the response has no such header.
    #[error("the response has no header `{name}` (code 5): check `headers()` for the names the server sent")]
    HeaderNotFound {
        /// Header name asked for.
        name: String,
    },
    /// Code 6: the host rejected bytes that are not UTF-8.
    #[error("the host rejected non-UTF-8 text in the request to {url} (code 6): send the URL, method and header values as UTF-8")]
    Utf8 {
        /// Redacted request URL.
        url: String,
    },
    /// Code 7: the module's `allowed_hosts` does not cover the destination.
    #[error("outbound request to {url} is not allowed (code 7): add \"{allowed_host}\" to the allowed_hosts list of this module in its wagi.toml / modules.toml")]
    DestinationNotAllowed {
        /// Redacted request URL.
        url: String,
        /// The exact `allowed_hosts` entry that would allow it (`scheme://host[:port]`).
        allowed_host: String,
    },
    /// Code 8: the host rejected the method.
    #[error("the host rejected HTTP method `{method}` (code 8): use a standard upper-case method such as GET, PUT, POST or DELETE")]
    InvalidMethod {
        /// The method sent.
        method: String,
    },
    /// Code 9: the host could not parse the serialised request headers.
    #[error("the host could not parse the request headers for {url} (code 9): header names must be tokens and values must not contain line breaks")]
    InvalidEncoding {
        /// Redacted request URL.
        url: String,
    },
    /// Code 10: the host could not parse the URL.
    #[error("the host could not parse the URL {url} (code 10): pass an absolute http:// or https:// URL")]
    InvalidUrl {
        /// Redacted request URL.
        url: String,
    },
    /// Code 11: connecting, TLS or the exchange itself failed.
    #[error("outbound request to {url} failed (code 11: connection, TLS or timeout): check that the server is up and reachable from the host, then retry")]
    RequestFailed {
        /// Redacted request URL.
        url: String,
    },
    /// Code 12: the host failed internally.
    #[error("the host failed internally while handling an outbound request (code 12): see the host's log")]
    Runtime,
    /// Code 13: too many responses are open at once.
    #[error("too many outbound responses are open at once (code 13): drop responses you have finished with before sending more requests")]
    TooManySessions,
    /// A code this binding does not know.
    #[error("the host returned unknown error code {code}: the host speaks a newer or different wasi_experimental_http ABI")]
    UnknownCode {
        /// The raw code.
        code: i32,
    },
    /// Not running inside a wasm32-wasip1 module or a wasm32-wasip2 component.
    #[error("outbound HTTP is only available inside a WebAssembly guest: build with `--target wasm32-wasip1` (a WAGI module) or `--target wasm32-wasip2` (a wasi:http component)")]
    Unsupported,
    /// A wasi:http transport error (`wasm32-wasip2`): DNS, connection, TLS, time-out, ...
    #[error("outbound request to {url} failed ({reason}): check that the server is up and reachable from the host, then retry")]
    Transport {
        /// Redacted request URL.
        url: String,
        /// The host's error code, as text.
        reason: String,
        /// Whether trying again may succeed (connection and time-out errors).
        transient: bool,
    },
    /// A buffer is larger than the 32-bit ABI can describe.
    #[error("the request {what} is larger than 2 GiB, which the wasi_experimental_http ABI cannot carry: send less data per request")]
    TooLarge {
        /// Which part (url, headers, body).
        what: &'static str,
    },
    /// The request URL is not absolute.
    #[error(
        "the request URL {url} is not absolute: use a full URL such as http://127.0.0.1:8080/path"
    )]
    RelativeUrl {
        /// Redacted request URL.
        url: String,
    },
    /// The host sent a header line this binding cannot parse.
    #[error("the host sent a response header line that is not `name:value` ({line:?}): the host does not implement the wasi_experimental_http ABI correctly")]
    InvalidResponseHeader {
        /// The offending line (lossy UTF-8, at most 100 characters).
        line: String,
    },
}

impl Error {
    /// Maps a host error code to an error, with the request's method and URL as context.
    ///
    /// ```
    /// use azure_wasi_outbound::Error;
    /// assert!(matches!(Error::from_code(13, "GET", "http://a/"), Error::TooManySessions));
    /// ```
    pub fn from_code(code: i32, method: &str, url: &str) -> Self {
        let redacted = || redact_url(url);
        match Code::from_i32(code) {
            Some(Code::InvalidHandle) => Error::InvalidHandle,
            Some(Code::MemoryNotFound) => Error::MemoryNotFound,
            Some(Code::MemoryAccess) => Error::MemoryAccess,
            Some(Code::BufferTooSmall) => Error::BufferTooSmall {
                what: "data",
                tried: 0,
            },
            Some(Code::HeaderNotFound) => Error::HeaderNotFound {
                name: String::new(),
            },
            Some(Code::Utf8) => Error::Utf8 { url: redacted() },
            Some(Code::DestinationNotAllowed) => Error::DestinationNotAllowed {
                url: redacted(),
                allowed_host: allowed_hosts_entry(url),
            },
            Some(Code::InvalidMethod) => Error::InvalidMethod {
                method: method.chars().take(32).collect(),
            },
            Some(Code::InvalidEncoding) => Error::InvalidEncoding { url: redacted() },
            Some(Code::InvalidUrl) => Error::InvalidUrl { url: redacted() },
            Some(Code::RequestError) => Error::RequestFailed { url: redacted() },
            Some(Code::RuntimeError) => Error::Runtime,
            Some(Code::TooManySessions) => Error::TooManySessions,
            Some(Code::Ok) | None => match code {
                crate::sys::UNSUPPORTED => Error::Unsupported,
                crate::sys::TOO_LARGE => Error::TooLarge { what: "data" },
                code => Error::UnknownCode { code },
            },
        }
    }

    /// Whether sending the same request again may succeed: connection failures and time-outs
    /// are transient; a denied destination or an invalid request is not.
    ///
    /// ```
    /// use azure_wasi_outbound::Error;
    /// assert!(Error::from_code(11, "GET", "http://h/").is_transient());
    /// assert!(!Error::from_code(7, "GET", "http://h/").is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RequestFailed { .. } | Error::Runtime | Error::TooManySessions => true,
            Error::Transport { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The host error code this error stands for, if it came from the host.
    ///
    /// ```
    /// use azure_wasi_outbound::Error;
    /// assert_eq!(Error::Runtime.code(), Some(12));
    /// assert_eq!(Error::Unsupported.code(), None);
    /// ```
    pub fn code(&self) -> Option<i32> {
        let code = match self {
            Error::InvalidHandle => Code::InvalidHandle,
            Error::MemoryNotFound => Code::MemoryNotFound,
            Error::MemoryAccess => Code::MemoryAccess,
            Error::BufferTooSmall { .. } => Code::BufferTooSmall,
            Error::HeaderNotFound { .. } => Code::HeaderNotFound,
            Error::Utf8 { .. } => Code::Utf8,
            Error::DestinationNotAllowed { .. } => Code::DestinationNotAllowed,
            Error::InvalidMethod { .. } => Code::InvalidMethod,
            Error::InvalidEncoding { .. } => Code::InvalidEncoding,
            Error::InvalidUrl { .. } => Code::InvalidUrl,
            Error::RequestFailed { .. } => Code::RequestError,
            Error::Runtime => Code::RuntimeError,
            Error::TooManySessions => Code::TooManySessions,
            Error::UnknownCode { code } => return Some(*code),
            _ => return None,
        };
        Some(code.as_i32())
    }
}

/// Returns `url` without user info, query string or fragment, safe to log.
///
/// ```
/// use azure_wasi_outbound::redact_url;
/// assert_eq!(redact_url("https://u:p@h.example/c/b?sig=abc#f"), "https://h.example/c/b?…");
/// ```
pub fn redact_url(url: &str) -> String {
    let (without_fragment, _) = url.split_once('#').unwrap_or((url, ""));
    let (base, query) = match without_fragment.split_once('?') {
        Some((base, _)) => (base, true),
        None => (without_fragment, false),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => base.to_string(),
    };
    let mut out: String = base.chars().take(200).collect();
    if query {
        out.push_str("?…");
    }
    out
}

/// The `allowed_hosts` entry (`scheme://host[:port]`) that permits requests to `url`: the
/// shortest one the host's allow-list accepts, so the port is kept only when it is not the
/// scheme's default ([`azure_wasi_abi::allowed_hosts_entry`], the rule the harness uses too).
/// For a URL that is not absolute `http(s)`, the URL itself, redacted.
///
/// ```
/// use azure_wasi_outbound::allowed_hosts_entry;
/// assert_eq!(allowed_hosts_entry("http://127.0.0.1:8080/a?b"), "http://127.0.0.1:8080");
/// assert_eq!(allowed_hosts_entry("http://127.0.0.1:80/a"), "http://127.0.0.1");
/// assert_eq!(allowed_hosts_entry("https://X.blob.core.windows.net/c"), "https://x.blob.core.windows.net");
/// ```
pub fn allowed_hosts_entry(url: &str) -> String {
    azure_wasi_abi::allowed_hosts_entry(url).unwrap_or_else(|| redact_url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_host_code_maps_to_its_own_variant_and_back() {
        for code in 1..=13 {
            let e = Error::from_code(code, "GET", "http://h/");
            assert_eq!(e.code(), Some(code), "{e}");
        }
        assert_eq!(Error::from_code(99, "GET", "http://h/").code(), Some(99));
        assert!(matches!(
            Error::from_code(crate::sys::UNSUPPORTED, "GET", "http://h/"),
            Error::Unsupported
        ));
    }

    #[test]
    fn denied_destination_names_url_and_entry_without_secrets() {
        let msg =
            Error::from_code(7, "GET", "http://user:pw@localhost:3000/x?sig=S3CR3T").to_string();
        assert!(msg.contains("http://localhost:3000/x"), "{msg}");
        assert!(msg.contains("\"http://localhost:3000\""), "{msg}");
        assert!(msg.contains("allowed_hosts"), "{msg}");
        assert!(!msg.contains("S3CR3T") && !msg.contains("pw"), "{msg}");
    }

    #[test]
    fn allowed_entry_without_explicit_port_and_ipv6() {
        assert_eq!(
            allowed_hosts_entry("https://example.com/"),
            "https://example.com"
        );
        assert_eq!(allowed_hosts_entry("http://[::1]:99/"), "http://[::1]:99");
        assert_eq!(allowed_hosts_entry("http://[::1]:80/"), "http://[::1]");
        assert_eq!(allowed_hosts_entry("https://h:443/x"), "https://h");
        assert_eq!(allowed_hosts_entry("not a url?sig=x"), "not a url?…");
    }

    #[test]
    fn redaction_handles_plain_strings() {
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("http://h"), "http://h");
    }
}
