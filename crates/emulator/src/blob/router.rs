//! Request parsing, authentication and dispatch to the operations.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use super::auth::{authenticate, AuthInput, Grant};
use super::error::{BlobError, BlobResult};
use super::{blobs, containers, listing, BlobService, DEFAULT_VERSION};
use crate::server::{http_date_now, read_body, BodyError, Resp};

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
    b.body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| http::Response::new(Full::new(Bytes::new())))
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
    let mut query = BTreeMap::new();
    if let Some(q) = parts.uri.query() {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            query.insert(k.into_owned(), v.into_owned());
        }
    }
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
    })?;
    let limit = svc.cfg.max_body_bytes;
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let too_large = || {
        BlobError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            format!("The request body is too large and exceeds the maximum permissible limit of {limit} bytes; upload in blocks (Put Block + Put Block List)."),
        )
    };
    if declared > limit as u64 {
        return Err(too_large());
    }
    let body = read_body(body, limit).await.map_err(|e| match e {
        BodyError::TooLarge => too_large(),
        BodyError::Io(e) => BlobError::new(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            format!("The request body could not be read: {e}"),
        ),
    })?;
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
    dispatch(ctx).await
}

fn unsupported_verb(m: &Method) -> BlobError {
    BlobError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "UnsupportedHttpVerb",
        format!("The resource doesn't support the specified HTTP verb {m}."),
    )
}

fn unknown_comp(comp: &str) -> BlobError {
    BlobError::invalid_query(
        "comp",
        &format!("comp=`{comp}` is not a Blob service operation here"),
    )
}

async fn dispatch(ctx: Ctx) -> BlobResult<Resp> {
    let comp = ctx.q("comp").unwrap_or("").to_string();
    let restype = ctx.q("restype").unwrap_or("").to_string();
    let m = ctx.method.clone();
    if ctx.container.is_none() {
        return match (m.as_str(), restype.as_str(), comp.as_str()) {
            ("GET", "", "list") => listing::list_containers(ctx).await,
            (_, "service", "properties") => Err(BlobError::not_implemented(
                "Get/Set Blob Service Properties (restype=service&comp=properties)",
            )),
            (_, "service", "stats") => Err(BlobError::not_implemented(
                "Get Blob Service Stats (comp=stats)",
            )),
            (_, "service", "userdelegationkey") => {
                Err(BlobError::not_implemented("Get User Delegation Key"))
            }
            (_, "account", "properties") => {
                Err(BlobError::not_implemented("Get Account Information"))
            }
            (_, _, "blobs") => Err(BlobError::not_implemented(
                "Find Blobs by Tags (comp=blobs)",
            )),
            (_, _, "batch") => Err(BlobError::not_implemented("Blob Batch (comp=batch)")),
            ("GET", _, "") => Err(BlobError::invalid_query(
                "comp",
                "listing containers needs comp=list",
            )),
            (_, _, "list") => Err(unsupported_verb(&m)),
            (_, _, c) if !c.is_empty() => Err(unknown_comp(c)),
            _ => Err(unsupported_verb(&m)),
        };
    }
    if ctx.blob.is_none() {
        if restype != "container" {
            return Err(BlobError::invalid_query(
                "restype",
                "container operations need restype=container (or add a blob name to the path)",
            ));
        }
        return match (m.as_str(), comp.as_str()) {
            ("PUT", "") => containers::create(ctx).await,
            ("DELETE", "") => containers::delete(ctx).await,
            ("GET" | "HEAD", "" | "metadata") => containers::properties(ctx).await,
            ("PUT", "metadata") => containers::set_metadata(ctx).await,
            ("GET", "list") => listing::list_blobs(ctx).await,
            (_, "acl") => Err(BlobError::not_implemented(
                "Get/Set Container ACL (comp=acl)",
            )),
            (_, "lease") => Err(BlobError::not_implemented("Lease Container (comp=lease)")),
            (_, "undelete") => Err(BlobError::not_implemented(
                "Restore Container (comp=undelete)",
            )),
            (_, "rename") => Err(BlobError::not_implemented("Rename Container (comp=rename)")),
            (_, "batch") => Err(BlobError::not_implemented("Blob Batch (comp=batch)")),
            (_, "blobs") => Err(BlobError::not_implemented(
                "Find Blobs by Tags in Container (comp=blobs)",
            )),
            (_, "immutableStorageWithVersioning") => {
                Err(BlobError::not_implemented("Container immutability"))
            }
            (_, "" | "metadata" | "list") => Err(unsupported_verb(&m)),
            (_, c) => Err(unknown_comp(c)),
        };
    }
    if ctx.q("snapshot").is_some() {
        return Err(BlobError::not_implemented("Blob snapshots (snapshot=)"));
    }
    if ctx.q("versionid").is_some() {
        return Err(BlobError::not_implemented("Blob versions (versionid=)"));
    }
    match (m.as_str(), comp.as_str()) {
        ("PUT", "") => blobs::put_blob(ctx).await,
        ("PUT", "block") => blobs::put_block(ctx).await,
        ("PUT", "blocklist") => blobs::put_block_list(ctx).await,
        ("GET", "blocklist") => blobs::get_block_list(ctx).await,
        ("GET" | "HEAD", "") => blobs::get_blob(ctx).await,
        ("GET" | "HEAD", "metadata") => blobs::get_metadata(ctx).await,
        ("PUT", "metadata") => blobs::set_metadata(ctx).await,
        ("PUT", "properties") => blobs::set_properties(ctx).await,
        ("DELETE", "") => blobs::delete_blob(ctx).await,
        (_, "lease") => Err(BlobError::not_implemented("Lease Blob (comp=lease)")),
        (_, "snapshot") => Err(BlobError::not_implemented("Snapshot Blob (comp=snapshot)")),
        (_, "copy") => Err(BlobError::not_implemented("Abort Copy Blob (comp=copy)")),
        (_, "tags") => Err(BlobError::not_implemented("Get/Set Blob Tags (comp=tags)")),
        (_, "tier") => Err(BlobError::not_implemented("Set Blob Tier (comp=tier)")),
        (_, "undelete") => Err(BlobError::not_implemented("Undelete Blob (comp=undelete)")),
        (_, "appendblock" | "seal") => Err(BlobError::not_implemented(
            "Append blobs (comp=appendblock/seal)",
        )),
        (_, "page" | "pagelist") => Err(BlobError::not_implemented(
            "Page blobs (comp=page/pagelist)",
        )),
        (_, "expiry") => Err(BlobError::not_implemented("Set Blob Expiry (comp=expiry)")),
        (_, "immutabilityPolicies" | "legalhold") => Err(BlobError::not_implemented(
            "Blob immutability and legal hold",
        )),
        (_, "incrementalcopy") => Err(BlobError::not_implemented("Incremental Copy Blob")),
        (_, "query") => Err(BlobError::not_implemented(
            "Query Blob Contents (comp=query)",
        )),
        (_, "" | "block" | "blocklist" | "metadata" | "properties") => Err(unsupported_verb(&m)),
        (_, c) => Err(unknown_comp(c)),
    }
}

/// Start a response with the given status.
pub(crate) fn response(status: StatusCode) -> http::response::Builder {
    http::Response::builder().status(status)
}

/// Finish a response builder with a body.
pub(crate) fn finish(b: http::response::Builder, body: Bytes) -> BlobResult<Resp> {
    b.body(Full::new(body)).map_err(BlobError::internal)
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
