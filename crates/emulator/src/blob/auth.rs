//! Storage authentication: Shared Key (`Authorization: SharedKey account:sig`) and service SAS.
//!
//! The string-to-sign functions are public so that tests and tools can sign requests exactly as
//! Microsoft's SDKs do.

use std::collections::BTreeMap;

use http::{HeaderMap, Method, StatusCode, Uri};

use super::error::{BlobError, BlobResult};
use crate::util::{ct_eq, decode_key, hmac_b64};

/// The Shared Key string-to-sign of a request (Storage REST "Authorize with Shared Key", version
/// 2009-09-19 and later). The canonical resource is `/<account><path>`, so a path-style URL
/// (`/devstoreaccount1/c/b`) names the account twice.
///
/// ```
/// use http::{HeaderMap, Method, Uri};
/// let mut h = HeaderMap::new();
/// h.insert("x-ms-date", "Tue, 01 Nov 2022 00:00:00 GMT".parse().unwrap());
/// let uri: Uri = "http://127.0.0.1:10000/devstoreaccount1/c?restype=container".parse().unwrap();
/// let s = emulator::blob::auth::string_to_sign("devstoreaccount1", &Method::PUT, &uri, &h);
/// assert!(s.ends_with("/devstoreaccount1/devstoreaccount1/c\nrestype:container"));
/// ```
pub fn string_to_sign(account: &str, method: &Method, uri: &Uri, headers: &HeaderMap) -> String {
    let h = |name: &str| -> String {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        values.join(",")
    };
    let mut content_length = h("content-length");
    if content_length == "0" {
        content_length.clear();
    }
    let mut out = String::new();
    for part in [
        method.as_str().to_string(),
        h("content-encoding"),
        h("content-language"),
        content_length,
        h("content-md5"),
        h("content-type"),
        h("date"),
        h("if-modified-since"),
        h("if-match"),
        h("if-none-match"),
        h("if-unmodified-since"),
        h("range"),
    ] {
        out.push_str(&part);
        out.push('\n');
    }
    // Canonicalized headers: every x-ms- header, lower-case, sorted, values trimmed.
    let mut ms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let n = name.as_str().to_ascii_lowercase();
        if n.starts_with("x-ms-") {
            let v = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
            ms.entry(n).or_default().push(v);
        }
    }
    for (n, vs) in ms {
        out.push_str(&n);
        out.push(':');
        out.push_str(&vs.join(","));
        out.push('\n');
    }
    out.push('/');
    out.push_str(account);
    out.push_str(uri.path());
    let mut q: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(query) = uri.query() {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            q.entry(k.to_ascii_lowercase())
                .or_default()
                .push(v.into_owned());
        }
    }
    for (k, mut vs) in q {
        vs.sort();
        out.push('\n');
        out.push_str(&k);
        out.push(':');
        out.push_str(&vs.join(","));
    }
    out
}

/// base64(HMAC-SHA256(base64-decoded key, string_to_sign)).
///
/// ```
/// let sig = emulator::blob::auth::sign(emulator::DEV_ACCOUNT_KEY, "x").unwrap();
/// assert_eq!(sig.len(), 44);
/// ```
pub fn sign(key_b64: &str, string_to_sign: &str) -> crate::Result<String> {
    let key = decode_key(key_b64)
        .map_err(|_| crate::Error::Config("the storage account key is not valid base64".into()))?;
    Ok(hmac_b64(&key, string_to_sign))
}

/// The `Authorization` header value for a request, as Microsoft's SDKs compute it.
///
/// ```
/// use http::{HeaderMap, Method};
/// let uri = "http://127.0.0.1:10000/devstoreaccount1?comp=list".parse().unwrap();
/// let v = emulator::blob::auth::authorization("devstoreaccount1", emulator::DEV_ACCOUNT_KEY, &Method::GET, &uri, &HeaderMap::new()).unwrap();
/// assert!(v.starts_with("SharedKey devstoreaccount1:"));
/// ```
pub fn authorization(
    account: &str,
    key_b64: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> crate::Result<String> {
    let sig = sign(key_b64, &string_to_sign(account, method, uri, headers))?;
    Ok(format!("SharedKey {account}:{sig}"))
}

/// The service SAS string-to-sign for the given query parameters (already decoded) and canonical
/// resource (`/blob/<account>/<container>[/<blob>]`). Supports `sv` from 2015-04-05 on.
///
/// ```
/// use std::collections::BTreeMap;
/// let mut p = BTreeMap::new();
/// p.insert("sv".to_string(), "2021-08-06".to_string());
/// p.insert("sp".to_string(), "r".to_string());
/// p.insert("se".to_string(), "2030-01-01T00:00:00Z".to_string());
/// p.insert("sr".to_string(), "b".to_string());
/// let s = emulator::blob::auth::service_sas_string_to_sign(&p, "/blob/a/c/b").unwrap();
/// assert!(s.starts_with("r\n\n2030-01-01T00:00:00Z\n/blob/a/c/b\n"));
/// ```
pub fn service_sas_string_to_sign(
    params: &BTreeMap<String, String>,
    canonical_resource: &str,
) -> Result<String, String> {
    let g = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let sv = g("sv");
    if sv.len() != 10 || sv < "2015-04-05" {
        return Err(format!(
            "signed version sv=`{sv}` is not supported; use 2015-04-05 or later"
        ));
    }
    let mut fields: Vec<&str> = vec![
        g("sp"),
        g("st"),
        g("se"),
        canonical_resource,
        g("si"),
        g("sip"),
        g("spr"),
        sv,
    ];
    if sv >= "2018-11-09" {
        fields.push(g("sr"));
        fields.push(g("snapshot"));
    }
    if sv >= "2020-12-06" {
        fields.push(g("ses"));
    }
    fields.extend([g("rscc"), g("rscd"), g("rsce"), g("rscl"), g("rsct")]);
    Ok(fields.join("\n"))
}

/// Build a service SAS query string (for tests and tools), signing `params` for `canonical_resource`.
///
/// ```
/// let q = emulator::blob::auth::service_sas_query(
///     emulator::DEV_ACCOUNT_KEY,
///     "/blob/devstoreaccount1/c",
///     &[("sv", "2021-08-06"), ("sr", "c"), ("sp", "rl"), ("se", "2030-01-01T00:00:00Z")],
/// ).unwrap();
/// assert!(q.contains("&sig="));
/// ```
pub fn service_sas_query(
    key_b64: &str,
    canonical_resource: &str,
    params: &[(&str, &str)],
) -> crate::Result<String> {
    let map: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sts = service_sas_string_to_sign(&map, canonical_resource).map_err(crate::Error::Config)?;
    let sig = sign(key_b64, &sts)?;
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    ser.append_pair("sig", &sig);
    Ok(ser.finish())
}

/// What an authenticated request may do.
#[derive(Debug, Clone)]
pub(crate) enum Grant {
    /// Shared Key: everything in the account.
    Account,
    /// Service SAS.
    Sas(SasGrant),
    /// A verified Entra ID bearer token; its roles are checked once per operation by
    /// [`Grant::authorize_token`].
    Token(crate::identity::Claims),
}

#[derive(Debug, Clone)]
pub(crate) struct SasGrant {
    pub permissions: String,
    pub container_scope: bool,
    /// Response header overrides (`rscc` ...), header name and value.
    pub overrides: Vec<(&'static str, String)>,
}

impl Grant {
    /// Require one of the permission letters in `any_of` (Shared Key has them all).
    pub fn require(&self, any_of: &str) -> BlobResult<()> {
        match self {
            Grant::Account | Grant::Token(_) => Ok(()),
            Grant::Sas(g) => {
                if any_of.chars().any(|c| g.permissions.contains(c)) {
                    Ok(())
                } else {
                    Err(BlobError::permission_mismatch(any_of))
                }
            }
        }
    }

    /// Operations on the container itself need a container-scoped SAS (`sr=c`) or Shared Key.
    pub fn require_container_scope(&self) -> BlobResult<()> {
        match self {
            Grant::Sas(g) if !g.container_scope => Err(BlobError::resource_type_mismatch(
                "A blob SAS (sr=b) cannot be used on a container; use sr=c.",
            )),
            _ => Ok(()),
        }
    }

    /// Creating or deleting containers and listing the account need Shared Key.
    pub fn require_account(&self, what: &str) -> BlobResult<()> {
        match self {
            Grant::Account | Grant::Token(_) => Ok(()),
            Grant::Sas(_) => Err(BlobError::resource_type_mismatch(&format!(
                "{what} needs Shared Key authorization; a service SAS cannot do it."
            ))),
        }
    }

    /// A token's roles must allow the operation: reads need a reader, contributor or owner
    /// role, everything else a contributor or owner role (403 `AuthorizationPermissionMismatch`,
    /// as Azure answers a principal without the role assignment). Other grants pass.
    pub fn authorize_token(&self, reads_only: bool) -> BlobResult<()> {
        use crate::identity::roles;
        let Grant::Token(claims) = self else {
            return Ok(());
        };
        let wanted = if reads_only {
            roles::BLOB_READ
        } else {
            roles::BLOB_WRITE
        };
        if claims.has_any_role(wanted) {
            return Ok(());
        }
        Err(BlobError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationPermissionMismatch",
            format!(
                "This request is not authorized to perform this operation using this permission. The principal `{}` needs one of the roles {wanted:?} (the token's `roles` claim).",
                claims.sub
            ),
        ))
    }

    pub fn overrides(&self) -> &[(&'static str, String)] {
        match self {
            Grant::Account | Grant::Token(_) => &[],
            Grant::Sas(g) => &g.overrides,
        }
    }
}

/// Inputs of [`authenticate`].
pub(crate) struct AuthInput<'a> {
    pub account: &'a str,
    pub key: &'a [u8],
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub query: &'a BTreeMap<String, String>,
    pub container: Option<&'a str>,
    pub blob: Option<&'a str>,
    pub peer_ip: std::net::IpAddr,
    pub max_skew_secs: u64,
    pub now: i64,
    /// The issuer whose bearer tokens are accepted (`None`: bearer tokens are refused).
    pub trust: Option<&'a crate::identity::TrustedIssuer>,
}

/// Authenticate a request with Shared Key or service SAS.
pub(crate) fn authenticate(a: &AuthInput<'_>) -> BlobResult<Grant> {
    if let Some(auth) = a.headers.get(http::header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| BlobError::auth_failed("The Authorization header is not ASCII."))?;
        if let Some(token) = auth.strip_prefix("Bearer ") {
            return bearer(a, token.trim()).map(Grant::Token);
        }
        return shared_key(a, auth).map(|()| Grant::Account);
    }
    if a.query.contains_key("sig") {
        return service_sas(a).map(Grant::Sas);
    }
    Err(BlobError::new(
        StatusCode::UNAUTHORIZED,
        "NoAuthenticationInformation",
        "Server failed to authenticate the request: there is no Authorization header and no SAS (sig) in the query. Sign with Shared Key or use a SAS token.",
    ))
}

fn shared_key(a: &AuthInput<'_>, auth: &str) -> BlobResult<()> {
    let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
    match scheme {
        "SharedKey" => {}
        "SharedKeyLite" => {
            return Err(BlobError::auth_failed(
                "Shared Key Lite is not supported by this emulator; use SharedKey.",
            ))
        }
        _ => {
            return Err(BlobError::auth_failed(
                "The Authorization header must be `SharedKey <account>:<signature>`.",
            ))
        }
    }
    let (acct, sig) = rest.trim().split_once(':').ok_or_else(|| {
        BlobError::auth_failed(
            "The Authorization header must be `SharedKey <account>:<signature>`.",
        )
    })?;
    if acct != a.account {
        return Err(BlobError::auth_failed(format!(
            "The account in the Authorization header (`{acct}`) is not the account of the URL (`{}`).",
            a.account
        )));
    }
    check_date(a)?;
    let expected = hmac_b64(
        a.key,
        &string_to_sign(a.account, a.method, a.uri, a.headers),
    );
    if !ct_eq(&expected, sig.trim()) {
        return Err(BlobError::auth_failed(
            "The MAC signature found in the HTTP request is not the same as any computed signature. Check the account key and the string-to-sign (path-style URLs put the account name twice in the canonical resource).",
        ));
    }
    Ok(())
}

/// The oldest service version that accepts bearer tokens.
const BEARER_MIN_VERSION: &str = "2017-11-09";

/// 401 `InvalidAuthenticationInfo` with a `WWW-Authenticate` challenge naming the audience, as
/// Azure answers a bearer token it cannot accept. `why` never holds the token.
fn invalid_token(why: impl Into<String>) -> BlobError {
    let why = why.into();
    BlobError::new(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationInfo",
        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
    )
    .with_detail("AuthenticationErrorDetail", &why)
    .with_header(
        "www-authenticate",
        format!(
            "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize resource_id={}",
            crate::identity::STORAGE_AUDIENCE
        ),
    )
}

/// Verify an `Authorization: Bearer` token: the issuer's signature, audience
/// `https://storage.azure.com` and lifetime, with `x-ms-version` 2017-11-09 or later.
fn bearer(a: &AuthInput<'_>, token: &str) -> BlobResult<crate::identity::Claims> {
    let Some(trust) = a.trust else {
        return Err(invalid_token(
            "Bearer tokens are not accepted: this emulator trusts no issuer; configure [emulators.identity].",
        ));
    };
    let version = a
        .headers
        .get("x-ms-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Versions are ISO dates, so they compare as strings.
    if version < BEARER_MIN_VERSION {
        return Err(BlobError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAuthenticationInfo",
            format!("Authentication scheme Bearer is not supported in this version: send x-ms-version {BEARER_MIN_VERSION} or later (got `{version}`)."),
        ));
    }
    trust
        .verify(token, crate::identity::STORAGE_AUDIENCE, a.now)
        .map_err(|why| invalid_token(why.to_string()))
}

fn check_date(a: &AuthInput<'_>) -> BlobResult<()> {
    let raw = a
        .headers
        .get("x-ms-date")
        .or_else(|| a.headers.get(http::header::DATE))
        .ok_or_else(|| BlobError::auth_failed("The request has no x-ms-date or Date header."))?;
    let text = raw
        .to_str()
        .map_err(|_| BlobError::auth_failed("The x-ms-date header is not ASCII."))?;
    let when = httpdate::parse_http_date(text).map_err(|_| {
        BlobError::auth_failed(format!("The date `{text}` is not an RFC 1123 date."))
    })?;
    let secs = when
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let skew = a.max_skew_secs as i64;
    if secs < a.now - skew {
        return Err(BlobError::auth_failed(format!(
            "Request date header too old: `{text}`. Sign the request with the current time."
        )));
    }
    if secs > a.now + skew {
        return Err(BlobError::auth_failed(format!(
            "Request date header is in the future: `{text}`. Check the clock."
        )));
    }
    Ok(())
}

fn service_sas(a: &AuthInput<'_>) -> BlobResult<SasGrant> {
    let q = a.query;
    if q.contains_key("ss") || q.contains_key("srt") {
        return Err(BlobError::auth_failed(
            "Account SAS (ss/srt) is not supported by this emulator; use a service SAS (sr=b or sr=c).",
        ));
    }
    if q.keys()
        .any(|k| k.starts_with("skoid") || k == "sktid" || k == "skt")
    {
        return Err(BlobError::auth_failed(
            "User delegation SAS is not supported by this emulator; use a service SAS signed with the account key.",
        ));
    }
    if q.contains_key("si") {
        return Err(BlobError::auth_failed(
            "Stored access policies (si) are not supported by this emulator; put sp/st/se in the SAS itself.",
        ));
    }
    let container = a.container.ok_or_else(|| {
        BlobError::resource_type_mismatch("A service SAS only works on a container or a blob.")
    })?;
    let sr = q.get("sr").map(String::as_str).unwrap_or("");
    let (canonical, container_scope) = match sr {
        "c" => (format!("/blob/{}/{}", a.account, container), true),
        "b" => match a.blob {
            Some(b) => (format!("/blob/{}/{}/{}", a.account, container, b), false),
            None => {
                return Err(BlobError::resource_type_mismatch(
                    "A blob SAS (sr=b) cannot be used on a container; use sr=c.",
                ))
            }
        },
        "" => {
            return Err(BlobError::auth_failed(
                "The SAS has no signed resource (sr).",
            ))
        }
        other => {
            return Err(BlobError::auth_failed(format!(
                "Signed resource sr=`{other}` is not supported by this emulator; use sr=b or sr=c."
            )))
        }
    };
    let sts = service_sas_string_to_sign(q, &canonical).map_err(BlobError::auth_failed)?;
    let expected = hmac_b64(a.key, &sts);
    let given = q.get("sig").map(String::as_str).unwrap_or("");
    if !ct_eq(&expected, given) {
        return Err(BlobError::auth_failed(
            "Signature did not match. Check the account key and that every signed field (sp, st, se, sr, sv, spr, sip, rsc*) is sent unchanged.",
        ));
    }
    let se = q
        .get("se")
        .ok_or_else(|| BlobError::auth_failed("The SAS has no signed expiry (se)."))?;
    let expiry = parse_sas_time(se).ok_or_else(|| {
        BlobError::auth_failed(format!(
            "Signed expiry se=`{se}` is not an ISO 8601 UTC time."
        ))
    })?;
    if a.now >= expiry {
        return Err(BlobError::auth_failed(format!(
            "Signed expiry time [{se}] has passed: the SAS is expired."
        )));
    }
    if let Some(st) = q.get("st") {
        let start = parse_sas_time(st).ok_or_else(|| {
            BlobError::auth_failed(format!(
                "Signed start st=`{st}` is not an ISO 8601 UTC time."
            ))
        })?;
        if a.now < start {
            return Err(BlobError::auth_failed(format!(
                "Signed start time [{st}] is in the future: the SAS is not valid yet."
            )));
        }
    }
    if let Some(spr) = q.get("spr") {
        if !spr.split(',').any(|p| p.trim() == "http") {
            return Err(BlobError::new(
                StatusCode::FORBIDDEN,
                "AuthorizationProtocolMismatch",
                "This request is not authorized to perform this operation using this protocol: the SAS allows only https (spr) and the emulator serves http.",
            ));
        }
    }
    if let Some(sip) = q.get("sip") {
        if !ip_in_range(sip, a.peer_ip) {
            return Err(BlobError::new(
                StatusCode::FORBIDDEN,
                "AuthorizationSourceIPMismatch",
                format!("This request is not authorized to perform this operation using this source IP {}.", a.peer_ip),
            ));
        }
    }
    let permissions = q.get("sp").cloned().unwrap_or_default();
    let mut overrides = Vec::new();
    for (param, header) in [
        ("rscc", "cache-control"),
        ("rscd", "content-disposition"),
        ("rsce", "content-encoding"),
        ("rscl", "content-language"),
        ("rsct", "content-type"),
    ] {
        if let Some(v) = q.get(param) {
            overrides.push((header, v.clone()));
        }
    }
    Ok(SasGrant {
        permissions,
        container_scope,
        overrides,
    })
}

/// Parse a SAS time: `YYYY-MM-DD`, or ISO 8601 UTC with optional fractional seconds.
pub(crate) fn parse_sas_time(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    if s.len() == 10 {
        let full = format!("{s}T00:00:00Z");
        return time::OffsetDateTime::parse(&full, &Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp());
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    // `2030-01-01T00:00Z` (no seconds) is also valid ISO 8601.
    if s.len() == 17 && s.ends_with('Z') {
        let full = format!("{}:00Z", &s[..16]);
        return time::OffsetDateTime::parse(&full, &Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp());
    }
    None
}

fn ip_in_range(sip: &str, peer: std::net::IpAddr) -> bool {
    let (lo, hi) = sip.split_once('-').unwrap_or((sip, sip));
    match (
        lo.trim().parse::<std::net::IpAddr>(),
        hi.trim().parse::<std::net::IpAddr>(),
    ) {
        (Ok(lo), Ok(hi)) => lo <= peer && peer <= hi,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_times() {
        assert_eq!(parse_sas_time("1970-01-02"), Some(86400));
        assert_eq!(parse_sas_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(parse_sas_time("1970-01-01T00:01Z"), Some(60));
        assert_eq!(parse_sas_time("1970-01-01T00:00:01.5Z"), Some(1));
        assert_eq!(parse_sas_time("garbage"), None);
    }

    #[test]
    fn ip_ranges() {
        let ip: std::net::IpAddr = "127.0.0.1"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        assert!(ip_in_range("127.0.0.1", ip));
        assert!(ip_in_range("127.0.0.0-127.0.0.255", ip));
        assert!(!ip_in_range("10.0.0.1", ip));
        assert!(!ip_in_range("nonsense", ip));
    }
}
