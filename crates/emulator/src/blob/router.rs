//! Request parsing, authentication and dispatch to the operations.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use hyper::body::Incoming;

use super::auth::{authenticate, AuthInput, Grant};
use super::error::{BlobError, BlobResult};
use super::operation::{run, select};
use super::{BlobService, DEFAULT_VERSION};
use crate::server::{declared_length, http_date_now, read_body, Body, BodyError, Resp};

/// One parsed, authenticated request.
pub(crate) struct Ctx {
    pub svc: Arc<BlobService>,
    pub method: Method,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub account: String,
    pub container: Option<String>,
    pub blob: Option<String>,
    pub query: BTreeMap<String, String>,
    pub grant: Grant,
    pub request_id: String,
}

impl Ctx {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub fn container(&self) -> &str {
        self.container.as_deref().unwrap_or("")
    }

    pub fn blob(&self) -> &str {
        self.blob.as_deref().unwrap_or("")
    }

    pub fn container_key(&self) -> String {
        format!("{}/{}", self.account, self.container())
    }

    pub fn blob_key(&self) -> String {
        format!("{}/{}/{}", self.account, self.container(), self.blob())
    }
}

pub(crate) async fn handle(
    svc: Arc<BlobService>,
    req: http::Request<Incoming>,
    peer: SocketAddr,
) -> Resp {
    let request_id = crate::util::new_id();
    let version = req
        .headers()
        .get("x-ms-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(DEFAULT_VERSION)
        .to_string();
    let client_request_id = req.headers().get("x-ms-client-request-id").cloned();
    let is_head = req.method() == Method::HEAD;
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut resp = match route(svc, req, peer, &request_id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%method, %path, status = e.status.as_u16(), code = e.code, "blob request failed");
            error_response(&e, is_head)
        }
    };
    let h = resp.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put("x-ms-request-id", &request_id);
    put("x-ms-version", &version);
    put("date", &http_date_now());
    put("server", "azure-wasi-blob-emulator");
    if let Some(c) = client_request_id {
        h.insert("x-ms-client-request-id", c);
    }
    resp
}

pub(crate) fn error_response(e: &BlobError, is_head: bool) -> Resp {
    let body = if is_head { String::new() } else { e.body_xml() };
    let mut b = http::Response::builder()
        .status(e.status)
        .header("x-ms-error-code", e.code);
    if !is_head {
        b = b.header("content-type", "application/xml");
    }
    for (n, v) in &e.headers {
        b = b.header(*n, v.as_str());
    }
    b.body(Body::full(Bytes::from(body)))
        .unwrap_or_else(|_| http::Response::new(Body::default()))
}

/// The 503 for connections past `blob.limits.max_connections`.
pub(crate) fn server_busy() -> Resp {
    let e = BlobError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServerBusy",
        "The server is currently unable to receive requests: too many open connections (blob.limits.max_connections). Please retry your request.",
    );
    let mut resp = error_response(&e, false);
    let h = resp.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&crate::util::new_id()) {
        h.insert("x-ms-request-id", id);
    }
    h.insert("connection", HeaderValue::from_static("close"));
    resp
}

fn invalid_uri(why: &str) -> BlobError {
    BlobError::new(
        StatusCode::BAD_REQUEST,
        "InvalidUri",
        format!("The requested URI does not represent any resource on the server: {why}. Use path-style URLs http://<host>:<port>/<account>/<container>/<blob>."),
    )
}

fn valid_container_name(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-')
        && !n.contains("--")
}

async fn route(
    svc: Arc<BlobService>,
    req: http::Request<Incoming>,
    peer: SocketAddr,
    request_id: &str,
) -> BlobResult<Resp> {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_string();
    let trimmed = raw_path.trim_start_matches('/');
    let mut segs = trimmed.splitn(3, '/');
    let account = segs.next().unwrap_or("").to_string();
    if account.is_empty() {
        return Err(invalid_uri("the path names no account"));
    }
    let container = match segs.next() {
        Some("") | None => None,
        Some(c) => {
            let c = percent_encoding::percent_decode_str(c)
                .decode_utf8()
                .map_err(|_| invalid_uri("the container name is not UTF-8"))?
                .into_owned();
            if !valid_container_name(&c) {
                return Err(BlobError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidResourceName",
                    format!("The specifed resource name contains invalid characters: container names are 3-63 lower-case letters, digits and single hyphens, not `{c}`."),
                ));
            }
            Some(c)
        }
    };
    let blob = match segs.next() {
        Some("") | None => None,
        Some(b) => {
            let b = percent_encoding::percent_decode_str(b)
                .decode_utf8()
                .map_err(|_| invalid_uri("the blob name is not UTF-8"))?
                .into_owned();
            if b.len() > 1024 || b.chars().any(|c| c.is_control()) {
                return Err(BlobError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidResourceName",
                    "The specifed resource name contains invalid characters: blob names are at most 1024 characters without control characters.",
                ));
            }
            Some(b)
        }
    };
    let query = parse_query(parts.uri.query())?;
    let key = svc.keys.get(&account).cloned().ok_or_else(|| {
        BlobError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The storage account `{account}` does not exist in this emulator; add it to [[emulators.blob.accounts]]."),
        )
    })?;
    let grant = authenticate(&AuthInput {
        account: &account,
        key: &key,
        method: &parts.method,
        uri: &parts.uri,
        headers: &parts.headers,
        query: &query,
        container: container.as_deref(),
        blob: blob.as_deref(),
        peer_ip: peer.ip(),
        max_skew_secs: svc.cfg.max_clock_skew_secs,
        now: crate::util::now_unix(),
        trust: svc.cfg.trusted_issuer.as_ref(),
    })?;
    // Decide the operation and refuse an oversized body from the head alone, before reading.
    let op = select(&parts.method, container.is_some(), blob.is_some(), &query)?;
    grant.authorize_token(op.reads_only())?;
    let limit = svc.cfg.max_body_bytes;
    let too_large = || {
        BlobError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            format!("The request body is too large and exceeds the maximum permissible limit of {limit} bytes; upload in blocks (Put Block + Put Block List)."),
        )
        .with_detail("MaxLimit", &limit.to_string())
    };
    let body = if op.takes_body() {
        let deadline = svc.cfg.limits.body_read_timeout();
        read_body(&parts.headers, body, limit, deadline)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => too_large(),
                BodyError::Timeout(d) => BlobError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "RequestTimeout",
                    format!("The request body did not arrive within {} ms (blob.limits.body_read_timeout_ms).", d.as_millis()),
                ),
                BodyError::Io(e) => BlobError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    format!("The request body could not be read: {e}"),
                ),
            })?
    } else {
        if declared_length(&parts.headers).is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        Bytes::new()
    };
    let ctx = Ctx {
        svc,
        method: parts.method,
        headers: parts.headers,
        body,
        account,
        container,
        blob,
        query,
        grant,
        request_id: request_id.to_string(),
    };
    run(op, ctx).await
}

/// The query parameters with lower-case names (Azure's canonicalized resource lowercases them,
/// so dispatch and signature see the same names). A name given twice is refused: the
/// signature would cover both values and dispatch only one.
fn parse_query(raw: Option<&str>) -> BlobResult<BTreeMap<String, String>> {
    let mut query = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let name = k.to_ascii_lowercase();
        if query.insert(name.clone(), v.into_owned()).is_some() {
            return Err(BlobError::invalid_query(
                &name,
                "the parameter is given more than once (names are not case-sensitive)",
            ));
        }
    }
    Ok(query)
}

/// Start a response with the given status.
pub(crate) fn response(status: StatusCode) -> http::response::Builder {
    http::Response::builder().status(status)
}

/// Finish a response builder with a body.
pub(crate) fn finish(b: http::response::Builder, body: Bytes) -> BlobResult<Resp> {
    b.body(Body::full(body)).map_err(BlobError::internal)
}

/// The `x-ms-meta-*` headers of a request (lower-case names without the prefix).
pub(crate) fn request_metadata(headers: &http::HeaderMap) -> BlobResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, value) in headers {
        if let Some(n) = name.as_str().strip_prefix("x-ms-meta-") {
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(BlobError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidMetadata",
                    format!("The metadata name `{n}` is invalid: use letters, digits and underscores (a C# identifier)."),
                ));
            }
            let v = value.to_str().map_err(|_| {
                BlobError::invalid_header(name.as_str(), "metadata values must be ASCII")
            })?;
            out.insert(n.to_string(), v.to_string());
        }
    }
    Ok(out)
}

/// Add `x-ms-meta-*` headers.
pub(crate) fn with_metadata(
    mut b: http::response::Builder,
    meta: &BTreeMap<String, String>,
) -> http::response::Builder {
    for (k, v) in meta {
        b = b.header(format!("x-ms-meta-{k}"), v.as_str());
    }
    b
}

/// Requests with `x-ms-lease-id` fail: there are no leases here.
pub(crate) fn reject_lease(ctx: &Ctx) -> BlobResult<()> {
    if ctx.headers.contains_key("x-ms-lease-id") {
        return Err(BlobError::new(
            StatusCode::PRECONDITION_FAILED,
            "LeaseNotPresentWithBlobOperation",
            "There is currently no lease on the resource (this emulator does not support leases).",
        ));
    }
    Ok(())
}
