//! Key-less auth for guests: Microsoft Entra ID access tokens brokered by the host.
//!
//! The harness holds one `azure_identity` credential ([`TokenBroker`], chosen by the
//! `[identity]` table: managed identity, workload identity or the Azure CLI), caches its tokens
//! per scope until shortly before they expire, and hands them to guests through a reserved
//! virtual origin ([`IDENTITY_ENDPOINT`]) that it answers itself, in both worlds, before the
//! allow-list and the network ([`ModuleTokens`]). A module gets tokens only for the scopes of
//! its `identity = { scopes = [...] }` entry; the guest never sees a secret or refresh token,
//! and no token is ever logged.
//!
//! ```toml
//! [identity]
//! credential = "managed-identity"    # or "workload-identity", "azure-cli"
//!
//! [[module]]
//! route = "/blob"
//! module = "blob.wasm"
//! identity = { scopes = ["https://storage.azure.com/.default"] }
//! ```

mod broker;
mod config;
mod origin;
mod transport;

pub use broker::{BrokerError, TokenBroker};
pub use config::{CredentialKind, IdentityConfig, ModuleIdentity};
pub use origin::{is_identity_origin, ModuleTokens, API_VERSION, IDENTITY_ENDPOINT, IDENTITY_HOST};
pub use transport::HostHttpClient;
