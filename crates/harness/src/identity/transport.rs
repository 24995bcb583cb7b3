//! `azure_core`'s `HttpClient` over the host's hyper client, so `azure_identity` needs no second
//! HTTP stack (no reqwest) in the harness. It serves only the broker's token requests: to the
//! managed-identity endpoint (IMDS at 169.254.169.254, or App Service's `IDENTITY_ENDPOINT`) and
//! to Entra ID for workload identity. Those destinations are the host's, never a guest's, so
//! this client does not go through the guests' allow-list or address policy.

use std::time::Duration;

use async_trait::async_trait;
use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Largest token response read (Entra ID answers are a few KiB).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The broker's transport: http and https (Mozilla roots), a whole-exchange timeout, a
/// response size cap. Request bodies are small forms, sent as bytes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> azure_core::Result<()> {
/// use azure_core::http::{HttpClient, Method, Request, Url};
/// let client = harness::identity::HostHttpClient::new(std::time::Duration::from_secs(5));
/// // Nothing listens on port 9 of loopback: the error is an I/O error, retried by azure_core.
/// let req = Request::new(Url::parse("http://127.0.0.1:9/token").unwrap(), Method::Get);
/// let err = client.execute_request(&req).await.unwrap_err();
/// assert!(matches!(err.kind(), azure_core::error::ErrorKind::Io));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HostHttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for HostHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostHttpClient")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HostHttpClient {
    /// A client whose every exchange (connect, send, read the whole answer) ends within
    /// `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    async fn exchange(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<(http::response::Parts, Bytes), String> {
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| crate::outbound::client::describe(&e))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the token response failed: {e}"))?
            .to_bytes();
        Ok((parts, body))
    }
}

fn io_error(message: String) -> azure_core::Error {
    azure_core::Error::with_message(ErrorKind::Io, message)
}

#[async_trait]
impl HttpClient for HostHttpClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body = match request.body() {
            Body::Bytes(b) => b.clone(),
            Body::SeekableStream(_) => {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "the token broker's transport sends byte bodies only",
                ))
            }
        };
        let mut builder = http::Request::builder()
            .method(request.method().as_ref())
            .uri(request.url().as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder.body(Full::new(body)).map_err(|e| {
            azure_core::Error::with_message(
                ErrorKind::DataConversion,
                format!("the token request cannot be built: {e}"),
            )
        })?;
        let (parts, body) = tokio::time::timeout(self.timeout, self.exchange(request))
            .await
            .map_err(|_| io_error(format!("no token response within {:?}", self.timeout)))?
            .map_err(io_error)?;
        let mut headers = Headers::new();
        for (name, value) in &parts.headers {
            headers.insert(
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            );
        }
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::from(parts.status.as_u16()),
            headers,
            body,
        ))
    }
}
