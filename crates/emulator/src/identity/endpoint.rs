//! The managed-identity endpoint, in the shape App Service exposes it (`IDENTITY_ENDPOINT`):
//! `GET <endpoint>?resource=<audience>&api-version=2019-08-01` with the secret in
//! `X-IDENTITY-HEADER`, answered with `{access_token, expires_on, resource, token_type}`
//! (`expires_on` as a string of Unix seconds, as App Service sends it).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use super::{IdentityConfig, TrustedIssuer};
use crate::server::{Body, Resp};
use crate::util::ct_eq;

/// The only API version the endpoint answers (the one `azure_identity` sends to App Service).
pub const API_VERSION: &str = "2019-08-01";

/// Shared state of the endpoint.
pub(crate) struct Endpoint {
    pub config: IdentityConfig,
    pub trust: TrustedIssuer,
    /// Tokens issued so far (tests count fetches with it).
    pub issued: AtomicU64,
}

fn json(status: StatusCode, body: serde_json::Value) -> Resp {
    let mut resp = http::Response::new(Body::full(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

fn refuse(status: StatusCode, message: &str) -> Resp {
    json(
        status,
        serde_json::json!({ "statusCode": status.as_u16(), "message": message }),
    )
}

/// 503 while the connection cap is reached.
pub(crate) fn busy() -> Resp {
    let mut r = refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many open connections (identity.limits.max_connections); retry",
    );
    r.headers_mut()
        .insert("connection", HeaderValue::from_static("close"));
    r
}

impl Endpoint {
    /// Answer one request (any path; the query and the header decide).
    pub(crate) fn answer(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
    ) -> Resp {
        if method != http::Method::GET {
            return refuse(StatusCode::METHOD_NOT_ALLOWED, "use GET");
        }
        let secret = headers
            .get("x-identity-header")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct_eq(secret, &self.config.identity_header) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "the X-IDENTITY-HEADER header is missing or is not identity.identity_header (App Service's IDENTITY_HEADER)",
            );
        }
        let mut resource = None;
        let mut version = None;
        for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match &*k {
                "resource" => resource = Some(v.into_owned()),
                "api-version" => version = Some(v.into_owned()),
                _ => {}
            }
        }
        if version.as_deref() != Some(API_VERSION) {
            return refuse(
                StatusCode::BAD_REQUEST,
                "api-version must be 2019-08-01 (the App Service managed-identity protocol)",
            );
        }
        let resource = match resource {
            Some(r) if !r.is_empty() => r,
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "the query has no resource; name the audience, e.g. resource=https://storage.azure.com",
                )
            }
        };
        let now = crate::util::now_unix();
        let lifetime = self.config.token_lifetime_secs;
        let audience = resource.trim_end_matches('/');
        let token = self
            .trust
            .issue(audience, self.config.roles.clone(), now, lifetime);
        self.issued.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(resource = %resource, "identity: token issued");
        json(
            StatusCode::OK,
            serde_json::json!({
                "access_token": token,
                "expires_on": now.saturating_add(lifetime as i64).to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.config.principal_id,
            }),
        )
    }
}

/// Count of issued tokens, readable while the endpoint runs.
pub(crate) fn issued(e: &Endpoint) -> u64 {
    e.issued.load(Ordering::Relaxed)
}

/// A fresh counter.
pub(crate) fn counter() -> AtomicU64 {
    AtomicU64::new(0)
}
