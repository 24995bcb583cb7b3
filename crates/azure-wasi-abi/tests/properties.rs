//! Property tests: both header blocks round-trip, and no decoder panics on arbitrary bytes.

use azure_wasi_abi::{
    allowed_hosts_entry, decode_request_headers, decode_response_headers, encode_method,
    encode_request_headers, encode_response_headers, parse_method, Code,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(4096)
}

fn name() -> impl Strategy<Value = HeaderName> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}".prop_map(|n| HeaderName::from_bytes(n.as_bytes()).unwrap())
}

/// A UTF-8 field value without control characters and without surrounding whitespace.
fn text_value() -> impl Strategy<Value = HeaderValue> {
    "([!-~é€😀]([ \t!-~é€😀]{0,30}[!-~é€😀])?)?".prop_map(|v| {
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_bytes(v.as_bytes()).unwrap())
    })
}

/// Any field value bytes (obs-text included) without surrounding whitespace.
fn byte_value() -> impl Strategy<Value = HeaderValue> {
    let byte = prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff];
    prop::collection::vec(byte, 0..40)
        .prop_map(|v| HeaderValue::from_bytes(v.trim_ascii()).unwrap())
}

fn map(value: impl Strategy<Value = HeaderValue>) -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec((name(), value), 0..12).prop_map(|pairs| {
        let mut headers = HeaderMap::new();
        for (n, v) in pairs {
            headers.append(n, v);
        }
        headers
    })
}

/// Bytes that are often almost a header block.
fn block() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        any::<u8>(),
        Just(b':'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b' '),
        b'a'..=b'z',
    ];
    prop::collection::vec(byte, 0..200)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_block_round_trips(headers in map(text_value())) {
        let block = encode_request_headers(&headers);
        prop_assert!(!block.ends_with(b"\n"));
        prop_assert_eq!(decode_request_headers(&block), Ok(headers));
    }

    #[test]
    fn response_block_round_trips(headers in map(byte_value())) {
        let block = encode_response_headers(&headers);
        prop_assert_eq!(block.iter().filter(|b| **b == b'\n').count(), headers.len());
        prop_assert_eq!(decode_response_headers(&block), Ok(headers));
    }

    #[test]
    fn request_decoder_never_panics_and_what_it_accepts_round_trips(bytes in block()) {
        match decode_request_headers(&bytes) {
            Ok(headers) => prop_assert_eq!(decode_request_headers(&encode_request_headers(&headers)), Ok(headers)),
            Err(code) => prop_assert!(code == Code::Utf8 || code == Code::InvalidEncoding),
        }
    }

    #[test]
    fn response_decoder_never_panics_and_what_it_accepts_round_trips(bytes in block()) {
        match decode_response_headers(&bytes) {
            Ok(headers) => prop_assert_eq!(decode_response_headers(&encode_response_headers(&headers)), Ok(headers)),
            Err(e) => prop_assert!(e.line.chars().count() <= 100),
        }
    }

    #[test]
    fn method_rule_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..20)) {
        if let Ok(method) = parse_method(&bytes) {
            prop_assert_eq!(method.as_str().as_bytes(), &bytes[..]);
            prop_assert_eq!(parse_method(encode_method(&method).as_bytes()), Ok(method));
        }
    }

    #[test]
    fn every_token_method_encodes_to_one_the_host_accepts(token in "[A-Za-z!#$%&'*+.^_`|~-]{1,12}") {
        let method = Method::from_bytes(token.as_bytes()).unwrap();
        prop_assert!(parse_method(encode_method(&method).as_bytes()).is_ok());
    }

    #[test]
    fn hint_never_panics(text in "\\PC{0,60}") {
        let _ = allowed_hosts_entry(&text);
    }

    #[test]
    fn hint_names_the_same_scheme_host_and_port(
        https in any::<bool>(),
        host in prop_oneof!["[a-z][a-z0-9-]{0,10}(\\.[a-z]{1,5}){0,3}", Just("[::1]".to_string()), Just("127.0.0.1".to_string())],
        port in prop::option::of(any::<u16>()),
        path in "(/[a-z0-9?=&]{0,10}){0,3}",
    ) {
        let scheme = if https { "https" } else { "http" };
        let default = if https { 443 } else { 80 };
        let url = match port {
            Some(p) => format!("{scheme}://{host}:{p}{path}"),
            None => format!("{scheme}://{host}{path}"),
        };
        let entry = allowed_hosts_entry(&url).unwrap();
        let uri: http::Uri = entry.parse().unwrap();
        prop_assert_eq!(uri.scheme_str(), Some(scheme));
        prop_assert_eq!(uri.host(), Some(host.as_str()));
        prop_assert_eq!(uri.port_u16().unwrap_or(default), port.unwrap_or(default));
        prop_assert_eq!(uri.port_u16() == Some(default), false, "default port is left out: {}", entry);
    }
}

/// `n` header lines, `distinct` of them with their own name, the rest repeating one name.
fn many_lines(n: usize, distinct: usize, crlf: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 12);
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        if i < distinct {
            out.extend_from_slice(format!("x-h{i}:v").as_bytes());
        } else {
            out.extend_from_slice(b"x-same:v");
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn codes_round_trip_and_nothing_else_is_a_code(value in any::<i32>()) {
        match Code::from_i32(value) {
            Some(code) => prop_assert_eq!(code.as_i32(), value),
            None => prop_assert!(!(0..=13).contains(&value)),
        }
    }

    #[test]
    fn every_code_round_trips(index in 0usize..Code::ALL.len()) {
        let code = Code::ALL[index];
        prop_assert_eq!(Code::from_i32(code.as_i32()), Some(code));
    }

    #[test]
    fn response_decoder_error_names_the_line(
        good in map(text_value()),
        bad in "[a-z]{1,10}( [a-z]{1,10})?",
    ) {
        // A line without ':' after valid lines: the error quotes that line.
        let mut block = encode_response_headers(&good);
        block.extend_from_slice(bad.as_bytes());
        let err = decode_response_headers(&block).unwrap_err();
        prop_assert_eq!(&err.line, &bad);
        let message = err.to_string();
        prop_assert!(message.contains(&bad) && message.contains("name:value"), "{}", message);
        // The request decoder refuses the same block with the encoding code.
        let mut request = encode_request_headers(&good);
        request.extend_from_slice(b"\n");
        request.extend_from_slice(bad.as_bytes());
        prop_assert_eq!(decode_request_headers(&request), Err(Code::InvalidEncoding));
    }
}

proptest! {
    // Blocks of up to 50,000 lines: a few cases, each still well under a second.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn huge_header_counts_never_panic(
        n in prop_oneof![0usize..100, 30_000usize..50_000],
        distinct_share in 0.0f64..=1.0,
        crlf in any::<bool>(),
    ) {
        let distinct = (n as f64 * distinct_share) as usize;
        let block = many_lines(n, distinct, crlf);
        // Every line is valid: the only refusal is for more distinct names than a map holds.
        match decode_request_headers(&block) {
            Ok(headers) => prop_assert_eq!(headers.len(), n),
            Err(code) => {
                prop_assert_eq!(code, Code::InvalidEncoding);
                prop_assert!(distinct > 20_000, "refused only {} distinct names", distinct);
            }
        }
        match decode_response_headers(&block) {
            Ok(headers) => prop_assert_eq!(headers.len(), n),
            Err(e) => {
                prop_assert!(e.line.starts_with("x-h") && e.line.ends_with(":v"), "{}", e.line);
                let message = e.to_string();
                prop_assert!(message.contains(&e.line) && message.contains("too many"), "{}", message);
            }
        }
    }
}
