//! The text formats of the ABI: request header lines in, response header lines out.

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::codes::{AbiResult, Code};

/// Parses request headers sent as `Name:value` lines separated by `\n`.
///
/// Empty lines are skipped; a line without `:` or with an invalid name or value is code 9
/// (the original host panicked here).
pub(crate) fn parse_request_headers(text: &str) -> AbiResult<HeaderMap> {
    let mut headers = HeaderMap::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(Code::InvalidEncoding)?;
        let name =
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| Code::InvalidEncoding)?;
        let value = HeaderValue::from_str(value.trim_start()).map_err(|_| Code::InvalidEncoding)?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// Response headers as `name:value\n` per value, names lower-case, repeats kept.
pub(crate) fn format_response_headers(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers.iter() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Parses an upper-case method token (code 8 otherwise).
pub(crate) fn parse_method(text: &str) -> AbiResult<Method> {
    if text.is_empty() || text.bytes().any(|b| b.is_ascii_lowercase()) {
        return Err(Code::InvalidMethod);
    }
    Method::from_bytes(text.as_bytes()).map_err(|_| Code::InvalidMethod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_round_trip() {
        let h = parse_request_headers("Content-Type:text/plain\nx-ms-a: 1\nx-ms-a:2\n\n").unwrap();
        assert_eq!(h["content-type"], "text/plain");
        assert_eq!(h.get_all("x-ms-a").iter().count(), 2);
        let out = String::from_utf8(format_response_headers(&h)).unwrap();
        assert_eq!(out, "content-type:text/plain\nx-ms-a:1\nx-ms-a:2\n");
    }

    #[test]
    fn bad_lines_are_code_9() {
        assert_eq!(
            parse_request_headers("no colon"),
            Err(Code::InvalidEncoding)
        );
        assert_eq!(
            parse_request_headers("bad name:x"),
            Err(Code::InvalidEncoding)
        );
        assert_eq!(
            parse_request_headers("a:b\u{7f}"),
            Err(Code::InvalidEncoding)
        );
        assert!(parse_request_headers("").unwrap().is_empty());
    }

    #[test]
    fn methods() {
        assert_eq!(parse_method("GET").unwrap(), Method::GET);
        assert_eq!(parse_method("PATCH").unwrap(), Method::PATCH);
        assert_eq!(parse_method("get"), Err(Code::InvalidMethod));
        assert_eq!(parse_method(""), Err(Code::InvalidMethod));
        assert_eq!(parse_method("G T"), Err(Code::InvalidMethod));
    }
}
