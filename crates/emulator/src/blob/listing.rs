//! List Containers and List Blobs (XML, prefix, delimiter, maxresults, marker/NextMarker).

use bytes::Bytes;
use http::StatusCode;

use super::containers;
use super::error::{BlobError, BlobResult};
use super::model::{from_json, http_date, BlobRecord, ContainerRecord};
use super::router::{finish, response, Ctx};
use super::xml::{elem, escape};
use crate::server::Resp;
use crate::store::Table;

const MAX_RESULTS: usize = 5000;

fn max_results(ctx: &Ctx) -> BlobResult<usize> {
    match ctx.q("maxresults") {
        None => Ok(MAX_RESULTS),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(MAX_RESULTS)),
            _ => Err(BlobError::new(
                StatusCode::BAD_REQUEST,
                "OutOfRangeQueryParameterValue",
                "One of the query parameters specified in the request URI is outside the permissible range: maxresults must be at least 1.",
            )
            .with_detail("QueryParameterName", "maxresults")),
        },
    }
}

fn includes(ctx: &Ctx, what: &str) -> bool {
    ctx.q("include")
        .map(|v| v.split(',').any(|x| x.trim().eq_ignore_ascii_case(what)))
        .unwrap_or(false)
}

fn metadata_xml(out: &mut String, meta: &std::collections::BTreeMap<String, String>) {
    out.push_str("<Metadata>");
    for (k, v) in meta {
        elem(out, k, v);
    }
    out.push_str("</Metadata>");
}

fn header(out: &mut String, ctx: &Ctx, prefix: &str, marker: &str, max: Option<usize>) {
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    out.push_str(&format!(
        "<EnumerationResults ServiceEndpoint=\"{}/{}/\"",
        escape(ctx.svc.base_url()),
        escape(&ctx.account)
    ));
    if let Some(c) = &ctx.container {
        out.push_str(&format!(" ContainerName=\"{}\"", escape(c)));
    }
    out.push('>');
    if !prefix.is_empty() {
        elem(out, "Prefix", prefix);
    }
    if !marker.is_empty() {
        elem(out, "Marker", marker);
    }
    if let Some(m) = max {
        elem(out, "MaxResults", &m.to_string());
    }
}

pub(crate) async fn list_containers(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require_account("List Containers")?;
    let prefix = ctx.q("prefix").unwrap_or("").to_string();
    let marker = ctx.q("marker").unwrap_or("").to_string();
    let max = max_results(&ctx)?;
    let with_meta = includes(&ctx, "metadata");
    let scan = format!("{}/{}", ctx.account, prefix);
    let all = ctx.svc.store.scan_prefix(Table::Containers, &scan).await?;
    let mut out = String::new();
    header(
        &mut out,
        &ctx,
        &prefix,
        &marker,
        ctx.q("maxresults").map(|_| max),
    );
    out.push_str("<Containers>");
    let mut next = None;
    let mut n = 0;
    for (_, v) in all {
        let c: ContainerRecord = from_json(&v)?;
        if c.name.as_str() < marker.as_str() {
            continue;
        }
        if n == max {
            next = Some(c.name);
            break;
        }
        n += 1;
        out.push_str("<Container>");
        elem(&mut out, "Name", &c.name);
        out.push_str("<Properties>");
        elem(&mut out, "Last-Modified", &http_date(c.last_modified));
        elem(&mut out, "Etag", &c.etag);
        out.push_str("<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold>");
        out.push_str("</Properties>");
        if with_meta {
            metadata_xml(&mut out, &c.metadata);
        }
        out.push_str("</Container>");
    }
    out.push_str("</Containers>");
    elem(&mut out, "NextMarker", next.as_deref().unwrap_or(""));
    out.push_str("</EnumerationResults>");
    finish(
        response(StatusCode::OK).header("content-type", "application/xml"),
        Bytes::from(out),
    )
}

pub(crate) async fn list_blobs(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require_container_scope()?;
    ctx.grant.require("l")?;
    containers::require(&ctx).await?;
    let prefix = ctx.q("prefix").unwrap_or("").to_string();
    let marker = ctx.q("marker").unwrap_or("").to_string();
    let delimiter = ctx.q("delimiter").unwrap_or("").to_string();
    let max = max_results(&ctx)?;
    let with_meta = includes(&ctx, "metadata");
    let base = format!("{}/", ctx.container_key());
    let all = ctx
        .svc
        .store
        .scan_prefix(Table::Blobs, &format!("{base}{prefix}"))
        .await?;
    let mut out = String::new();
    header(
        &mut out,
        &ctx,
        &prefix,
        &marker,
        ctx.q("maxresults").map(|_| max),
    );
    if !delimiter.is_empty() {
        elem(&mut out, "Delimiter", &delimiter);
    }
    out.push_str("<Blobs>");
    let mut next: Option<String> = None;
    let mut n = 0;
    let mut last_prefix: Option<String> = None;
    for (key, v) in all {
        let name = &key[base.len()..];
        if name < marker.as_str() {
            continue;
        }
        // A name under the delimiter rolls up into a BlobPrefix.
        let rolled = if delimiter.is_empty() {
            None
        } else {
            name[prefix.len()..]
                .find(&delimiter)
                .map(|i| name[..prefix.len() + i + delimiter.len()].to_string())
        };
        if let (Some(p), Some(last)) = (&rolled, &last_prefix) {
            if p == last {
                continue;
            }
        }
        if n == max {
            next = Some(rolled.unwrap_or_else(|| name.to_string()));
            break;
        }
        n += 1;
        match rolled {
            Some(p) => {
                out.push_str("<BlobPrefix>");
                elem(&mut out, "Name", &p);
                out.push_str("</BlobPrefix>");
                last_prefix = Some(p);
            }
            None => {
                let b: BlobRecord = from_json(&v)?;
                blob_xml(&mut out, &b, with_meta);
            }
        }
    }
    out.push_str("</Blobs>");
    elem(&mut out, "NextMarker", next.as_deref().unwrap_or(""));
    out.push_str("</EnumerationResults>");
    finish(
        response(StatusCode::OK).header("content-type", "application/xml"),
        Bytes::from(out),
    )
}

fn blob_xml(out: &mut String, b: &BlobRecord, with_meta: bool) {
    out.push_str("<Blob>");
    elem(out, "Name", &b.name);
    out.push_str("<Properties>");
    elem(out, "Creation-Time", &http_date(b.created));
    elem(out, "Last-Modified", &http_date(b.last_modified));
    elem(out, "Etag", &b.etag);
    elem(out, "Content-Length", &b.size.to_string());
    elem(out, "Content-Type", &b.content_type);
    elem(
        out,
        "Content-Encoding",
        b.content_encoding.as_deref().unwrap_or(""),
    );
    elem(
        out,
        "Content-Language",
        b.content_language.as_deref().unwrap_or(""),
    );
    elem(out, "Content-MD5", b.content_md5.as_deref().unwrap_or(""));
    elem(
        out,
        "Content-Disposition",
        b.content_disposition.as_deref().unwrap_or(""),
    );
    elem(
        out,
        "Cache-Control",
        b.cache_control.as_deref().unwrap_or(""),
    );
    out.push_str("<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>");
    out.push_str("</Properties>");
    if with_meta {
        metadata_xml(out, &b.metadata);
    }
    out.push_str("</Blob>");
}
