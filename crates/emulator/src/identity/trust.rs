//! Verifying bearer tokens: signature against the issuer's key, then issuer, audience and
//! lifetime, each refused with a reason that names the claim (never the token).

use super::jwt::{self, Claims, JwtError};
use super::IdentityConfig;

/// Audience of Blob Storage tokens (scope `https://storage.azure.com/.default`).
pub const STORAGE_AUDIENCE: &str = "https://storage.azure.com";
/// Audience of Cosmos DB tokens (scope `https://cosmos.azure.com/.default`).
pub const COSMOS_AUDIENCE: &str = "https://cosmos.azure.com";
/// Audience of EventGrid tokens (scope `https://eventgrid.azure.net/.default`).
pub const EVENTGRID_AUDIENCE: &str = "https://eventgrid.azure.net";

/// Why a bearer token was refused (the text is for the error's detail; it never holds the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not a well-formed HS256 JWT, or a bad signature.
    #[error("{0}")]
    Jwt(#[from] JwtError),
    /// `iss` is not the trusted issuer.
    #[error("Issuer validation failed: the token's issuer `{0}` is not the trusted issuer.")]
    Issuer(String),
    /// `aud` is not the service's audience.
    #[error("Audience validation failed: the token's audience `{got}` is not `{expected}`; request a token for scope `{expected}/.default`.")]
    Audience {
        /// The audience the service expects.
        expected: &'static str,
        /// The token's audience.
        got: String,
    },
    /// `exp` has passed.
    #[error(
        "Lifetime validation failed: the token expired at {0} (Unix seconds); get a new token."
    )]
    Expired(i64),
    /// `nbf` is in the future.
    #[error("Lifetime validation failed: the token is not valid before {0} (Unix seconds).")]
    NotYetValid(i64),
}

/// The issuer the emulators trust, with its decoded key.
///
/// ```
/// use emulator::identity::{TrustedIssuer, IdentityConfig, TokenRejection, STORAGE_AUDIENCE};
/// let trust = TrustedIssuer::from_config(&IdentityConfig::default()).unwrap();
/// let now = 1_000;
/// let token = trust.issue(STORAGE_AUDIENCE, vec![], now, 60);
/// assert_eq!(trust.verify(&token, STORAGE_AUDIENCE, now).unwrap().aud, STORAGE_AUDIENCE);
/// assert_eq!(trust.verify(&token, STORAGE_AUDIENCE, now + 61).unwrap_err(), TokenRejection::Expired(now + 60));
/// assert!(matches!(trust.verify(&token, "https://eventgrid.azure.net", now), Err(TokenRejection::Audience { .. })));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    issuer: String,
    key: Vec<u8>,
    principal: String,
}

impl std::fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuer", &self.issuer)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl TrustedIssuer {
    /// The issuer of `config` (`None` when its key is not base64).
    pub fn from_config(config: &IdentityConfig) -> Option<Self> {
        Some(Self {
            issuer: config.issuer.clone(),
            key: crate::util::decode_key(&config.signing_key).ok()?,
            principal: config.principal_id.clone(),
        })
    }

    /// A signed token for `audience` with `roles`, valid from `now` for `lifetime_secs`.
    pub fn issue(
        &self,
        audience: &str,
        roles: Vec<String>,
        now: i64,
        lifetime_secs: u64,
    ) -> String {
        let mut claims = Claims::new(
            &self.issuer,
            audience,
            now.saturating_add(lifetime_secs.min(i64::MAX as u64) as i64),
            roles,
        );
        claims.nbf = now;
        claims.sub = self.principal.clone();
        jwt::encode(&claims, &self.key)
    }

    /// Check `token` for `audience` at `now` (Unix seconds). A trailing `/` on the token's
    /// audience is accepted, as Azure accepts both forms.
    pub fn verify(
        &self,
        token: &str,
        audience: &'static str,
        now: i64,
    ) -> Result<Claims, TokenRejection> {
        let claims = jwt::decode(token, &self.key)?;
        if claims.iss != self.issuer {
            return Err(TokenRejection::Issuer(claims.iss));
        }
        if claims.aud.trim_end_matches('/') != audience {
            return Err(TokenRejection::Audience {
                expected: audience,
                got: claims.aud,
            });
        }
        if now >= claims.exp {
            return Err(TokenRejection::Expired(claims.exp));
        }
        if now < claims.nbf {
            return Err(TokenRejection::NotYetValid(claims.nbf));
        }
        Ok(claims)
    }
}
