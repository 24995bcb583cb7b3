//! `GET /fetch?url=<absolute URL>`: fetches the URL through `azure_core`'s pipeline over
//! `WasiHttpClient` (so the retry policy applies, honouring `Retry-After`) and streams the
//! answer back with its status, content type and headers.
//!
//! `&via=binding` skips `azure_core` and calls `azure_wasi::outbound::send_parts` directly (the
//! `wasi_experimental_http` ABI in a `wasm32-wasip1` module, wasi:http `outgoing-handler` in a
//! `wasm32-wasip2` component), passing every value of repeated response headers through unchanged.
//!
//! Errors answer by the status policy of `azure_wasi::Error`: no `url` is a 400, a host not in
//! `allowed_hosts` a 502 naming the entry to add, an unreachable upstream a 502.

use azure_wasi::azure::azure_core::http::{
    Context, Method, Pipeline, PipelineStreamOptions, Request, Url,
};
use azure_wasi::azure::BlockingReader;
use azure_wasi::Response;

/// Response headers that describe the upstream connection, not the content.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "content-length",
    "content-type",
    "keep-alive",
    "transfer-encoding",
    "status",
];

/// GET /fetch?url=<absolute URL>[&via=binding]
#[azure_wasi::handler]
async fn handle(req: azure_wasi::Request) -> azure_wasi::Result<Response> {
    let url = req.require_query("url")?.to_string();
    let parsed: Url = url.parse().map_err(|e| {
        azure_wasi::Error::bad_request(format!(
            "query parameter `url` is not an absolute URL ({e})"
        ))
    })?;
    if req.query("via") == Some("binding") {
        return via_binding(&url);
    }
    via_pipeline(parsed).await
}

async fn via_pipeline(url: Url) -> azure_wasi::Result<Response> {
    let pipeline = Pipeline::new(
        Some("fetch"),
        Some(env!("CARGO_PKG_VERSION")),
        azure_wasi::azure::client_options(),
        Vec::new(),
        Vec::new(),
        None,
    );
    let mut request = Request::new(url, Method::Get);
    let options = PipelineStreamOptions {
        // Pass upstream errors (404, 500, ...) through instead of failing.
        skip_checks: true,
        ..Default::default()
    };
    let response = pipeline
        .stream(&Context::new(), &mut request, Some(options))
        .await?;
    let (status, headers, body) = response.deconstruct();
    let status = azure_wasi::http::StatusCode::from_u16(u16::from(status))?;
    let content_type = headers
        .iter()
        .find(|(n, _)| n.as_str() == "content-type")
        .map(|(_, v)| v.as_str().to_string())
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut out = Response::stream(BlockingReader::new(body), &content_type).with_status(status);
    for (name, value) in headers.iter() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            out = out.with_header(name.as_str(), value.as_str());
        }
    }
    Ok(out)
}

fn via_binding(url: &str) -> azure_wasi::Result<Response> {
    let response = azure_wasi::outbound::send_parts(
        &azure_wasi::Method::GET,
        url,
        &azure_wasi::HeaderMap::new(),
        b"",
    )?;
    let status = response.status();
    let mut out = Response::new(status);
    for (name, value) in response.headers() {
        if name == azure_wasi::http::header::CONTENT_TYPE {
            out = out.with_content_type(value.to_str().unwrap_or("application/octet-stream"));
        } else if !HOP_BY_HOP.contains(&name.as_str()) {
            out = out.with_header(name.as_str(), value.as_bytes());
        }
    }
    Ok(out.with_body(azure_wasi::Body::Reader(Box::new(response.into_body()))))
}
