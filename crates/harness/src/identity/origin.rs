//! The reserved virtual origin guests ask for tokens, answered by the harness itself before the
//! allow-list and the network: `http://identity.azure-wasi.internal/msi/token`, in the shape of
//! App Service's managed-identity endpoint (`?resource=<audience>&api-version=2019-08-01`, or
//! `?scope=<scope>`), so one guest credential works here and, pointed at App Service's
//! `IDENTITY_ENDPOINT`, on App Service.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use url::Url;

use super::TokenBroker;
use crate::outbound::call_log::CallLog;
use crate::ModuleConfig;

/// Host name of the virtual origin (never resolved: the harness answers it).
pub const IDENTITY_HOST: &str = "identity.azure-wasi.internal";
/// The URL guests call (the guest credential's default `IDENTITY_ENDPOINT`).
pub const IDENTITY_ENDPOINT: &str = "http://identity.azure-wasi.internal/msi/token";
/// The App Service protocol version the origin answers.
pub const API_VERSION: &str = "2019-08-01";

/// Whether `url` names the virtual origin (any scheme, port or path: all are answered here,
/// none reaches the network).
///
/// ```
/// use harness::identity::is_identity_origin;
/// assert!(is_identity_origin(&"http://identity.azure-wasi.internal/msi/token?scope=x".parse().unwrap()));
/// assert!(is_identity_origin(&"https://IDENTITY.azure-wasi.internal:8443/".parse().unwrap()));
/// assert!(!is_identity_origin(&"http://127.0.0.1:8081/".parse().unwrap()));
/// ```
pub fn is_identity_origin(url: &Url) -> bool {
    url.host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case(IDENTITY_HOST))
}

/// What one module may ask the virtual origin for.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use harness::identity::ModuleTokens;
/// // A module without `identity`: 403, and the body names the config line to add.
/// let tokens = ModuleTokens::of(&harness::ModuleConfig::new("/blob", "blob.wasm"));
/// let url = "http://identity.azure-wasi.internal/msi/token?resource=https://storage.azure.com&api-version=2019-08-01".parse().unwrap();
/// let resp = tokens.answer_request(&http::Method::GET, &url).await;
/// assert_eq!(resp.status(), 403);
/// let body = String::from_utf8_lossy(resp.body());
/// assert!(body.contains(r#"identity = { scopes = [\"https://storage.azure.com/.default\"] }"#), "{body}");
/// # }
/// ```
#[derive(Debug)]
pub struct ModuleTokens {
    route: String,
    scopes: Vec<String>,
    broker: Option<TokenBroker>,
}

fn json(status: StatusCode, body: serde_json::Value) -> http::Response<Bytes> {
    let mut resp = http::Response::new(Bytes::from(body.to_string()));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

fn refuse(status: StatusCode, message: &str) -> http::Response<Bytes> {
    json(
        status,
        serde_json::json!({ "statusCode": status.as_u16(), "message": message }),
    )
}

impl ModuleTokens {
    /// The token rules of `config`'s module.
    pub fn of(config: &ModuleConfig) -> Arc<Self> {
        Arc::new(Self {
            route: config.route.clone(),
            scopes: config.identity.scopes.clone(),
            broker: config.identity.broker.clone(),
        })
    }

    /// Answers one request to the identity origin on its own (with a fresh warning budget).
    pub async fn answer_request(&self, method: &Method, url: &Url) -> http::Response<Bytes> {
        let policy = Arc::new(crate::outbound::OutboundPolicy {
            route: self.route.clone(),
            allow: crate::AllowList::default(),
            max_handles: 1,
            timeout: std::time::Duration::from_secs(1),
            max_body: 1,
        });
        self.answer(method, url, &CallLog::new(policy)).await
    }

    /// The scope a request asks for: `scope=`, or App Service's `resource=` plus `/.default`.
    fn requested_scope(url: &Url) -> Result<String, &'static str> {
        let mut scope = None;
        let mut resource = None;
        let mut version = None;
        for (k, v) in url.query_pairs() {
            match &*k {
                "scope" => scope = Some(v.into_owned()),
                "resource" => resource = Some(v.into_owned()),
                "api-version" => version = Some(v.into_owned()),
                _ => {}
            }
        }
        if version.as_deref().is_some_and(|v| v != API_VERSION) {
            return Err("api-version must be 2019-08-01 (App Service's managed-identity protocol)");
        }
        match (scope, resource) {
            (Some(s), _) if !s.is_empty() => Ok(s),
            (_, Some(r)) if !r.is_empty() => Ok(format!("{}/.default", r.trim_end_matches('/'))),
            _ => Err("name what the token is for: ?resource=<audience>&api-version=2019-08-01 or ?scope=<resource>/.default"),
        }
    }

    /// Answer one guest request to the virtual origin: 200 with a token for an allowed scope,
    /// 403 naming the config line for any other scope, 503 without an `[identity]` table, 502
    /// when the credential fails. Denials are logged within the request's warning budget.
    pub(crate) async fn answer(
        &self,
        method: &Method,
        url: &Url,
        log: &CallLog,
    ) -> http::Response<Bytes> {
        if method != Method::GET {
            return refuse(StatusCode::METHOD_NOT_ALLOWED, "use GET");
        }
        let scope = match Self::requested_scope(url) {
            Ok(s) => s,
            Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
        };
        if !self.scopes.contains(&scope) {
            let line = format!("identity = {{ scopes = [\"{scope}\"] }}");
            if log.admit() {
                tracing::warn!(route = %self.route, scope = %scope, "identity: token refused; to allow it, add {line} to the [[module]] with route {:?}", self.route);
            }
            return refuse(
                StatusCode::FORBIDDEN,
                &format!("this module may not get tokens for {scope}; add {line} to its [[module]] table (route {:?}) in the harness config", self.route),
            );
        }
        let Some(broker) = &self.broker else {
            if log.admit() {
                tracing::warn!(route = %self.route, "identity: no [identity] table in the harness config; add one, e.g. [identity] credential = \"managed-identity\"");
            }
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the harness has no token broker: add an [identity] table (credential = \"managed-identity\", \"workload-identity\" or \"azure-cli\") to its config",
            );
        };
        match broker.token(&scope).await {
            Ok(token) => {
                tracing::debug!(route = %self.route, scope = %scope, "identity: token handed to the guest");
                let resource = scope.strip_suffix("/.default").unwrap_or(&scope);
                json(
                    StatusCode::OK,
                    serde_json::json!({
                        "access_token": token.token.secret(),
                        "expires_on": token.expires_on.unix_timestamp().to_string(),
                        "resource": resource,
                        "token_type": "Bearer",
                    }),
                )
            }
            Err(e) => {
                if log.admit() {
                    tracing::warn!(route = %self.route, error = %e, "identity: no token for the guest");
                }
                refuse(StatusCode::BAD_GATEWAY, &e.to_string())
            }
        }
    }
}
