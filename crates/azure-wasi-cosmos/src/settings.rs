//! Account settings from the environment.

use crate::{Error, Result};
use azure_wasi_core::auth::SigningKey;
use url::Url;

/// The documented, public key of the Cosmos DB emulator.
///
/// ```
/// assert!(azure_wasi_cosmos::EMULATOR_KEY.ends_with("=="));
/// ```
pub const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

/// Endpoint and master key of a Cosmos DB account.
///
/// ```
/// let s = azure_wasi_cosmos::CosmosSettings::new("http://127.0.0.1:8081", azure_wasi_cosmos::EMULATOR_KEY).unwrap();
/// assert_eq!(s.endpoint().as_str(), "http://127.0.0.1:8081/");
/// ```
#[derive(Debug, Clone)]
pub struct CosmosSettings {
    endpoint: Url,
    auth: CosmosAuth,
}

/// How requests are authorized.
///
/// ```
/// let s = azure_wasi_cosmos::CosmosSettings::new("http://h:1", "a2V5").unwrap();
/// assert!(matches!(s.auth(), azure_wasi_cosmos::CosmosAuth::MasterKey(_)));
/// ```
#[derive(Debug, Clone)]
pub enum CosmosAuth {
    /// Master key: `type=master&ver=1.0&sig=<HMAC>`.
    MasterKey(SigningKey),
    /// Microsoft Entra ID: `type=aad&ver=1.0&sig=<token>` with a token for the scope (default
    /// [`COSMOS_SCOPE`]) from the credential (usually the host's broker).
    Token {
        /// Where tokens come from.
        credential: std::sync::Arc<dyn azure_core::credentials::TokenCredential>,
        /// The scope asked for.
        scope: String,
    },
}

/// The Entra ID scope Cosmos DB accepts for every account (`COSMOS_SCOPE` overrides it, e.g.
/// with `https://<account>.documents.azure.com/.default`).
pub const COSMOS_SCOPE: &str = "https://cosmos.azure.com/.default";

impl CosmosSettings {
    /// Settings from an endpoint URL and a base64 master key.
    ///
    /// ```
    /// assert!(azure_wasi_cosmos::CosmosSettings::new("not a url", "a2V5").is_err());
    /// ```
    pub fn new(endpoint: &str, key_base64: &str) -> Result<Self> {
        let key = SigningKey::from_base64(key_base64).map_err(|_| Error::InvalidKey {
            name: "COSMOS_MASTER_KEY",
        })?;
        Ok(Self {
            endpoint: parse_endpoint(endpoint)?,
            auth: CosmosAuth::MasterKey(key),
        })
    }

    /// The same account, authorized by `auth` instead.
    ///
    /// ```
    /// let cred = azure_wasi_core::HostTokenCredential::from_lookup(|_| None).unwrap();
    /// let s = azure_wasi_cosmos::CosmosSettings::new("http://h:1", "a2V5").unwrap()
    ///     .with_auth(azure_wasi_cosmos::CosmosAuth::Token { credential: cred, scope: azure_wasi_cosmos::COSMOS_SCOPE.into() });
    /// assert!(s.key().is_none());
    /// ```
    pub fn with_auth(mut self, auth: CosmosAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Reads `COSMOS_ENDPOINT` (or builds `https://<COSMOS_ACCOUNT>.documents.azure.com:443/`)
    /// and `COSMOS_MASTER_KEY`.
    ///
    /// ```no_run
    /// let s = azure_wasi_cosmos::CosmosSettings::from_env()?;
    /// # Ok::<(), azure_wasi_cosmos::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`CosmosSettings::from_env`] with any lookup function.
    ///
    /// ```
    /// let s = azure_wasi_cosmos::CosmosSettings::from_lookup(|k| match k {
    ///     "COSMOS_ACCOUNT" => Some("acct".into()),
    ///     "COSMOS_MASTER_KEY" => Some("a2V5".into()),
    ///     _ => None,
    /// }).unwrap();
    /// assert_eq!(s.endpoint().as_str(), "https://acct.documents.azure.com/");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let endpoint = match (get("COSMOS_ENDPOINT"), get("COSMOS_ACCOUNT")) {
            (Some(e), _) => e,
            (None, Some(account)) => format!("https://{}.documents.azure.com:443/", account.trim()),
            (None, None) => {
                return Err(Error::MissingSetting {
                    name: "COSMOS_ENDPOINT",
                })
            }
        };
        match get("COSMOS_MASTER_KEY") {
            Some(key) => Self::new(&endpoint, &key),
            None => {
                // No key: Entra ID tokens from the host. The placeholder key is never used.
                let credential = azure_wasi_core::HostTokenCredential::from_lookup(&lookup)?;
                let scope = get("COSMOS_SCOPE").unwrap_or_else(|| COSMOS_SCOPE.to_string());
                Ok(Self {
                    endpoint: parse_endpoint(&endpoint)?,
                    auth: CosmosAuth::Token { credential, scope },
                })
            }
        }
    }

    /// The account endpoint, ending with `/`.
    ///
    /// ```
    /// # let s = azure_wasi_cosmos::CosmosSettings::new("http://h:1", "a2V5").unwrap();
    /// assert_eq!(s.endpoint().path(), "/");
    /// ```
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The decoded master key.
    ///
    /// ```
    /// # let s = azure_wasi_cosmos::CosmosSettings::new("http://h:1", "a2V5").unwrap();
    /// assert!(format!("{:?}", s.key().expect("a master key")).contains("redacted"));
    /// ```
    pub fn key(&self) -> Option<&azure_wasi_core::auth::SigningKey> {
        match &self.auth {
            CosmosAuth::MasterKey(k) => Some(k),
            CosmosAuth::Token { .. } => None,
        }
    }

    /// How requests are authorized.
    pub fn auth(&self) -> &CosmosAuth {
        &self.auth
    }
}

/// The endpoint as a base URL (path ending in `/`, no query).
fn parse_endpoint(endpoint: &str) -> Result<Url> {
    let text = endpoint.trim();
    let shown = text.split('?').next().unwrap_or_default();
    let mut endpoint = Url::parse(text).map_err(|e| Error::InvalidEndpoint {
        name: "COSMOS_ENDPOINT",
        endpoint: shown.to_string(),
        reason: e.to_string(),
    })?;
    if !matches!(endpoint.scheme(), "http" | "https") || endpoint.cannot_be_a_base() {
        return Err(Error::InvalidEndpoint {
            name: "COSMOS_ENDPOINT",
            endpoint: shown.to_string(),
            reason: "the scheme must be http or https".into(),
        });
    }
    if !endpoint.path().ends_with('/') {
        let path = format!("{}/", endpoint.path());
        endpoint.set_path(&path);
    }
    endpoint.set_query(None);
    Ok(endpoint)
}
