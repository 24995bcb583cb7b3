//! The `[emulators.identity]` table: the test issuer every emulator trusts, and its
//! managed-identity endpoint.

use serde::Deserialize;

use crate::limits::ServerLimits;
use crate::{Error, Result};

use super::roles;

/// The issuer of the test identity (a placeholder tenant; never a real one).
pub const DEV_ISSUER: &str = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/";
/// The documented signing key of [`DEV_ISSUER`] (public, for local use only; base64).
pub const DEV_SIGNING_KEY: &str = "ZW11bGF0b3ItaWRlbnRpdHktZGV2LXNpZ25pbmcta2V5LTAwMDA=";
/// The documented `X-IDENTITY-HEADER` value of the test endpoint (public, for local use only).
pub const DEV_IDENTITY_HEADER: &str = "emulator-identity-header";

/// The test identity: which issuer the Blob, Cosmos DB and EventGrid emulators trust for
/// `Bearer` tokens, and the managed-identity endpoint that issues them (started only with
/// `enabled = true`, so existing configurations bind no extra port).
///
/// ```
/// let c: emulator::IdentityConfig = toml::from_str("enabled = true\nport = 0").unwrap();
/// assert_eq!(c.issuer, emulator::identity::DEV_ISSUER);
/// assert!(c.roles.iter().any(|r| r == "Storage Blob Data Contributor"));
/// assert!(toml::from_str::<emulator::IdentityConfig>("prot = 1").is_err());
/// assert!(!format!("{c:?}").contains(emulator::identity::DEV_SIGNING_KEY));
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Start the managed-identity endpoint.
    pub enabled: bool,
    /// Loopback port of the endpoint (0 = any free port).
    pub port: u16,
    /// `iss` of issued tokens; the only issuer the emulators accept.
    pub issuer: String,
    /// Base64 HMAC-SHA256 key that signs and verifies tokens.
    pub signing_key: String,
    /// The secret a caller sends as `X-IDENTITY-HEADER` (App Service's `IDENTITY_HEADER`).
    pub identity_header: String,
    /// Lifetime of issued tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// `roles` of issued tokens (see [`super::roles`] for the names each service checks).
    pub roles: Vec<String>,
    /// `sub` of issued tokens: the principal.
    pub principal_id: String,
    /// Timeouts and connection cap of the endpoint's server.
    pub limits: ServerLimits,
}

impl std::fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("enabled", &self.enabled)
            .field("port", &self.port)
            .field("issuer", &self.issuer)
            .field("signing_key", &"<redacted>")
            .field("identity_header", &"<redacted>")
            .field("token_lifetime_secs", &self.token_lifetime_secs)
            .field("roles", &self.roles)
            .field("principal_id", &self.principal_id)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            port: 8083,
            issuer: DEV_ISSUER.into(),
            signing_key: DEV_SIGNING_KEY.into(),
            identity_header: DEV_IDENTITY_HEADER.into(),
            token_lifetime_secs: 3600,
            roles: vec![
                roles::BLOB_CONTRIBUTOR.into(),
                roles::COSMOS_CONTRIBUTOR.into(),
                roles::EVENTGRID_SENDER.into(),
            ],
            principal_id: "00000000-0000-0000-0000-0000000000aa".into(),
            limits: ServerLimits::default(),
        }
    }
}

impl IdentityConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        self.limits.validate("identity.limits")?;
        let key = crate::util::decode_key(&self.signing_key)
            .map_err(|_| Error::Config("identity.signing_key is not valid base64".into()))?;
        if key.len() < 16 {
            return Err(Error::Config(
                "identity.signing_key must decode to at least 16 bytes".into(),
            ));
        }
        if self.issuer.is_empty() || self.identity_header.is_empty() {
            return Err(Error::Config(
                "identity.issuer and identity.identity_header must not be empty".into(),
            ));
        }
        if self.token_lifetime_secs == 0 {
            return Err(Error::Config(
                "identity.token_lifetime_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
