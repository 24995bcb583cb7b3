//! The method rule: an upper-case HTTP method token.

use http::Method;

use crate::Code;

/// The method as a guest sends it: the token upper-cased (the host rejects lower case).
///
/// ```
/// let patch = http::Method::from_bytes(b"patch").unwrap();
/// assert_eq!(azure_wasi_abi::encode_method(&patch), "PATCH");
/// assert_eq!(azure_wasi_abi::parse_method(azure_wasi_abi::encode_method(&patch).as_bytes()), Ok(http::Method::PATCH));
/// ```
pub fn encode_method(method: &Method) -> String {
    method.as_str().to_ascii_uppercase()
}

/// Parses the method a guest passed to `req`: not UTF-8 is [`Code::Utf8`]; empty, containing
/// a lower-case letter, or not a token is [`Code::InvalidMethod`].
///
/// ```
/// use azure_wasi_abi::{parse_method, Code};
/// assert_eq!(parse_method(b"GET"), Ok(http::Method::GET));
/// assert_eq!(parse_method(b"get"), Err(Code::InvalidMethod));
/// assert_eq!(parse_method(b"G T"), Err(Code::InvalidMethod));
/// assert_eq!(parse_method(b"\xff"), Err(Code::Utf8));
/// ```
pub fn parse_method(bytes: &[u8]) -> Result<Method, Code> {
    std::str::from_utf8(bytes).map_err(|_| Code::Utf8)?;
    if bytes.is_empty() || bytes.iter().any(u8::is_ascii_lowercase) {
        return Err(Code::InvalidMethod);
    }
    Method::from_bytes(bytes).map_err(|_| Code::InvalidMethod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert_eq!(parse_method(b"PATCH"), Ok(Method::PATCH));
        assert_eq!(parse_method(b"PROPFIND").unwrap().as_str(), "PROPFIND");
        assert_eq!(parse_method(b""), Err(Code::InvalidMethod));
        assert_eq!(parse_method(b"Get"), Err(Code::InvalidMethod));
        assert_eq!(parse_method(b"GET\n"), Err(Code::InvalidMethod));
        for m in [
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::HEAD,
        ] {
            assert_eq!(parse_method(encode_method(&m).as_bytes()), Ok(m));
        }
    }
}
