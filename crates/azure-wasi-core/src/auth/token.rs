//! [`TokenPolicy`]: puts an Entra ID access token from a `TokenCredential` (usually
//! [`crate::HostTokenCredential`]) on every attempt, in the header form each service wants:
//! `Authorization: Bearer <token>` (Blob, EventGrid) or Cosmos DB's URL-encoded
//! `type=aad&ver=1.0&sig=<token>`.
//!
//! Unlike `azure_core`'s bearer policy, plain `http://` is allowed for loopback hosts, where the
//! local emulators listen; any other `http://` destination is refused, so a token never leaves
//! the machine unencrypted.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{ClientOptions, Context, Request};

/// How the token goes into the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// `Bearer <token>`.
    Bearer,
    /// Cosmos DB: `type=aad&ver=1.0&sig=<token>`, URL-encoded.
    CosmosAad,
}

/// Authorizes each attempt with a token for one scope.
///
/// ```
/// # azure_wasi_core::block_on(async {
/// use std::sync::Arc;
/// use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
/// use azure_core::http::{policies::Policy, AsyncRawResponse, Context, Method, Request, StatusCode, headers::Headers};
/// use azure_wasi_core::auth::{TokenFormat, TokenPolicy};
///
/// #[derive(Debug)]
/// struct Fixed;
/// #[async_trait::async_trait]
/// impl TokenCredential for Fixed {
///     async fn get_token(&self, s: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
///         assert_eq!(s, ["https://storage.azure.com/.default"]);
///         Ok(AccessToken::new("t0k", azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1)))
///     }
/// }
/// #[derive(Debug)]
/// struct Echo;
/// #[async_trait::async_trait]
/// impl Policy for Echo {
///     async fn send(&self, _: &Context, r: &mut Request, _: &[Arc<dyn Policy>]) -> azure_core::http::policies::PolicyResult {
///         let auth = r.headers().get_optional_str(&"authorization".into()).unwrap_or("").to_string();
///         Ok(AsyncRawResponse::from_bytes(StatusCode::Ok, Headers::new(), auth))
///     }
/// }
/// let policy = TokenPolicy::new(Arc::new(Fixed), "https://storage.azure.com/.default", TokenFormat::Bearer);
/// let next: Vec<Arc<dyn Policy>> = vec![Arc::new(Echo)];
/// let mut req = Request::new("http://127.0.0.1:10000/acct/c".parse().unwrap(), Method::Get);
/// let resp = policy.send(&Context::new(), &mut req, &next).await.unwrap();
/// assert_eq!(resp.into_body().collect().await.unwrap(), "Bearer t0k".as_bytes());
/// // Plain http to anything but loopback is refused before a token is fetched.
/// let mut far = Request::new("http://example.com/acct/c".parse().unwrap(), Method::Get);
/// assert!(policy.send(&Context::new(), &mut far, &next).await.is_err());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    format: TokenFormat,
}

impl TokenPolicy {
    /// A policy asking `credential` for `scope` and writing the token as `format`.
    pub fn new(credential: Arc<dyn TokenCredential>, scope: &str, format: TokenFormat) -> Self {
        Self {
            credential,
            scope: scope.to_string(),
            format,
        }
    }
}

fn is_loopback(host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `text` with every byte outside `A-Z a-z 0-9 - _ . ~` percent-encoded.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl Policy for TokenPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let url = request.url();
        if url.scheme() != "https" && !is_loopback(url.host_str()) {
            return Err(azure_core::Error::with_message(
                ErrorKind::Other,
                "an access token is sent only over https (or plain http to a loopback emulator); use an https endpoint",
            ));
        }
        let token = self.credential.get_token(&[&self.scope], None).await?;
        let value = match self.format {
            TokenFormat::Bearer => format!("Bearer {}", token.token.secret()),
            TokenFormat::CosmosAad => {
                url_encode(&format!("type=aad&ver=1.0&sig={}", token.token.secret()))
            }
        };
        request.insert_header("authorization", value);
        match next.split_first() {
            Some((first, rest)) => first.send(ctx, request, rest).await,
            None => Err(azure_core::Error::with_message(
                ErrorKind::Other,
                "the token policy was placed last in the pipeline; a transport must follow it",
            )),
        }
    }
}

/// Appends `policy` as the last per-try policy of `options` (each retry gets a current token).
pub fn add_token_policy(options: &mut ClientOptions, policy: TokenPolicy) {
    options.per_try_policies.push(Arc::new(policy));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_and_encoding() {
        assert!(is_loopback(Some("127.0.0.1")) && is_loopback(Some("[::1]")));
        assert!(is_loopback(Some("LOCALHOST")));
        assert!(!is_loopback(Some("10.0.0.1")) && !is_loopback(None));
        assert_eq!(
            url_encode("type=aad&sig=a.b-c_"),
            "type%3Daad%26sig%3Da.b-c_"
        );
    }
}
