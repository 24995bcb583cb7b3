//! Parsing what a CGI module wrote to stdout into an HTTP response.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};

/// Parses CGI output: header lines up to the first blank line, then the body.
///
/// `Status: 404 Not Found` sets the status; `Location` alone means 302; repeated headers are
/// kept. The error is a one-line reason fit for a 502 body.
///
/// ```
/// let out = bytes::Bytes::from_static(b"Content-Type: text/plain\nStatus: 201 Created\n\nhi");
/// let resp = harness::parse_cgi_output(out).unwrap();
/// assert_eq!(resp.status(), 201);
/// assert_eq!(resp.body().as_ref(), b"hi");
/// ```
pub fn parse_cgi_output(out: Bytes) -> Result<Response<Bytes>, String> {
    if out.is_empty() {
        return Err("the module wrote nothing to stdout; a handler must write headers, a blank line and the body".into());
    }
    let (head_end, body_start) = find_blank_line(&out).ok_or(
        "the module's output has no blank line after its headers; write `Content-Type: ...`, then an empty line, then the body",
    )?;
    let head = parse_cgi_head(&out[..head_end])?;
    Ok(head.map(|()| out.slice(body_start..)))
}

/// Parses a CGI header block (the bytes before the blank line) into a response head, with the
/// rules of [`parse_cgi_output`]: `Status` (never 1xx), `Location` alone is a 302, and a block
/// without `Content-Type`, `Location` or `Status` is refused with a hint.
pub(crate) fn parse_cgi_head(head: &[u8]) -> Result<Response<()>, String> {
    let head =
        std::str::from_utf8(head).map_err(|_| "the module's CGI headers are not valid UTF-8")?;
    let lines = head.split('\n').filter(|l| !l.trim().is_empty()).count();
    if lines > MAX_CGI_HEADERS {
        return Err(format!(
            "the module wrote {lines} header lines, more than the {MAX_CGI_HEADERS} a response may have"
        ));
    }
    let mut builder = Response::builder();
    let mut status: Option<StatusCode> = None;
    let mut has_location = false;
    let mut has_content_type = false;
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| {
            format!(
                "the module wrote a header line without ':': {:?}",
                clip(line)
            )
        })?;
        let name = name.trim();
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("");
            status = Some(
                code.parse::<u16>()
                    .ok()
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    // 1xx are interim answers of the connection, not a handler's response.
                    .filter(|c| !c.is_informational())
                    .ok_or_else(|| {
                        format!(
                            "the module's Status header {:?} is not a valid status code",
                            clip(value)
                        )
                    })?,
            );
            continue;
        }
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("the module wrote an invalid header name {:?}", clip(name)))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("the module wrote an invalid value for header {name}"))?;
        has_location |= header == http::header::LOCATION;
        has_content_type |= header == http::header::CONTENT_TYPE;
        builder = builder.header(header, value);
    }
    if status.is_none() && !has_location && !has_content_type {
        return Err("the module's headers have no Content-Type, Location or Status; add `Content-Type: ...`".into());
    }
    let status = status.unwrap_or(if has_location && !has_content_type {
        StatusCode::FOUND
    } else {
        StatusCode::OK
    });
    builder
        .status(status)
        .body(())
        .map_err(|e| format!("the module's response is invalid: {e}"))
}

/// Most header lines a module's CGI response may have: far more than any real response, far
/// fewer than would make the host's header map reach its size limit.
pub const MAX_CGI_HEADERS: usize = 1_000;

/// Position of the end of the headers and of the start of the body.
pub(crate) fn find_blank_line(out: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < out.len() {
        if out[i] == b'\n' {
            if out.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if out.get(i + 1) == Some(&b'\r') && out.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &'static [u8]) -> Result<Response<Bytes>, String> {
        parse_cgi_output(Bytes::from_static(s))
    }

    #[test]
    fn location_alone_is_a_redirect() {
        let r = parse(b"Location: /x\n\n").unwrap();
        assert_eq!(r.status(), 302);
        assert_eq!(r.headers()["location"], "/x");
    }

    #[test]
    fn repeated_headers_and_crlf() {
        let r = parse(b"Content-Type: a/b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n\x00\xff")
            .unwrap();
        assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
        assert_eq!(r.body().as_ref(), b"\x00\xff");
    }

    #[test]
    fn informational_status_is_refused() {
        let err =
            parse(b"Status: 101 Switching Protocols\nContent-Type: text/plain\n\nx").unwrap_err();
        assert!(err.contains("not a valid status"), "{err}");
        assert!(parse(b"Status: 199\n\n").is_err());
        assert_eq!(parse(b"Status: 200\n\n").unwrap().status(), 200);
    }

    #[test]
    fn a_flood_of_distinct_headers_is_an_error_not_a_panic() {
        let mut out = b"Content-Type: text/plain\n".to_vec();
        for i in 0..40_000 {
            out.extend_from_slice(format!("x-h{i}: v\n").as_bytes());
        }
        out.extend_from_slice(b"\nbody");
        let err = parse_cgi_output(Bytes::from(out)).unwrap_err();
        assert!(err.contains("40001 header lines"), "{err}");
        // Exactly the cap is fine.
        let mut out = b"Content-Type: text/plain\n".to_vec();
        for i in 1..MAX_CGI_HEADERS {
            out.extend_from_slice(format!("x-h{i}: v\n").as_bytes());
        }
        out.extend_from_slice(b"\n");
        let ok = parse_cgi_output(Bytes::from(out)).unwrap();
        assert_eq!(ok.headers().len(), MAX_CGI_HEADERS);
    }

    #[test]
    fn invalid_outputs_have_reasons() {
        assert!(parse(b"").unwrap_err().contains("nothing"));
        assert!(parse(b"hello world").unwrap_err().contains("blank line"));
        assert!(parse(b"no colon\n\n").unwrap_err().contains("without ':'"));
        assert!(parse(b"X-A: 1\n\nbody")
            .unwrap_err()
            .contains("Content-Type"));
        assert!(parse(b"Status: abc\n\n")
            .unwrap_err()
            .contains("not a valid status"));
    }
}
