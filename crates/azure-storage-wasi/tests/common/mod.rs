//! A scripted in-memory `azure_core` HttpClient (no network).
#![allow(dead_code)]

use azure_core::http::{
    headers::Headers, AsyncRawResponse, Body, ClientOptions, HttpClient, Request, StatusCode,
    Transport,
};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted answer: status, headers, body.
type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);

#[derive(Debug, Default)]
pub struct Mock {
    pub seen: Mutex<Vec<Seen>>,
    replies: Mutex<VecDeque<Reply>>,
}

impl Mock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn reply(&self, status: u16, headers: &[(&'static str, &str)], body: &[u8]) {
        self.replies.lock().unwrap().push_back((
            status,
            headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
            body.to_vec(),
        ));
    }

    pub fn options(self: &Arc<Self>) -> ClientOptions {
        ClientOptions {
            transport: Some(Transport::new(self.clone())),
            ..Default::default()
        }
    }

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
