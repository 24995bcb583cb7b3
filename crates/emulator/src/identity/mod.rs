//! The test identity: an issuer that the Blob, Cosmos DB and EventGrid emulators trust for
//! Microsoft Entra ID style `Bearer` tokens, and a managed-identity endpoint that issues them,
//! so key-less code paths run offline.
//!
//! - [`jwt`]: the token codec (HS256 JWT with `iss`, `aud`, `exp`, `nbf`, `sub`, `roles`).
//! - [`TrustedIssuer`]: signature, issuer, audience and lifetime checks.
//! - [`roles`]: the role names each service requires (reads and writes).
//! - [`IdentityEmulator`]: the endpoint in App Service's shape (`IDENTITY_ENDPOINT`,
//!   `IDENTITY_HEADER`), which the official `azure_identity` managed-identity credential uses.
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let id = emulator::identity::IdentityEmulator::start(
//!     emulator::IdentityConfig { enabled: true, port: 0, ..Default::default() }).await?;
//! let mut conn = tokio::net::TcpStream::connect(id.addr()).await?;
//! conn.write_all(format!(
//!     "GET /msi/token?resource=https://storage.azure.com&api-version=2019-08-01 HTTP/1.1\r\nhost: x\r\nx-identity-header: {}\r\nconnection: close\r\n\r\n",
//!     emulator::identity::DEV_IDENTITY_HEADER).as_bytes()).await?;
//! let mut reply = String::new();
//! conn.read_to_string(&mut reply).await?;
//! assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
//! assert!(reply.contains(r#""token_type":"Bearer""#) && reply.contains(r#""resource":"https://storage.azure.com""#));
//! assert_eq!(id.tokens_issued(), 1);
//! id.shutdown().await;
//! # Ok(()) }
//! ```

mod config;
mod endpoint;
pub mod jwt;
pub mod roles;
mod trust;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{IdentityConfig, DEV_IDENTITY_HEADER, DEV_ISSUER, DEV_SIGNING_KEY};
pub use endpoint::API_VERSION;
pub use jwt::{Claims, JwtError};
pub use trust::{
    TokenRejection, TrustedIssuer, COSMOS_AUDIENCE, EVENTGRID_AUDIENCE, STORAGE_AUDIENCE,
};

use crate::server::{serve, ServeOptions, ServerTask};
use crate::{Error, Result};
use endpoint::Endpoint;

/// A running managed-identity endpoint.
pub struct IdentityEmulator {
    server: ServerTask,
    endpoint: Arc<Endpoint>,
}

impl std::fmt::Debug for IdentityEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityEmulator")
            .field("addr", &self.server.addr)
            .finish()
    }
}

impl IdentityEmulator {
    /// Start on `127.0.0.1:<config.port>` (whatever `config.enabled` says: the umbrella
    /// [`crate::Emulators`] reads that flag).
    pub async fn start(config: IdentityConfig) -> Result<Self> {
        config.validate()?;
        let trust = TrustedIssuer::from_config(&config)
            .ok_or_else(|| Error::Config("identity.signing_key is not valid base64".into()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], config.port));
        let options = ServeOptions {
            limits: config.limits.clone(),
            busy: endpoint::busy,
        };
        let endpoint = Arc::new(Endpoint {
            config,
            trust,
            issued: endpoint::counter(),
        });
        let handler = endpoint.clone();
        let server = serve("identity", addr, options, move |req, _peer| {
            let resp = handler.answer(req.method(), req.uri(), req.headers());
            async move { resp }
        })
        .await?;
        Ok(Self { server, endpoint })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The value for `IDENTITY_ENDPOINT`: `http://127.0.0.1:<port>/msi/token`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let id = emulator::identity::IdentityEmulator::start(emulator::IdentityConfig { port: 0, ..Default::default() }).await?;
    /// assert_eq!(id.endpoint(), format!("http://{}/msi/token", id.addr()));
    /// id.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn endpoint(&self) -> String {
        format!("http://{}/msi/token", self.server.addr)
    }

    /// The value for `IDENTITY_HEADER`.
    pub fn identity_header(&self) -> &str {
        &self.endpoint.config.identity_header
    }

    /// Tokens issued since start (one per successful request).
    pub fn tokens_issued(&self) -> u64 {
        endpoint::issued(&self.endpoint)
    }

    /// The issuer whose tokens this endpoint signs (to issue tokens in tests directly).
    pub fn issuer(&self) -> &TrustedIssuer {
        &self.endpoint.trust
    }

    /// Stop serving; the port is closed when this returns.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
