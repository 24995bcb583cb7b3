//! Master-key authorization tokens: signing (for clients and tests) and verification.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Characters left as-is when the token is URL-encoded (the same set as JavaScript's
/// `encodeURIComponent`, which Microsoft's SDKs use).
const TOKEN_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The string a master-key token signs:
/// `lower(verb)\nlower(resourceType)\nresourceLink\nlower(date)\n\n`.
///
/// ```
/// let s = emulator::cosmos::auth::string_to_sign("POST", "docs", "dbs/db1/colls/c1", "Tue, 01 Nov 2022 00:00:00 GMT");
/// assert_eq!(s, "post\ndocs\ndbs/db1/colls/c1\ntue, 01 nov 2022 00:00:00 gmt\n\n");
/// ```
pub fn string_to_sign(verb: &str, resource_type: &str, resource_link: &str, date: &str) -> String {
    format!(
        "{}\n{}\n{}\n{}\n\n",
        verb.to_lowercase(),
        resource_type.to_lowercase(),
        resource_link,
        date.to_lowercase()
    )
}

/// Computes the (not yet URL-encoded) master-key token `type=master&ver=1.0&sig=...`.
/// Returns `None` when `key_b64` is not valid base64.
///
/// ```
/// use emulator::cosmos::auth::master_token;
/// let t = master_token(emulator::cosmos::EMULATOR_MASTER_KEY, "GET", "dbs", "", "Tue, 01 Nov 2022 00:00:00 GMT").unwrap();
/// assert!(t.starts_with("type=master&ver=1.0&sig="));
/// ```
pub fn master_token(
    key_b64: &str,
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    date: &str,
) -> Option<String> {
    let key = B64.decode(key_b64).ok()?;
    let mut mac = HmacSha256::new_from_slice(&key).ok()?;
    mac.update(string_to_sign(verb, resource_type, resource_link, date).as_bytes());
    let sig = B64.encode(mac.finalize().into_bytes());
    Some(format!("type=master&ver=1.0&sig={sig}"))
}

/// The `Authorization` header value: [`master_token`] URL-encoded.
///
/// ```
/// use emulator::cosmos::auth::authorization_header;
/// let h = authorization_header(emulator::cosmos::EMULATOR_MASTER_KEY, "GET", "", "", "Tue, 01 Nov 2022 00:00:00 GMT").unwrap();
/// assert!(h.starts_with("type%3Dmaster%26ver%3D1.0%26sig%3D"));
/// ```
pub fn authorization_header(
    key_b64: &str,
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    date: &str,
) -> Option<String> {
    let token = master_token(key_b64, verb, resource_type, resource_link, date)?;
    Some(utf8_percent_encode(&token, TOKEN_ENCODE).to_string())
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// Not of the form `type=..&ver=..&sig=..`.
    Malformed(&'static str),
    /// A resource token (`type=resource`), which this emulator does not accept.
    ResourceToken,
    /// Well-formed master token whose signature does not match.
    BadSignature,
}

/// A decoded master key, ready to verify tokens.
#[derive(Clone)]
pub(crate) struct MasterKeys {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKeys({} keys, redacted)", self.keys.len())
    }
}

impl MasterKeys {
    /// Decodes the base64 keys; `None` if one is invalid.
    pub(crate) fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Option<MasterKeys> {
        let keys = keys
            .into_iter()
            .map(|k| B64.decode(k.trim()).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(MasterKeys { keys })
    }

    /// Verifies the (possibly URL-encoded) `Authorization` header against each resource link
    /// candidate (the decoded link first, then the link as it appeared on the wire).
    pub(crate) fn verify(
        &self,
        header: &str,
        verb: &str,
        resource_type: &str,
        links: &[&str],
        date: &str,
    ) -> Result<(), TokenProblem> {
        let decoded = percent_decode_str(header.trim())
            .decode_utf8()
            .map_err(|_| {
                TokenProblem::Malformed("the token is not valid UTF-8 after URL decoding")
            })?;
        let (mut ty, mut ver, mut sig) = (None, None, None);
        for part in decoded.split('&') {
            let (k, v) = part
                .split_once('=')
                .ok_or(TokenProblem::Malformed("expected type=..&ver=..&sig=.."))?;
            match k.trim() {
                "type" => ty = Some(v.trim()),
                "ver" => ver = Some(v.trim()),
                "sig" => sig = Some(v.trim()),
                _ => {}
            }
        }
        let ty = ty.ok_or(TokenProblem::Malformed("the token has no type"))?;
        let ver = ver.ok_or(TokenProblem::Malformed("the token has no ver"))?;
        let sig = sig.ok_or(TokenProblem::Malformed("the token has no sig"))?;
        if ty.eq_ignore_ascii_case("resource") {
            return Err(TokenProblem::ResourceToken);
        }
        if !ty.eq_ignore_ascii_case("master") {
            return Err(TokenProblem::Malformed("the token type must be master"));
        }
        if ver != "1.0" {
            return Err(TokenProblem::Malformed("the token version must be 1.0"));
        }
        let sig = B64
            .decode(sig)
            .map_err(|_| TokenProblem::Malformed("the signature is not base64"))?;
        for key in &self.keys {
            for link in links {
                let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
                    continue;
                };
                mac.update(string_to_sign(verb, resource_type, link, date).as_bytes());
                if mac.verify_slice(&sig).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(TokenProblem::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_token_and_header() {
        let date = "Tue, 01 Nov 2022 00:00:00 GMT";
        let key = crate::cosmos::EMULATOR_MASTER_KEY;
        assert_eq!(
            master_token(key, "POST", "docs", "dbs/db1/colls/c1", date).as_deref(),
            Some("type=master&ver=1.0&sig=UoKzqfYnbmpDpNTpaL89yQ3FrSxB8JsvzeJSMJxkqXY=")
        );
        let header = authorization_header(key, "POST", "docs", "dbs/db1/colls/c1", date);
        assert_eq!(
            header.as_deref(),
            Some(
                "type%3Dmaster%26ver%3D1.0%26sig%3DUoKzqfYnbmpDpNTpaL89yQ3FrSxB8JsvzeJSMJxkqXY%3D"
            )
        );
        let keys = MasterKeys::new([key]).expect("valid key");
        let header = header.expect("header");
        assert_eq!(
            keys.verify(&header, "POST", "docs", &["dbs/db1/colls/c1"], date),
            Ok(())
        );
        // Resource link case is significant.
        assert_eq!(
            keys.verify(&header, "POST", "docs", &["dbs/DB1/colls/c1"], date),
            Err(TokenProblem::BadSignature)
        );
    }

    #[test]
    fn malformed_tokens() {
        let keys = MasterKeys::new([crate::cosmos::EMULATOR_MASTER_KEY]).expect("valid key");
        assert!(matches!(
            keys.verify("garbage", "GET", "", &[""], "x"),
            Err(TokenProblem::Malformed(_))
        ));
        assert_eq!(
            keys.verify("type=resource&ver=1.0&sig=abc", "GET", "", &[""], "x"),
            Err(TokenProblem::ResourceToken)
        );
    }
}
