//! A per-try `azure_core` policy that signs each attempt.

use async_trait::async_trait;
use azure_core::http::{
    policies::{Policy, PolicyResult},
    ClientOptions, Context, Request,
};
use std::sync::Arc;

/// Signs one attempt of a request in place (sets `Authorization`, a date, a query token...).
///
/// Called by [`SigningPolicy`] for every try, after every other policy has set its headers.
///
/// ```
/// use azure_core::http::Request;
/// use azure_wasi_core::auth::RequestSigner;
///
/// #[derive(Debug)]
/// struct ApiKey(String);
/// impl RequestSigner for ApiKey {
///     fn sign(&self, request: &mut Request) -> azure_core::Result<()> {
///         request.insert_header("api-key", self.0.clone());
///         Ok(())
///     }
/// }
/// ```
pub trait RequestSigner: Send + Sync + std::fmt::Debug {
    /// Adds the authentication to `request`. Errors stop the attempt.
    fn sign(&self, request: &mut Request) -> azure_core::Result<()>;
}

/// An `azure_core` [`Policy`] that calls a [`RequestSigner`] and then the next policy.
///
/// Put it last among the per-try policies (see [`add_signing_policy`]) so the signature covers
/// the final headers and each retry gets a fresh date and signature.
///
/// ```
/// # use azure_core::http::Request;
/// # use azure_wasi_core::auth::{RequestSigner, SigningPolicy};
/// # #[derive(Debug)] struct Noop;
/// # impl RequestSigner for Noop { fn sign(&self, _: &mut Request) -> azure_core::Result<()> { Ok(()) } }
/// let policy = SigningPolicy::new(std::sync::Arc::new(Noop));
/// // What `add_signing_policy` does: the signing policy goes last among the per-try policies.
/// let mut options = azure_core::http::ClientOptions::default();
/// options.per_try_policies.push(std::sync::Arc::new(policy));
/// assert_eq!(options.per_try_policies.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct SigningPolicy {
    signer: Arc<dyn RequestSigner>,
}

impl SigningPolicy {
    /// Wraps a signer in a policy (see [`SigningPolicy`] and [`add_signing_policy`]).
    pub fn new(signer: Arc<dyn RequestSigner>) -> Self {
        Self { signer }
    }
}

#[async_trait]
impl Policy for SigningPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        self.signer.sign(request)?;
        match next.split_first() {
            Some((first, rest)) => first.send(ctx, request, rest).await,
            None => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                "the signing policy was placed last in the pipeline; a transport must follow it",
            )),
        }
    }
}

/// Appends a [`SigningPolicy`] as the last per-try policy of `options`.
///
/// ```
/// # use azure_core::http::{ClientOptions, Request};
/// # use azure_wasi_core::auth::{add_signing_policy, RequestSigner};
/// # #[derive(Debug)] struct Noop;
/// # impl RequestSigner for Noop { fn sign(&self, _: &mut Request) -> azure_core::Result<()> { Ok(()) } }
/// let mut options = ClientOptions::default();
/// add_signing_policy(&mut options, std::sync::Arc::new(Noop));
/// assert_eq!(options.per_try_policies.len(), 1);
/// ```
pub fn add_signing_policy(options: &mut ClientOptions, signer: Arc<dyn RequestSigner>) {
    options
        .per_try_policies
        .push(Arc::new(SigningPolicy::new(signer)));
}
