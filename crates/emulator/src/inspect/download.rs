//! A blob's bytes for the dashboard's download link: fetched from the running Blob emulator
//! over loopback with a Shared Key request, exactly as a client would, so the bytes come from
//! the same Get Blob operation whatever the store does with them. The key stays here; the
//! caller gets only the status, the content headers and the streamed body.

use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::blob::DEFAULT_VERSION;

/// Where the Blob emulator listens and its accounts' keys.
#[derive(Clone)]
pub(crate) struct BlobAccess {
    pub(crate) url: String,
    pub(crate) keys: Vec<(String, String)>,
}

impl BlobAccess {
    /// Get Blob of `account/container/blob`; `None` for an account the emulator does not have.
    /// An error says what failed, without the key or the signature.
    pub(crate) async fn get(
        &self,
        account: &str,
        container: &str,
        blob: &str,
    ) -> Result<Option<Response<Incoming>>, String> {
        let Some((_, key)) = self.keys.iter().find(|(name, _)| name == account) else {
            return Ok(None);
        };
        let path = format!(
            "/{}/{}/{}",
            encode(account),
            encode(container),
            blob.split('/').map(encode).collect::<Vec<_>>().join("/")
        );
        let uri: Uri = format!("{}{path}", self.url)
            .parse()
            .map_err(|e| format!("blob path {path}: {e}"))?;
        let mut headers = HeaderMap::new();
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        headers.insert("x-ms-date", header(&date)?);
        headers.insert("x-ms-version", header(DEFAULT_VERSION)?);
        let auth = crate::blob::auth::authorization(account, key, &Method::GET, &uri, &headers)
            .map_err(|_| format!("the key of account {account} is not valid base64"))?;
        headers.insert(http::header::AUTHORIZATION, header(&auth)?);
        let mut request = Request::get(uri)
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| format!("blob request: {e}"))?;
        *request.headers_mut() = headers;
        let client = Client::builder(TokioExecutor::new()).build_http();
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("the Blob emulator did not answer: {e}"))?;
        Ok(Some(response))
    }
}

fn header(value: &str) -> Result<http::HeaderValue, String> {
    // Only dates, versions and signatures come here: the value is not repeated in the error.
    http::HeaderValue::from_str(value).map_err(|_| "a header value is not valid".to_string())
}

/// Percent-encodes one path segment (everything but unreserved characters).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
