//! The `[identity]` table (which credential the broker uses) and a module's `identity`
//! entry (which scopes its guests may get tokens for).

use std::time::Duration;

use serde::Deserialize;

use super::TokenBroker;

/// Which `azure_identity` credential the broker uses.
///
/// ```
/// let k: harness::identity::CredentialKind = serde_json::from_str("\"azure-cli\"").unwrap();
/// assert_eq!(k, harness::identity::CredentialKind::AzureCli);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// `ManagedIdentityCredential`: App Service / Functions (`IDENTITY_ENDPOINT`), Azure Arc,
    /// or IMDS on a VM or an AKS node.
    #[default]
    ManagedIdentity,
    /// `WorkloadIdentityCredential`: AKS workload identity (`AZURE_FEDERATED_TOKEN_FILE`,
    /// `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, set by the webhook), where SpinKube runs.
    WorkloadIdentity,
    /// `AzureCliCredential`: the developer's `az login` on their desk.
    AzureCli,
}

/// The `[identity]` table of the harness config. Without it, guests get 503 from the broker.
///
/// ```
/// let c: harness::identity::IdentityConfig = toml::from_str(r#"
///     credential = "workload-identity"
///     client_id = "00000000-0000-0000-0000-000000000001"
/// "#).unwrap();
/// assert_eq!(c.credential, harness::identity::CredentialKind::WorkloadIdentity);
/// assert_eq!(c.refresh_before(), std::time::Duration::from_secs(300));
/// assert!(toml::from_str::<harness::identity::IdentityConfig>("credentail = \"azure-cli\"").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The credential (default `managed-identity`).
    #[serde(default)]
    pub credential: CredentialKind,
    /// Client id of a user-assigned managed identity, or of the workload identity's app
    /// (default: the system-assigned identity / `AZURE_CLIENT_ID`).
    pub client_id: Option<String>,
    /// Tenant of the workload identity or of the Azure CLI login (default: `AZURE_TENANT_ID` /
    /// the CLI's default).
    pub tenant_id: Option<String>,
    /// A cached token is renewed this many seconds before it expires (default 300).
    pub refresh_before_secs: Option<u64>,
    /// Longest wait for one token fetch, in seconds (default 30).
    pub fetch_timeout_secs: Option<u64>,
}

impl IdentityConfig {
    /// How long before expiry a cached token is renewed.
    pub fn refresh_before(&self) -> Duration {
        Duration::from_secs(self.refresh_before_secs.unwrap_or(300))
    }

    /// The longest wait for one token fetch.
    pub fn fetch_timeout(&self) -> Duration {
        Duration::from_secs(self.fetch_timeout_secs.unwrap_or(30).clamp(1, 600))
    }
}

/// A module's `identity = { scopes = [...] }`: the scopes its guests may get tokens for, and
/// the broker that answers them (set by [`crate::HarnessBuilder::identity`]).
///
/// ```
/// let m = harness::ModuleConfig::new("/blob", "blob.wasm")
///     .identity_scope("https://storage.azure.com/.default");
/// assert_eq!(m.identity.scopes, ["https://storage.azure.com/.default"]);
/// assert!(harness::identity::ModuleIdentity::check_scope("https://storage.azure.com").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleIdentity {
    /// Entra ID scopes (`<resource>/.default`).
    pub scopes: Vec<String>,
    /// The broker; `None` until the harness is built with one.
    pub broker: Option<TokenBroker>,
}

impl ModuleIdentity {
    /// A scope must be a resource followed by `/.default` (what Azure SDKs ask for).
    pub fn check_scope(scope: &str) -> Result<(), String> {
        if scope.is_empty()
            || scope.chars().any(|c| c.is_whitespace() || c.is_control())
            || !scope.ends_with("/.default")
            || scope.len() <= "/.default".len()
        {
            return Err(format!(
                "identity scope {scope:?} is not valid; use a resource followed by /.default, e.g. \"https://storage.azure.com/.default\""
            ));
        }
        Ok(())
    }
}
