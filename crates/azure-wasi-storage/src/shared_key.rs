//! Shared Key request signing (Storage REST "Authorize with Shared Key").

use azure_core::http::{headers::Headers, Body, Method, Request, Url};
use azure_wasi_core::auth::{rfc1123_now, RequestSigner, SigningKey};
use std::collections::BTreeMap;

/// Signs each request with `Authorization: SharedKey <account>:<signature>` and a fresh
/// `x-ms-date`.
///
/// Install it with [`azure_wasi_core::auth::add_signing_policy`] (the `StorageSettings` client
/// constructors do this for you).
///
/// ```
/// use azure_wasi_core::auth::SigningKey;
/// use azure_wasi_storage::SharedKeySigner;
/// use azure_core::http::{ClientOptions, Method, Request};
/// use azure_wasi_core::auth::{add_signing_policy, RequestSigner};
/// let signer = SharedKeySigner::new("acct", SigningKey::from_base64("a2V5")?);
/// let mut request = Request::new("https://acct.blob.core.windows.net/c/b".parse()?, Method::Get);
/// signer.sign(&mut request)?;
/// let auth = request.headers().get_optional_str(&"authorization".into()).unwrap();
/// assert!(auth.starts_with("SharedKey acct:"));
///
/// let mut options = ClientOptions::default();
/// add_signing_policy(&mut options, std::sync::Arc::new(signer));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SharedKeySigner {
    account: String,
    key: SigningKey,
}

impl SharedKeySigner {
    /// A signer for `account` with its decoded key (see [`SharedKeySigner`]).
    pub fn new(account: &str, key: SigningKey) -> Self {
        Self {
            account: account.to_string(),
            key,
        }
    }

    /// Signs `request` as if `x-ms-date` were `date` (used by [`RequestSigner::sign`] with the
    /// current time, and by tests with a fixed one). Returns the `Authorization` value.
    ///
    /// ```
    /// use azure_core::http::{Method, Request};
    /// use azure_wasi_storage::{SharedKeySigner, EMULATOR_ACCOUNT, EMULATOR_KEY};
    /// use azure_wasi_core::auth::SigningKey;
    /// let signer = SharedKeySigner::new(EMULATOR_ACCOUNT, SigningKey::from_base64(EMULATOR_KEY).unwrap());
    /// let mut req = Request::new("http://127.0.0.1:10000/devstoreaccount1/c".parse().unwrap(), Method::Get);
    /// let auth = signer.sign_at(&mut req, "Tue, 01 Nov 2022 00:00:00 GMT");
    /// assert!(auth.starts_with("SharedKey devstoreaccount1:"));
    /// ```
    pub fn sign_at(&self, request: &mut Request, date: &str) -> String {
        request.insert_header("x-ms-date", date.to_string());
        let body_len = match request.body() {
            Body::Bytes(b) => b.len() as u64,
            other => other.len().unwrap_or(0),
        };
        let text = string_to_sign(
            &self.account,
            request.method(),
            request.url(),
            request.headers(),
            body_len,
        );
        let authorization = format!("SharedKey {}:{}", self.account, self.key.sign(&text));
        request.insert_header("authorization", authorization.clone());
        authorization
    }
}

impl RequestSigner for SharedKeySigner {
    fn sign(&self, request: &mut Request) -> azure_core::Result<()> {
        self.sign_at(request, &rfc1123_now());
        Ok(())
    }
}

/// The Shared Key string-to-sign of a request (Storage REST docs, version 2009-09-19 and later).
///
/// `body_len` is used for `Content-Length` when the request has no such header. A length of 0 is
/// an empty field. Path-style URLs (`/devstoreaccount1/container/blob`) keep the account in the
/// path, so the canonicalized resource names the account twice, as the service expects.
///
/// ```
/// use azure_core::http::{headers::Headers, Method};
/// let mut h = Headers::new();
/// h.insert("x-ms-date", "Tue, 01 Nov 2022 00:00:00 GMT");
/// h.insert("x-ms-version", "2021-08-06");
/// let url = "https://acct.blob.core.windows.net/c?restype=container".parse().unwrap();
/// let s = azure_wasi_storage::string_to_sign("acct", Method::Put, &url, &h, 0);
/// assert!(s.ends_with("\n/acct/c\nrestype:container"));
/// ```
pub fn string_to_sign(
    account: &str,
    method: Method,
    url: &Url,
    headers: &Headers,
    body_len: u64,
) -> String {
    let header = |name: &'static str| -> String {
        headers
            .get_optional_str(&name.into())
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let content_length = match headers.get_optional_str(&"content-length".into()) {
        Some(v) if v.trim() == "0" => String::new(),
        Some(v) => v.trim().to_string(),
        None if body_len > 0 => body_len.to_string(),
        None => String::new(),
    };
    // With x-ms-date present, the Date field is empty.
    let date = if headers.get_optional_str(&"x-ms-date".into()).is_some() {
        String::new()
    } else {
        header("date")
    };
    let mut out = String::with_capacity(256);
    for field in [
        method.as_ref().to_ascii_uppercase(),
        header("content-encoding"),
        header("content-language"),
        content_length,
        header("content-md5"),
        header("content-type"),
        date,
        header("if-modified-since"),
        header("if-match"),
        header("if-none-match"),
        header("if-unmodified-since"),
        header("range"),
    ] {
        out.push_str(&field);
        out.push('\n');
    }
    out.push_str(&canonicalized_headers(headers));
    out.push_str(&canonicalized_resource(account, url));
    out
}

/// `x-ms-*` headers, lower-case, sorted, one `name:value\n` each.
fn canonicalized_headers(headers: &Headers) -> String {
    let mut ms: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .filter(|(n, _)| n.starts_with("x-ms-"))
        .collect();
    ms.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (name, value) in ms {
        out.push_str(name);
        out.push(':');
        out.push_str(value.trim());
        out.push('\n');
    }
    out
}

/// `/<account><encoded path>` then `\nname:v1,v2` per query parameter (names lower-case and
/// sorted, values decoded and sorted).
fn canonicalized_resource(account: &str, url: &Url) -> String {
    let mut out = format!("/{account}{}", url.path());
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url.query_pairs() {
        params
            .entry(name.to_lowercase())
            .or_default()
            .push(value.into_owned());
    }
    for (name, mut values) in params {
        values.sort();
        out.push('\n');
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../testdata/vectors/storage-shared-key.json");

    fn vector_request(case: &Value) -> Request {
        let method = match case["method"].as_str().unwrap() {
            "PUT" => Method::Put,
            "GET" => Method::Get,
            other => panic!("vector method {other}"),
        };
        let mut req = Request::new(case["url"].as_str().unwrap().parse().unwrap(), method);
        for (name, value) in case["headers"].as_object().unwrap() {
            req.insert_header(name.to_lowercase(), value.as_str().unwrap().to_string());
        }
        req.set_body(case["body"].as_str().unwrap().as_bytes().to_vec());
        req
    }

    #[test]
    fn microsoft_vectors_pass_exactly() {
        let v: Value = serde_json::from_str(VECTORS).unwrap();
        let key = SigningKey::from_base64(v["key"].as_str().unwrap()).unwrap();
        let account = v["account"].as_str().unwrap();
        let signer = SharedKeySigner::new(account, key);
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 2);
        for case in cases {
            let mut req = vector_request(case);
            let sts = string_to_sign(
                account,
                req.method(),
                req.url(),
                req.headers(),
                req.body().len().unwrap_or(0),
            );
            assert_eq!(
                sts,
                case["string_to_sign"].as_str().unwrap(),
                "{}",
                case["name"]
            );
            let date = case["headers"]["x-ms-date"].as_str().unwrap();
            let auth = signer.sign_at(&mut req, date);
            assert_eq!(
                auth,
                case["authorization"].as_str().unwrap(),
                "{}",
                case["name"]
            );
        }
    }

    #[test]
    fn query_parameters_are_canonicalized() {
        let url: Url = "https://a.blob.core.windows.net/c?restype=container&COMP=list&include=metadata&include=deleted"
            .parse()
            .unwrap();
        let r = canonicalized_resource("a", &url);
        assert_eq!(
            r,
            "/a/c\ncomp:list\ninclude:deleted,metadata\nrestype:container"
        );
    }

    #[test]
    fn zero_length_and_date_fields() {
        let mut h = Headers::new();
        h.insert("content-length", "0");
        h.insert("date", "Tue, 01 Nov 2022 00:00:00 GMT");
        let url: Url = "https://a.blob.core.windows.net/c".parse().unwrap();
        let s = string_to_sign("a", Method::Get, &url, &h, 0);
        assert_eq!(
            s,
            "GET\n\n\n\n\n\nTue, 01 Nov 2022 00:00:00 GMT\n\n\n\n\n\n/a/c"
        );
        h.insert("x-ms-date", "Wed, 02 Nov 2022 00:00:00 GMT");
        let s = string_to_sign("a", Method::Get, &url, &h, 0);
        assert!(s.starts_with("GET\n\n\n\n\n\n\n"), "{s:?}");
    }
}
