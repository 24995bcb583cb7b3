//! [`HostTokenCredential`]: an `azure_core` `TokenCredential` that asks the host for Microsoft
//! Entra ID access tokens, in App Service's managed-identity protocol, through the guest's one
//! outbound client. The guest never holds a key, a client secret or a refresh token.
//!
//! Where it asks: `IDENTITY_ENDPOINT` when set (App Service and Functions set it, with
//! `IDENTITY_HEADER`), else the harness's virtual origin
//! `http://identity.azure-wasi.internal/msi/token`, which the harness answers itself for the
//! scopes the module's `identity = { scopes = [...] }` entry grants.

use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::http::{HttpClient, Method, Request, Url};
use azure_core::time::{Duration, OffsetDateTime};

/// The harness's token origin, used when `IDENTITY_ENDPOINT` is not set.
pub const DEFAULT_IDENTITY_ENDPOINT: &str = "http://identity.azure-wasi.internal/msi/token";
/// The protocol version sent (App Service's managed-identity protocol).
pub const API_VERSION: &str = "2019-08-01";
/// A cached token is reused while it has more than this left.
const REUSE_MARGIN: Duration = Duration::seconds(60);

/// Tokens from the host: see the [module documentation](self).
///
/// ```
/// # azure_wasi_core::block_on(async {
/// use std::sync::Arc;
/// use azure_core::credentials::TokenCredential;
/// use azure_core::http::{AsyncRawResponse, HttpClient, Request, StatusCode, headers::Headers};
///
/// // A stand-in for the host that checks the request and answers like the harness.
/// #[derive(Debug)]
/// struct Host;
/// #[async_trait::async_trait]
/// impl HttpClient for Host {
///     async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
///         let url = request.url().as_str();
///         assert!(url.starts_with("http://identity.azure-wasi.internal/msi/token?"), "{url}");
///         assert!(url.contains("resource=https%3A%2F%2Fstorage.azure.com"), "{url}");
///         let body = r#"{"access_token":"t0k","expires_on":"4102444800","resource":"https://storage.azure.com","token_type":"Bearer"}"#;
///         Ok(AsyncRawResponse::from_bytes(StatusCode::Ok, Headers::new(), body))
///     }
/// }
/// let cred = azure_wasi_core::HostTokenCredential::with_client(
///     Arc::new(Host), azure_wasi_core::credential::DEFAULT_IDENTITY_ENDPOINT, None).unwrap();
/// let token = cred.get_token(&["https://storage.azure.com/.default"], None).await.unwrap();
/// assert_eq!(token.token.secret(), "t0k");
/// assert_eq!(token.expires_on.unix_timestamp(), 4102444800);
/// # });
/// ```
pub struct HostTokenCredential {
    client: Arc<dyn HttpClient>,
    endpoint: Url,
    header: Option<String>,
    cache: Mutex<Vec<(String, AccessToken)>>,
}

impl std::fmt::Debug for HostTokenCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostTokenCredential")
            .field("endpoint", &self.endpoint.as_str())
            .field("header", &self.header.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Unix seconds, as a string (App Service) or a number.
    expires_on: serde_json::Value,
}

impl HostTokenCredential {
    /// The credential for this environment: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` when set,
    /// else the harness's origin; requests go through [`crate::WasiHttpClient`].
    ///
    /// ```
    /// let cred = azure_wasi_core::HostTokenCredential::from_env().unwrap();
    /// assert!(format!("{cred:?}").contains("identity.azure-wasi.internal") || std::env::var("IDENTITY_ENDPOINT").is_ok());
    /// ```
    pub fn from_env() -> azure_core::Result<Arc<Self>> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`HostTokenCredential::from_env`] with settings from `lookup` instead of the environment.
    ///
    /// ```
    /// let cred = azure_wasi_core::HostTokenCredential::from_lookup(|name| {
    ///     (name == "IDENTITY_ENDPOINT").then(|| "http://169.254.129.5:8081/msi/token".to_string())
    /// }).unwrap();
    /// assert!(format!("{cred:?}").contains("169.254.129.5"));
    /// assert!(azure_wasi_core::HostTokenCredential::from_lookup(|_| Some("not a url".into())).is_err());
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> azure_core::Result<Arc<Self>> {
        let endpoint = lookup("IDENTITY_ENDPOINT")
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_IDENTITY_ENDPOINT.to_string());
        let header = lookup("IDENTITY_HEADER").filter(|h| !h.is_empty());
        Self::with_client(
            Arc::new(crate::WasiHttpClient::new()),
            endpoint.trim(),
            header,
        )
        .map(Arc::new)
    }

    /// A credential asking `endpoint` through `client`, sending `header` as `X-IDENTITY-HEADER`.
    pub fn with_client(
        client: Arc<dyn HttpClient>,
        endpoint: &str,
        header: Option<String>,
    ) -> azure_core::Result<Self> {
        let endpoint = Url::parse(endpoint).map_err(|e| {
            azure_core::Error::with_message(
                ErrorKind::Credential,
                format!("IDENTITY_ENDPOINT `{endpoint}` is not a URL: {e}"),
            )
        })?;
        Ok(Self {
            client,
            endpoint,
            header,
            cache: Mutex::new(Vec::new()),
        })
    }

    fn cached(&self, scope: &str) -> Option<AccessToken> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let now = OffsetDateTime::now_utc();
        cache
            .iter()
            .find(|(s, t)| s == scope && t.expires_on - REUSE_MARGIN > now)
            .map(|(_, t)| t.clone())
    }

    async fn fetch(&self, scope: &str) -> azure_core::Result<AccessToken> {
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION)
            .append_pair("resource", resource);
        let mut request = Request::new(url, Method::Get);
        request.insert_header("metadata", "true");
        if let Some(h) = &self.header {
            request.insert_header("x-identity-header", h.clone());
        }
        let response = self.client.execute_request(&request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?;
        if !status.is_success() {
            // The host's message (never a token: this is an error answer) says what to fix.
            return Err(azure_core::Error::with_message(
                ErrorKind::Credential,
                format!(
                    "the host refused a token for {scope} ({}): {}",
                    u16::from(status),
                    refusal_message(&body)
                ),
            ));
        }
        let parsed: TokenResponse = azure_core::json::from_json(&body).map_err(|_| {
            azure_core::Error::with_message(
                ErrorKind::Credential,
                "the host's token answer is not {access_token, expires_on} JSON",
            )
        })?;
        let expires = match &parsed.expires_on {
            serde_json::Value::String(s) => s.parse::<i64>().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or_else(|| {
            azure_core::Error::with_message(
                ErrorKind::Credential,
                "the host's token answer has no valid expires_on (Unix seconds)",
            )
        })?;
        Ok(AccessToken::new(parsed.access_token, expires))
    }
}

/// The `message` of a JSON error answer (App Service's and the harness's shape), else the
/// start of the body.
fn refusal_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Refusal {
        message: String,
    }
    match serde_json::from_slice::<Refusal>(body) {
        Ok(r) => r.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
    }
}

#[async_trait::async_trait]
impl TokenCredential for HostTokenCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let [scope] = scopes else {
            return Err(azure_core::Error::with_message(
                ErrorKind::Credential,
                "ask for exactly one scope (e.g. https://storage.azure.com/.default)",
            ));
        };
        if let Some(t) = self.cached(scope) {
            return Ok(t);
        }
        let token = self.fetch(scope).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|(s, _)| s != scope);
        cache.push((scope.to_string(), token.clone()));
        Ok(token)
    }
}
