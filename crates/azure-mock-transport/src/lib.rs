//! A scripted in-memory `azure_core` [`HttpClient`] for unit tests of the service crates: it
//! records every request and answers with replies queued in advance. No network.
//!
//! ```
//! use azure_core::http::{HttpClient, Method, Request};
//! let mock = azure_mock_transport::Mock::new();
//! mock.reply(200, &[("etag", "\"1\"")], b"{}");
//! // Service clients built with `mock.options()` send through the mock; here it is called
//! // directly.
//! let options = mock.options();
//! assert!(options.transport.is_some());
//! let request = Request::new("http://127.0.0.1:8081/dbs".parse()?, Method::Get);
//! let response = futures::executor::block_on(mock.execute_request(&request))?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers().get_optional_str(&"etag".into()), Some("\"1\""));
//! assert_eq!(mock.seen()[0].url, "http://127.0.0.1:8081/dbs");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use azure_core::http::{
    headers::Headers, AsyncRawResponse, Body, ClientOptions, HttpClient, Request, StatusCode,
    Transport,
};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

/// A request as the transport received it.
///
/// ```
/// let seen = azure_mock_transport::Seen { method: "GET".into(), url: "http://x/".into(),
///     headers: vec![("x-ms-date".into(), "d".into())], body: vec![] };
/// assert_eq!(seen.header("X-MS-DATE"), Some("d"));
/// ```
#[derive(Debug, Clone)]
pub struct Seen {
    /// Upper-case method.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Every header, in order.
    pub headers: Vec<(String, String)>,
    /// The body (`<stream>` for a streamed body).
    pub body: Vec<u8>,
}

impl Seen {
    /// The first value of a header, by case-insensitive name.
    ///
    /// ```
    /// # let seen = azure_mock_transport::Seen { method: "GET".into(), url: "u".into(), headers: vec![], body: vec![] };
    /// assert_eq!(seen.header("a"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted answer: status, headers, body.
type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// The scripted transport.
///
/// ```
/// use azure_core::http::{HttpClient, Method, Request};
/// let mock = azure_mock_transport::Mock::new();
/// mock.reply(404, &[], b"");
/// let request = Request::new("http://h/c/missing".parse()?, Method::Delete);
/// let first = futures::executor::block_on(mock.execute_request(&request))?;
/// assert_eq!(first.status(), 404);
/// // Past the scripted replies every request gets a 500.
/// let second = futures::executor::block_on(mock.execute_request(&request))?;
/// assert_eq!(second.status(), 500);
/// assert_eq!(mock.seen().len(), 2);
/// assert_eq!(mock.seen()[1].method, "DELETE");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Mock {
    /// Requests received so far.
    pub seen: Mutex<Vec<Seen>>,
    replies: Mutex<VecDeque<Reply>>,
}

impl Mock {
    /// A transport with no replies queued (an unscripted request gets a 500; see [`Mock`]).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Queues the next reply; replies are given in the order they were queued (see [`Mock`]).
    pub fn reply(&self, status: u16, headers: &[(&'static str, &str)], body: &[u8]) {
        self.replies.lock().unwrap().push_back((
            status,
            headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
            body.to_vec(),
        ));
    }

    /// `ClientOptions` whose transport is this mock.
    ///
    /// ```
    /// let options = azure_mock_transport::Mock::new().options();
    /// assert!(options.transport.is_some());
    /// ```
    pub fn options(self: &Arc<Self>) -> ClientOptions {
        ClientOptions {
            transport: Some(Transport::new(self.clone())),
            ..Default::default()
        }
    }

    /// A copy of the requests received so far.
    ///
    /// ```
    /// assert!(azure_mock_transport::Mock::new().seen().is_empty());
    /// ```
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl HttpClient for Mock {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body = match request.body() {
            Body::Bytes(b) => b.to_vec(),
            _ => b"<stream>".to_vec(),
        };
        self.seen.lock().unwrap().push(Seen {
            method: request.method().to_string(),
            url: request.url().to_string(),
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.as_str().to_string()))
                .collect(),
            body,
        });
        let (status, headers, body) = self.replies.lock().unwrap().pop_front().unwrap_or((
            500,
            vec![],
            b"mock: no reply scripted".to_vec(),
        ));
        let mut h = Headers::new();
        for (n, v) in headers {
            h.insert(n, v);
        }
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::from(status),
            h,
            body,
        ))
    }
}
