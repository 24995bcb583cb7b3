//! The JWT codec of the test identity: compact JWS with HS256 (HMAC-SHA256 over
//! `base64url(header) "." base64url(claims)` with the issuer's key), as RFC 7519 and RFC 7515
//! define it. Only the signature and the shape are checked here; [`super::TrustedIssuer`]
//! checks issuer, audience and lifetime.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The fixed header of every token this codec writes: `{"alg":"HS256","typ":"JWT"}`.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Largest token accepted by [`decode`], in bytes (Entra ID tokens are a few KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The claims of an access token.
///
/// ```
/// let c = emulator::identity::Claims::new("https://issuer/", "https://storage.azure.com", 100, vec!["r".into()]);
/// assert_eq!(c.exp, 100);
/// assert!(c.has_any_role(&["r"]));
/// assert!(!c.has_any_role(&["w"]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (`iss`).
    pub iss: String,
    /// Audience (`aud`): the resource the token is for, e.g. `https://storage.azure.com`.
    pub aud: String,
    /// Expiry, Unix seconds (`exp`).
    pub exp: i64,
    /// Not before, Unix seconds (`nbf`).
    #[serde(default)]
    pub nbf: i64,
    /// Subject: the principal (`sub`).
    #[serde(default)]
    pub sub: String,
    /// Data-plane roles granted to the principal (`roles`).
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Claims {
    /// Claims for `aud` from `iss`, valid until `exp` (Unix seconds), with `roles`.
    pub fn new(iss: &str, aud: &str, exp: i64, roles: Vec<String>) -> Self {
        Self {
            iss: iss.into(),
            aud: aud.into(),
            exp,
            nbf: 0,
            sub: String::new(),
            roles,
        }
    }

    /// Whether one of `wanted` is among the token's roles.
    pub fn has_any_role(&self, wanted: &[&str]) -> bool {
        self.roles.iter().any(|r| wanted.contains(&r.as_str()))
    }
}

/// Why a token could not be decoded.
///
/// ```
/// use emulator::identity::{jwt, JwtError};
/// assert_eq!(jwt::decode("abc", b"k").unwrap_err(), JwtError::Malformed("it is not three dot-separated parts"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a compact JWS with a JSON header and claims.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// The header names another algorithm than HS256.
    #[error("the token's algorithm is not HS256")]
    Algorithm,
    /// The signature does not match the issuer's key.
    #[error("the token's signature does not match the issuer's key")]
    Signature,
}

fn mac(key: &[u8], signing_input: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; an empty key still yields a (useless) MAC.
    let mut m = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    m.update(signing_input.as_bytes());
    m
}

#[cold]
fn unreachable_hmac() -> ! {
    unreachable!("HMAC-SHA256 accepts keys of any length")
}

/// Sign `claims` with `key`: `header.claims.signature`, each part base64url without padding.
///
/// ```
/// use emulator::identity::{jwt, Claims};
/// let claims = Claims::new("iss", "aud", 10, vec![]);
/// let token = jwt::encode(&claims, b"key");
/// assert_eq!(token.split('.').count(), 3);
/// assert_eq!(jwt::decode(&token, b"key").unwrap(), claims);
/// ```
pub fn encode(claims: &Claims, key: &[u8]) -> String {
    let body = serde_json::to_vec(claims).unwrap_or_default();
    let input = format!("{}.{}", B64URL.encode(HEADER), B64URL.encode(body));
    let sig = mac(key, &input).finalize().into_bytes();
    format!("{input}.{}", B64URL.encode(sig))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Check the signature of `token` against `key` and return its claims.
///
/// ```
/// use emulator::identity::{jwt, Claims, JwtError};
/// let token = jwt::encode(&Claims::new("iss", "aud", 10, vec![]), b"key");
/// assert_eq!(jwt::decode(&token, b"other key").unwrap_err(), JwtError::Signature);
/// let mut tampered = token.clone();
/// tampered.insert(token.find('.').unwrap() + 1, 'A');
/// assert!(jwt::decode(&tampered, b"key").is_err());
/// ```
pub fn decode(token: &str, key: &[u8]) -> Result<Claims, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::Malformed("it is longer than 16 KiB"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("it is not three dot-separated parts"));
    };
    let header = B64URL
        .decode(h)
        .map_err(|_| JwtError::Malformed("the header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header)
        .map_err(|_| JwtError::Malformed("the header is not a JSON object with `alg`"))?;
    if header.alg != "HS256" {
        return Err(JwtError::Algorithm);
    }
    let sig = B64URL
        .decode(s)
        .map_err(|_| JwtError::Malformed("the signature is not base64url"))?;
    let input_len = h.len() + 1 + c.len();
    mac(key, &token[..input_len])
        .verify_slice(&sig)
        .map_err(|_| JwtError::Signature)?;
    let claims = B64URL
        .decode(c)
        .map_err(|_| JwtError::Malformed("the claims are not base64url"))?;
    serde_json::from_slice(&claims)
        .map_err(|_| JwtError::Malformed("the claims are not JSON with iss, aud and exp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_none_is_refused_even_without_signature() {
        let header = B64URL.encode(r#"{"alg":"none"}"#);
        let claims = B64URL.encode(r#"{"iss":"i","aud":"a","exp":1}"#);
        assert_eq!(
            decode(&format!("{header}.{claims}."), b"k"),
            Err(JwtError::Algorithm)
        );
    }

    #[test]
    fn oversized_and_extra_parts_are_malformed() {
        assert!(matches!(
            decode(&"a".repeat(MAX_TOKEN_BYTES + 1), b"k"),
            Err(JwtError::Malformed(_))
        ));
        let t = encode(&Claims::new("i", "a", 1, vec![]), b"k");
        assert!(matches!(
            decode(&format!("{t}.x"), b"k"),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn claims_round_trip_with_roles() {
        let mut c = Claims::new("i", "a", 42, vec!["Storage Blob Data Contributor".into()]);
        c.sub = "principal".into();
        let t = encode(&c, b"secret");
        assert_eq!(decode(&t, b"secret"), Ok(c));
    }
}
