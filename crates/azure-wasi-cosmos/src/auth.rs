//! Master-key authorization (`type=master&ver=1.0&sig=...`).

use azure_core::http::{Method, Request};
use azure_wasi_core::auth::{rfc1123_now, RequestSigner, SigningKey};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The `x-ms-version` this client speaks.
///
/// ```
/// assert_eq!(azure_wasi_cosmos::COSMOS_API_VERSION, "2018-12-31");
/// ```
pub const COSMOS_API_VERSION: &str = "2018-12-31";

const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The master-key token (not yet URL-encoded) for one request.
///
/// ```
/// use azure_wasi_core::auth::SigningKey;
/// let key = SigningKey::from_base64(azure_wasi_cosmos::EMULATOR_KEY).unwrap();
/// let token = azure_wasi_cosmos::authorization_token(
///     &key, "POST", "docs", "dbs/db1/colls/c1", "Tue, 01 Nov 2022 00:00:00 GMT");
/// assert!(token.starts_with("type=master&ver=1.0&sig="));
/// ```
pub fn authorization_token(
    key: &SigningKey,
    verb: &str,
    resource_type: &str,
    resource_link: &str,
    date: &str,
) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}\n\n",
        verb.to_lowercase(),
        resource_type.to_lowercase(),
        resource_link,
        date.to_lowercase()
    );
    format!("type=master&ver=1.0&sig={}", key.sign(&text))
}

/// Resource type and resource link of a request path relative to the account endpoint.
///
/// A path with an even number of segments names a resource (`dbs/db1` → `("dbs", "dbs/db1")`);
/// an odd number names a feed (`dbs/db1/colls` → `("colls", "dbs/db1")`). Ids are decoded.
///
/// ```
/// assert_eq!(azure_wasi_cosmos::resource_of_path("/dbs/db1/colls/c1/docs"),
///     ("docs".to_string(), "dbs/db1/colls/c1".to_string()));
/// assert_eq!(azure_wasi_cosmos::resource_of_path("dbs/my%20db"),
///     ("dbs".to_string(), "dbs/my db".to_string()));
/// ```
pub fn resource_of_path(path: &str) -> (String, String) {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    match segments.len() {
        0 => (String::new(), String::new()),
        n if n % 2 == 1 => (segments[n - 1].clone(), segments[..n - 1].join("/")),
        n => (segments[n - 2].clone(), segments.join("/")),
    }
}

/// Signs every attempt with the master key: sets `x-ms-date`, `x-ms-version` and
/// `authorization` (URL-encoded token).
///
/// ```
/// use azure_wasi_core::auth::SigningKey;
/// use azure_wasi_core::auth::RequestSigner;
/// let signer = azure_wasi_cosmos::MasterKeySigner::new(
///     SigningKey::from_base64(azure_wasi_cosmos::EMULATOR_KEY)?, "/");
/// let mut request = azure_core::http::Request::new(
///     "https://localhost:8081/dbs/db1/colls/c1/docs".parse()?,
///     azure_core::http::Method::Post,
/// );
/// signer.sign(&mut request)?;
/// let auth = request.headers().get_optional_str(&"authorization".into()).unwrap();
/// assert!(auth.starts_with("type%3Dmaster%26ver%3D1.0%26sig%3D"), "{auth}");
/// assert!(request.headers().get_optional_str(&"x-ms-date".into()).is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MasterKeySigner {
    key: SigningKey,
    base_path: String,
}

impl MasterKeySigner {
    /// A signer; `base_path` is the endpoint's path (usually `/`), stripped before the resource
    /// link is derived.
    ///
    /// ```
    /// # use azure_wasi_core::auth::SigningKey;
    /// use azure_core::http::{Method, Request};
    /// // Behind a gateway that serves the account under `/cosmos/`.
    /// let s = azure_wasi_cosmos::MasterKeySigner::new(SigningKey::from_bytes(vec![1]), "/cosmos/");
    /// let direct = azure_wasi_cosmos::MasterKeySigner::new(SigningKey::from_bytes(vec![1]), "/");
    /// let date = "Tue, 01 Nov 2022 00:00:00 GMT";
    /// let mut proxied = Request::new("http://h/cosmos/dbs/db1".parse()?, Method::Get);
    /// let mut plain = Request::new("http://h/dbs/db1".parse()?, Method::Get);
    /// // Both sign the resource `dbs/db1`.
    /// assert_eq!(s.sign_at(&mut proxied, date), direct.sign_at(&mut plain, date));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(key: SigningKey, base_path: &str) -> Self {
        Self {
            key,
            base_path: base_path.to_string(),
        }
    }

    /// Signs `request` with a given date; returns the header value that was set.
    ///
    /// ```
    /// use azure_core::http::{Method, Request};
    /// # use azure_wasi_core::auth::SigningKey;
    /// let s = azure_wasi_cosmos::MasterKeySigner::new(SigningKey::from_bytes(vec![1]), "/");
    /// let mut r = Request::new("http://h/dbs".parse().unwrap(), Method::Get);
    /// let auth = s.sign_at(&mut r, "Tue, 01 Nov 2022 00:00:00 GMT");
    /// assert!(auth.starts_with("type%3Dmaster"));
    /// ```
    pub fn sign_at(&self, request: &mut Request, date: &str) -> String {
        let path = request.url().path();
        let relative = path.strip_prefix(self.base_path.as_str()).unwrap_or(path);
        let (resource_type, resource_link) = resource_of_path(relative);
        let token = authorization_token(
            &self.key,
            verb(request.method()),
            &resource_type,
            &resource_link,
            date,
        );
        let header = utf8_percent_encode(&token, COMPONENT).to_string();
        request.insert_header("x-ms-date", date.to_string());
        request.insert_header("x-ms-version", COSMOS_API_VERSION);
        request.insert_header("authorization", header.clone());
        header
    }
}

fn verb(method: Method) -> &'static str {
    match method {
        Method::Get => "get",
        Method::Post => "post",
        Method::Put => "put",
        Method::Delete => "delete",
        Method::Patch => "patch",
        Method::Head => "head",
        _ => "get",
    }
}

/// With Entra ID tokens: sets `x-ms-date` and `x-ms-version` on every attempt (the token
/// policy sets `Authorization`).
///
/// ```
/// use azure_wasi_core::auth::RequestSigner;
/// let mut request = azure_core::http::Request::new("http://h:1/dbs".parse().unwrap(), azure_core::http::Method::Get);
/// azure_wasi_cosmos::DateHeaders.sign(&mut request).unwrap();
/// assert!(request.headers().get_optional_str(&"x-ms-date".into()).is_some());
/// assert!(request.headers().get_optional_str(&"authorization".into()).is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DateHeaders;

impl RequestSigner for DateHeaders {
    fn sign(&self, request: &mut Request) -> azure_core::Result<()> {
        request.insert_header("x-ms-date", rfc1123_now());
        request.insert_header("x-ms-version", COSMOS_API_VERSION);
        Ok(())
    }
}

impl RequestSigner for MasterKeySigner {
    fn sign(&self, request: &mut Request) -> azure_core::Result<()> {
        self.sign_at(request, &rfc1123_now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../testdata/vectors/cosmos-master-key.json");

    #[test]
    fn microsoft_vectors_pass_exactly() {
        let v: Value = serde_json::from_str(VECTORS).unwrap();
        let key = SigningKey::from_base64(v["key"].as_str().unwrap()).unwrap();
        for case in v["cases"].as_array().unwrap() {
            let token = authorization_token(
                &key,
                case["verb"].as_str().unwrap(),
                case["resource_type"].as_str().unwrap(),
                case["resource_link"].as_str().unwrap(),
                case["x_ms_date"].as_str().unwrap(),
            );
            assert_eq!(token, case["token"].as_str().unwrap());
            // The same through a request, as the pipeline does it.
            let url = format!(
                "http://127.0.0.1:8081/{}/{}",
                case["resource_link"].as_str().unwrap(),
                case["resource_type"].as_str().unwrap()
            );
            let mut req = Request::new(url.parse().unwrap(), Method::Post);
            let header = MasterKeySigner::new(key.clone(), "/")
                .sign_at(&mut req, case["x_ms_date"].as_str().unwrap());
            assert_eq!(header, case["authorization"].as_str().unwrap());
        }
    }

    #[test]
    fn feeds_and_resources() {
        assert_eq!(resource_of_path("/"), (String::new(), String::new()));
        assert_eq!(resource_of_path("/dbs"), ("dbs".into(), String::new()));
        assert_eq!(
            resource_of_path("/dbs/a/colls"),
            ("colls".into(), "dbs/a".into())
        );
        assert_eq!(
            resource_of_path("/dbs/a/colls/b/docs/x"),
            ("docs".into(), "dbs/a/colls/b/docs/x".into())
        );
    }

    #[test]
    fn base_path_is_stripped() {
        let key = SigningKey::from_bytes(vec![7]);
        let mut a = Request::new("http://h/prefix/dbs/a".parse().unwrap(), Method::Get);
        let mut b = Request::new("http://h/dbs/a".parse().unwrap(), Method::Get);
        let d = "Tue, 01 Nov 2022 00:00:00 GMT";
        assert_eq!(
            MasterKeySigner::new(key.clone(), "/prefix/").sign_at(&mut a, d),
            MasterKeySigner::new(key, "/").sign_at(&mut b, d)
        );
    }
}
