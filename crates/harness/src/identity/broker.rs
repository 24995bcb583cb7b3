//! The token broker: one credential for the whole harness, tokens cached per scope until
//! shortly before they expire, one fetch at a time per scope (concurrent requests wait for it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential};

use super::{CredentialKind, HostHttpClient, IdentityConfig};

/// Why the broker has no token for a scope (the text never holds a token).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The credential failed (no identity on this machine, not logged in, refused, ...).
    #[error("the {credential} credential could not get a token for {scope}: {message}")]
    Credential {
        /// Which credential.
        credential: &'static str,
        /// The scope asked for.
        scope: String,
        /// The credential's error.
        message: String,
    },
    /// The credential did not answer in time.
    #[error("the {credential} credential did not answer within {timeout:?} for {scope}; check the identity endpoint, or raise [identity] fetch_timeout_secs")]
    Timeout {
        /// Which credential.
        credential: &'static str,
        /// The scope asked for.
        scope: String,
        /// The limit.
        timeout: Duration,
    },
}

/// Tokens for guests: one `azure_identity` credential, a cache per scope, single flight.
/// Clones share the cache.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
///
/// #[derive(Debug)]
/// struct Fixed;
/// #[async_trait::async_trait]
/// impl TokenCredential for Fixed {
///     async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
///         let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
///         Ok(AccessToken::new(format!("token-for-{}", scopes[0]), later))
///     }
/// }
/// let broker = harness::identity::TokenBroker::new(Arc::new(Fixed), "fixed", Default::default());
/// let a = broker.token("https://storage.azure.com/.default").await.unwrap();
/// let b = broker.token("https://storage.azure.com/.default").await.unwrap();
/// assert_eq!(a.token.secret(), b.token.secret());
/// assert_eq!(broker.fetches(), 1);
/// # }
/// ```
#[derive(Clone)]
pub struct TokenBroker {
    inner: Arc<Inner>,
}

struct Inner {
    credential: Arc<dyn TokenCredential>,
    name: &'static str,
    refresh_before: Duration,
    fetch_timeout: Duration,
    /// One slot per scope asked for; the scopes are those of the config, so this is bounded.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
    fetches: AtomicU64,
}

/// A token and when to renew it.
struct Cached {
    token: AccessToken,
    renew_at: time::OffsetDateTime,
}

impl std::fmt::Debug for TokenBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBroker")
            .field("credential", &self.inner.name)
            .field("fetches", &self.fetches())
            .finish()
    }
}

impl PartialEq for TokenBroker {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for TokenBroker {}

impl TokenBroker {
    /// A broker over `credential` (named `name` in errors), with `config`'s refresh margin and
    /// fetch timeout.
    pub fn new(
        credential: Arc<dyn TokenCredential>,
        name: &'static str,
        config: IdentityConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                credential,
                name,
                refresh_before: config.refresh_before(),
                fetch_timeout: config.fetch_timeout(),
                slots: Mutex::new(HashMap::new()),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// The broker `config` asks for, with the official `azure_identity` credential over the
    /// harness's own HTTP client ([`HostHttpClient`]).
    ///
    /// ```
    /// // The Azure CLI credential is built without running `az`; it runs on the first fetch.
    /// let cfg: harness::identity::IdentityConfig = toml::from_str("credential = \"azure-cli\"").unwrap();
    /// let broker = harness::identity::TokenBroker::from_config(&cfg).unwrap();
    /// assert_eq!(broker.fetches(), 0);
    /// ```
    pub fn from_config(config: &IdentityConfig) -> Result<Self, String> {
        use azure_core::http::{ClientOptions, Transport};
        let transport = Transport::new(Arc::new(HostHttpClient::new(config.fetch_timeout())));
        let client_options = ClientOptions {
            transport: Some(transport),
            ..Default::default()
        };
        let built: azure_core::Result<(Arc<dyn TokenCredential>, &'static str)> = match config
            .credential
        {
            CredentialKind::ManagedIdentity => azure_identity::ManagedIdentityCredential::new(
                Some(azure_identity::ManagedIdentityCredentialOptions {
                    user_assigned_id: config
                        .client_id
                        .clone()
                        .map(azure_identity::UserAssignedId::ClientId),
                    client_options,
                }),
            )
            .map(|c| (c as Arc<dyn TokenCredential>, "managed identity")),
            CredentialKind::WorkloadIdentity => azure_identity::WorkloadIdentityCredential::new(
                Some(azure_identity::WorkloadIdentityCredentialOptions {
                    credential_options: azure_identity::ClientAssertionCredentialOptions {
                        client_options,
                    },
                    client_id: config.client_id.clone(),
                    tenant_id: config.tenant_id.clone(),
                    ..Default::default()
                }),
            )
            .map(|c| (c as Arc<dyn TokenCredential>, "workload identity")),
            CredentialKind::AzureCli => azure_identity::AzureCliCredential::new(Some(
                azure_identity::AzureCliCredentialOptions {
                    tenant_id: config.tenant_id.clone(),
                    ..Default::default()
                },
            ))
            .map(|c| (c as Arc<dyn TokenCredential>, "Azure CLI")),
        };
        let (credential, name) = built.map_err(|e| {
            format!(
                "[identity] credential = {:?} cannot be used here: {e}",
                config.credential
            )
        })?;
        Ok(Self::new(credential, name, config.clone()))
    }

    /// A token for `scope`: the cached one while it has more than the refresh margin left,
    /// else a new one. Concurrent callers for one scope wait for a single fetch.
    pub async fn token(&self, scope: &str) -> Result<AccessToken, BrokerError> {
        let slot = {
            let mut slots = self.inner.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(scope.to_string()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        let now = time::OffsetDateTime::now_utc();
        if let Some(c) = cached.as_ref() {
            if now < c.renew_at {
                return Ok(c.token.clone());
            }
        }
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = tokio::time::timeout(
            self.inner.fetch_timeout,
            self.inner.credential.get_token(&[scope], None),
        )
        .await
        .map_err(|_| BrokerError::Timeout {
            credential: self.inner.name,
            scope: scope.to_string(),
            timeout: self.inner.fetch_timeout,
        })?
        .map_err(|e| BrokerError::Credential {
            credential: self.inner.name,
            scope: scope.to_string(),
            message: e.to_string(),
        })?;
        tracing::info!(credential = self.inner.name, scope, expires_on = %fetched.expires_on, "identity: token fetched");
        // Renew `refresh_before` ahead of expiry, or halfway for short-lived tokens; a token
        // that arrives already expired is handed out once and never reused.
        let lifetime: time::Duration = fetched.expires_on - now;
        let margin = (lifetime / 2i32).max(time::Duration::ZERO).min(
            time::Duration::try_from(self.inner.refresh_before).unwrap_or(time::Duration::MAX),
        );
        *cached = Some(Cached {
            renew_at: fetched.expires_on - margin,
            token: fetched.clone(),
        });
        Ok(fetched)
    }

    /// How many times the credential was asked for a token.
    pub fn fetches(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::TokenRequestOptions;

    /// Hands out tokens living `lifetime` from now, numbered, or fails while `fail` is set.
    #[derive(Debug)]
    struct Counting {
        lifetime: time::Duration,
        issued: AtomicU64,
        fail: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Counting {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "no identity here",
                ));
            }
            let n = self.issued.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("token-{n}"),
                time::OffsetDateTime::now_utc() + self.lifetime,
            ))
        }
    }

    fn broker(lifetime: time::Duration) -> (TokenBroker, Arc<Counting>) {
        let cred = Arc::new(Counting {
            lifetime,
            issued: AtomicU64::new(0),
            fail: false.into(),
        });
        (
            TokenBroker::new(cred.clone(), "test", IdentityConfig::default()),
            cred,
        )
    }

    #[tokio::test]
    async fn an_expired_token_is_never_reused() {
        let (b, _) = broker(time::Duration::seconds(-5));
        for _ in 0..3 {
            b.token("s/.default").await.expect("a token");
        }
        assert_eq!(b.fetches(), 3);
    }

    #[tokio::test]
    async fn a_long_lived_token_is_reused_per_scope() {
        let (b, _) = broker(time::Duration::hours(1));
        let first = b.token("a/.default").await.expect("a token");
        let again = b.token("a/.default").await.expect("a token");
        assert_eq!(first.token.secret(), again.token.secret());
        let other = b.token("b/.default").await.expect("a token");
        assert_ne!(first.token.secret(), other.token.secret());
        assert_eq!(b.fetches(), 2);
    }

    #[tokio::test]
    async fn a_failure_is_not_cached_and_names_the_credential() {
        let (b, cred) = broker(time::Duration::hours(1));
        cred.fail.store(true, Ordering::SeqCst);
        let err = b.token("a/.default").await.expect_err("fails").to_string();
        assert!(
            err.contains("the test credential") && err.contains("no identity here"),
            "{err}"
        );
        cred.fail.store(false, Ordering::SeqCst);
        assert!(b.token("a/.default").await.is_ok());
        assert_eq!(b.fetches(), 2);
    }
}
