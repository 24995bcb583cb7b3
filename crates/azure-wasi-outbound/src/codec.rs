//! The header wire format of the ABI: `name:value` lines separated by `\n`.

use crate::Error;
use http::HeaderMap;

/// Serialises request headers as `name:value` lines joined by `\n` (one line per value, so
/// repeated headers are kept), the format the `req` host function expects
/// ([`azure_wasi_abi::encode_request_headers`]).
///
/// ```
/// use http::HeaderMap;
/// let mut h = HeaderMap::new();
/// h.insert("content-type", "text/plain".parse().unwrap());
/// h.append("x-a", "1".parse().unwrap());
/// h.append("x-a", "2".parse().unwrap());
/// let wire = azure_wasi_outbound::encode_headers(&h);
/// assert_eq!(wire, b"content-type:text/plain\nx-a:1\nx-a:2");
/// ```
pub fn encode_headers(headers: &HeaderMap) -> Vec<u8> {
    azure_wasi_abi::encode_request_headers(headers)
}

/// Parses the `headers_get_all` output (`name:value\n` per value) into a [`HeaderMap`] that
/// keeps every value of repeated headers, in order ([`azure_wasi_abi::decode_response_headers`]).
///
/// Blank lines and a trailing `\r` are ignored; whitespace around names and values is trimmed.
///
/// ```
/// let h = azure_wasi_outbound::decode_headers(b"set-cookie:a=1\nset-cookie:b=2\nx:y:z\n").unwrap();
/// assert_eq!(h.get_all("set-cookie").iter().count(), 2);
/// assert_eq!(h["x"], "y:z");
/// ```
pub fn decode_headers(wire: &[u8]) -> Result<HeaderMap, Error> {
    azure_wasi_abi::decode_response_headers(wire)
        .map_err(|e| Error::InvalidResponseHeader { line: e.line })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn round_trip_keeps_repeats_order_and_binary_values() {
        let mut h = HeaderMap::new();
        h.append("x-multi", HeaderValue::from_static("one"));
        h.append("x-multi", HeaderValue::from_static("two, three"));
        h.append("x-bin", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        h.append("authorization", HeaderValue::from_static("SharedKey a:b=="));
        let decoded = decode_headers(&encode_headers(&h)).unwrap();
        assert_eq!(decoded, h);
        let multi: Vec<_> = decoded.get_all("x-multi").iter().collect();
        assert_eq!(multi, ["one", "two, three"]);
    }

    #[test]
    fn empty_map_encodes_to_nothing() {
        assert!(encode_headers(&HeaderMap::new()).is_empty());
        assert!(decode_headers(b"").unwrap().is_empty());
        assert!(decode_headers(b"\n\n").unwrap().is_empty());
    }

    #[test]
    fn names_are_case_insensitive_and_values_trimmed() {
        let h = decode_headers(b"Content-Type: text/html \r\nETAG:\"0x1\"\n").unwrap();
        assert_eq!(h["content-type"], "text/html");
        assert_eq!(h["etag"], "\"0x1\"");
    }

    #[test]
    fn value_may_contain_colons_and_be_empty() {
        let h = decode_headers(b"location:http://h:1/p\nx-empty:").unwrap();
        assert_eq!(h["location"], "http://h:1/p");
        assert_eq!(h["x-empty"], "");
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for bad in [
            &b"no colon here"[..],
            b":novalue",
            b"bad name:v",
            b"x:a\x00b",
        ] {
            match decode_headers(bad) {
                Err(Error::InvalidResponseHeader { line }) => assert!(!line.is_empty()),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
