//! The two header blocks of the ABI.
//!
//! Both are `name:value` lines separated by `\n`, one line per value (repeated headers keep
//! every value, in order). The guest sends request headers joined by `\n` without a trailing
//! newline; the host answers `headers_get_all` with `name:value\n` per value, names lower-case.
//!
//! Decoding is the same rule in both directions: blank lines and a trailing `\r` are ignored,
//! the name is everything before the first `:`, whitespace around the name and the value is
//! trimmed (it is not part of an HTTP field value), and the name must be a token and the value
//! free of control characters. The request block must also be UTF-8 (code 6), as the original
//! host requires.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::Code;

/// One `name:value` line, or `None` when it is not a valid header line.
fn parse_line(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let colon = line.iter().position(|b| *b == b':')?;
    let name = HeaderName::from_bytes(line[..colon].trim_ascii()).ok()?;
    let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
    Some((name, value))
}

/// The non-blank lines of a block, each without its trailing `\r`.
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block
        .split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

/// Serialises request headers for `req`: `name:value` lines joined by `\n`, one line per value,
/// no trailing newline.
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.insert("content-type", "text/plain".parse().unwrap());
/// h.append("x-a", "1".parse().unwrap());
/// h.append("x-a", "2".parse().unwrap());
/// assert_eq!(azure_wasi_abi::encode_request_headers(&h), b"content-type:text/plain\nx-a:1\nx-a:2");
/// assert!(azure_wasi_abi::encode_request_headers(&http::HeaderMap::new()).is_empty());
/// ```
pub fn encode_request_headers(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len() * 32);
    for (name, value) in headers {
        if !out.is_empty() {
            out.push(b'\n');
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// Parses the request header block a guest passed to `req`.
///
/// Not UTF-8 is [`Code::Utf8`]; a line without `:` or with an invalid name or value, or more
/// distinct names than a header map holds, is [`Code::InvalidEncoding`] (the original host
/// panicked there).
///
/// ```
/// use azure_wasi_abi::{decode_request_headers, Code};
/// let h = decode_request_headers(b"Content-Type:text/plain\nx-ms-a: 1\r\nx-ms-a:2\n\n").unwrap();
/// assert_eq!(h["content-type"], "text/plain");
/// assert_eq!(h.get_all("x-ms-a").iter().collect::<Vec<_>>(), ["1", "2"]);
/// assert_eq!(decode_request_headers(b"bad name:x"), Err(Code::InvalidEncoding));
/// assert_eq!(decode_request_headers(b"x:\xff"), Err(Code::Utf8));
/// ```
pub fn decode_request_headers(block: &[u8]) -> Result<HeaderMap, Code> {
    std::str::from_utf8(block).map_err(|_| Code::Utf8)?;
    let mut headers = HeaderMap::new();
    for line in lines(block) {
        let (name, value) = parse_line(line).ok_or(Code::InvalidEncoding)?;
        // More distinct names than a header map holds (about 24,000): refused, not a panic.
        headers
            .try_append(name, value)
            .map_err(|_| Code::InvalidEncoding)?;
    }
    Ok(headers)
}

/// Serialises response headers for `headers_get_all`: `name:value\n` per value, names
/// lower-case, repeats kept.
///
/// ```
/// let mut h = http::HeaderMap::new();
/// h.append("Set-Cookie", "a=1".parse().unwrap());
/// h.append("set-cookie", "b=2".parse().unwrap());
/// assert_eq!(azure_wasi_abi::encode_response_headers(&h), b"set-cookie:a=1\nset-cookie:b=2\n");
/// ```
pub fn encode_response_headers(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len() * 32);
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Parses the block `headers_get_all` returned into a [`HeaderMap`] that keeps every value of
/// repeated headers, in order. Values need not be UTF-8.
///
/// ```
/// let h = azure_wasi_abi::decode_response_headers(b"set-cookie:a=1\nset-cookie:b=2\nx:y:z\n").unwrap();
/// assert_eq!(h.get_all("set-cookie").iter().count(), 2);
/// assert_eq!(h["x"], "y:z");
/// let err = azure_wasi_abi::decode_response_headers(b"ok:1\nno colon").unwrap_err();
/// assert_eq!(err.line, "no colon");
/// ```
pub fn decode_response_headers(block: &[u8]) -> Result<HeaderMap, InvalidHeaderLine> {
    let mut headers = HeaderMap::new();
    for line in lines(block) {
        let (name, value) = parse_line(line).ok_or_else(|| InvalidHeaderLine::new(line))?;
        headers
            .try_append(name, value)
            .map_err(|_| InvalidHeaderLine {
                too_many: true,
                ..InvalidHeaderLine::new(line)
            })?;
    }
    Ok(headers)
}

/// A response header line that is not `name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeaderLine {
    /// The offending line (lossy UTF-8, at most 100 characters).
    pub line: String,
    /// The line is valid, but its name is one more than a header map holds.
    too_many: bool,
}

impl InvalidHeaderLine {
    fn new(line: &[u8]) -> Self {
        Self {
            line: String::from_utf8_lossy(line).chars().take(100).collect(),
            too_many: false,
        }
    }
}

impl fmt::Display for InvalidHeaderLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.too_many {
            write!(
                f,
                "header line {:?} is one distinct header name too many for a header map",
                self.line
            )
        } else {
            write!(f, "header line {:?} is not `name:value`", self.line)
        }
    }
}

impl std::error::Error for InvalidHeaderLine {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_block_round_trip_keeps_repeats_and_order() {
        let mut h = HeaderMap::new();
        h.append("x-multi", HeaderValue::from_static("one"));
        h.append("x-multi", HeaderValue::from_static("two, three"));
        h.append("authorization", HeaderValue::from_static("SharedKey a:b=="));
        h.append("location", HeaderValue::from_static("http://h:1/p"));
        h.append("x-empty", HeaderValue::from_static(""));
        assert_eq!(decode_request_headers(&encode_request_headers(&h)), Ok(h));
    }

    #[test]
    fn response_block_round_trip_keeps_binary_values() {
        let mut h = HeaderMap::new();
        h.append("x-bin", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        h.append("etag", HeaderValue::from_static("\"0x1\""));
        h.append("etag", HeaderValue::from_static("\"0x2\""));
        let block = encode_response_headers(&h);
        assert_eq!(block, b"x-bin:caf\xe9\netag:\"0x1\"\netag:\"0x2\"\n");
        assert_eq!(decode_response_headers(&block), Ok(h));
    }

    #[test]
    fn names_are_case_insensitive_and_values_trimmed() {
        let h = decode_response_headers(b"Content-Type: text/html \r\nETAG:\"0x1\"\n").unwrap();
        assert_eq!(h["content-type"], "text/html");
        assert_eq!(h["etag"], "\"0x1\"");
        let h = decode_request_headers(b" X-A :\tv\t").unwrap();
        assert_eq!(h["x-a"], "v");
    }

    #[test]
    fn empty_blocks_are_empty_maps() {
        for block in [&b""[..], b"\n", b"\n\n", b"\r\n", b"  \n\t"] {
            assert!(decode_request_headers(block).unwrap().is_empty());
            assert!(decode_response_headers(block).unwrap().is_empty());
        }
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            &b"no colon here"[..],
            b":novalue",
            b"bad name:v",
            b"x:a\x00b",
            b"x:a\x7fb",
        ] {
            assert_eq!(
                decode_request_headers(bad),
                Err(Code::InvalidEncoding),
                "{bad:?}"
            );
            let err = decode_response_headers(bad).unwrap_err();
            assert!(!err.line.is_empty(), "{bad:?}");
            assert!(err.to_string().contains("name:value"));
        }
        assert_eq!(decode_request_headers(b"a:\xe9"), Err(Code::Utf8));
    }

    #[test]
    fn long_bad_lines_are_cut_to_100_characters() {
        let line = vec![b'x'; 500];
        assert_eq!(decode_response_headers(&line).unwrap_err().line.len(), 100);
    }
}
