//! Building Cosmos-style HTTP responses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cosmos::api_error::ApiError;

/// The body type of every response.
pub(crate) use crate::server::Body;

static ACTIVITY: AtomicU64 = AtomicU64::new(0);

/// A fresh activity id formatted like a GUID.
pub(crate) fn activity_id() -> String {
    let n = ACTIVITY.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = Sha256::digest(format!("{t}:{n}:{}", std::process::id()).as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
        u16::from_be_bytes([h[4], h[5]]),
        u16::from_be_bytes([h[6], h[7]]) & 0xfff,
        u16::from_be_bytes([h[8], h[9]]) & 0xfff,
        u64::from_be_bytes([0, 0, h[10], h[11], h[12], h[13], h[14], h[15]])
    )
}

/// A response under construction.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
    pub charge: f64,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
            charge: 1.0,
        }
    }

    pub(crate) fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
            charge: 1.0,
        }
    }

    /// A single resource with its `etag` header.
    pub(crate) fn resource(status: StatusCode, body: Value) -> Reply {
        let etag = body
            .get("_etag")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut r = Reply::json(status, body);
        if let Some(e) = etag {
            r.headers.push(("etag", e));
        }
        r
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn session(self, lsn: u64) -> Reply {
        self.header("x-ms-session-token", format!("0:-1#{lsn}"))
            .header("x-ms-documentdb-partitionkeyrangeid", "0")
    }

    pub(crate) fn charge(mut self, charge: f64) -> Reply {
        self.charge = charge;
        self
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        let mut r = Reply::json(e.status, json!({"code": e.code, "message": e.message}));
        if let Some(s) = e.substatus {
            r.headers.push(("x-ms-substatus", s.to_string()));
        }
        r
    }
}

/// Turns a [`Reply`] into an HTTP response with the headers every Cosmos response carries.
pub(crate) fn finish(reply: Reply) -> Response<Body> {
    let body = match &reply.body {
        Some(v) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
        None => Bytes::new(),
    };
    let mut resp = Response::new(Body::full(body));
    *resp.status_mut() = reply.status;
    let h = resp.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.append(name, v);
        }
    };
    if reply.body.is_some() {
        put("content-type", "application/json");
    }
    put("x-ms-activity-id", &activity_id());
    put("x-ms-request-charge", &format!("{:.2}", reply.charge));
    put("x-ms-gatewayversion", "version=2.14.0");
    put("x-ms-serviceversion", "version=2.14.0.0");
    put("x-ms-schemaversion", "1.18");
    put("date", &httpdate::fmt_http_date(SystemTime::now()));
    for (k, v) in &reply.headers {
        put(k, v);
    }
    if !reply.headers.iter().any(|(k, _)| *k == "x-ms-substatus") && reply.status.is_client_error()
    {
        put("x-ms-substatus", "0");
    }
    resp
}
