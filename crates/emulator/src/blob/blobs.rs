//! Block blob operations.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http::StatusCode;
use md5::{Digest, Md5};

use super::conditions::{check_read, check_write, range, ReadOutcome};
use super::containers;
use super::content::{self, Part, StagedBlock};
use super::error::{BlobError, BlobResult};
use super::events;
use super::model::{etag_of, from_json, http_date, next_stamp, to_json, BlobRecord, BlockRef};
use super::router::{finish, reject_lease, request_metadata, response, with_metadata, Ctx};
use super::xml::elem;
use crate::server::Resp;
use crate::store::{Op, Table};

/// The checks before a blob is written (Put Blob, Put Block List), under the service's write
/// lock: the container exists, the caller may create or overwrite, and the conditional headers
/// hold. Returns the lock, held until the write is done, and the blob as it is now.
pub(super) async fn begin_write(
    ctx: &Ctx,
) -> BlobResult<(tokio::sync::MutexGuard<'_, ()>, Option<BlobRecord>)> {
    let guard = ctx.svc.write_lock.lock().await;
    containers::require(ctx).await?;
    let existing = load(ctx).await?;
    require_write(ctx, existing.is_some())?;
    check_write(
        &ctx.headers,
        existing
            .as_ref()
            .map(|e| (e.etag.as_str(), e.last_modified)),
    )?;
    Ok((guard, existing))
}

pub(super) async fn load(ctx: &Ctx) -> BlobResult<Option<BlobRecord>> {
    match ctx.svc.store.get(Table::Blobs, &ctx.blob_key()).await? {
        Some(bytes) => Ok(Some(from_json(&bytes)?)),
        None => Ok(None),
    }
}

/// The container must exist (404 ContainerNotFound), then the blob (404 BlobNotFound).
async fn require(ctx: &Ctx) -> BlobResult<BlobRecord> {
    match load(ctx).await? {
        Some(r) => Ok(r),
        None => {
            containers::require(ctx).await?;
            Err(BlobError::blob_not_found())
        }
    }
}

fn md5_b64(data: &[u8]) -> String {
    STANDARD.encode(Md5::digest(data))
}

pub(super) fn check_md5(ctx: &Ctx, data: &[u8]) -> BlobResult<String> {
    let actual = md5_b64(data);
    if let Some(given) = ctx.header("content-md5") {
        if given.trim() != actual {
            return Err(BlobError::new(
                StatusCode::BAD_REQUEST,
                "Md5Mismatch",
                "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
            ));
        }
    }
    Ok(actual)
}

pub(super) fn blocks_prefix(ctx: &Ctx) -> String {
    format!("{}\u{0}", ctx.blob_key())
}

pub(super) fn reject_unsupported_put_headers(ctx: &Ctx) -> BlobResult<()> {
    if ctx.headers.contains_key("x-ms-copy-source") {
        return Err(BlobError::not_implemented(
            "Copy Blob / Put Blob From URL (x-ms-copy-source)",
        ));
    }
    if ctx.headers.contains_key("x-ms-encryption-key")
        || ctx.headers.contains_key("x-ms-encryption-scope")
    {
        return Err(BlobError::not_implemented(
            "Customer-provided keys and encryption scopes",
        ));
    }
    if ctx.headers.contains_key("x-ms-tags") {
        return Err(BlobError::not_implemented("Blob index tags (x-ms-tags)"));
    }
    Ok(())
}

/// Properties set by Put Blob / Put Block List / Set Blob Properties. `plain` also reads the
/// standard headers (Put Blob); `x-ms-blob-*` win.
pub(super) struct ContentProps {
    content_type: String,
    content_encoding: Option<String>,
    content_language: Option<String>,
    content_disposition: Option<String>,
    cache_control: Option<String>,
    content_md5: Option<String>,
}

pub(super) fn content_props(ctx: &Ctx, plain: bool) -> ContentProps {
    let pick = |ms: &str, std: &str| -> Option<String> {
        ctx.header(ms)
            .or(if plain { ctx.header(std) } else { None })
            .map(str::to_string)
    };
    ContentProps {
        content_type: pick("x-ms-blob-content-type", "content-type")
            .unwrap_or_else(|| "application/octet-stream".into()),
        content_encoding: pick("x-ms-blob-content-encoding", "content-encoding"),
        content_language: pick("x-ms-blob-content-language", "content-language"),
        content_disposition: pick("x-ms-blob-content-disposition", "content-disposition"),
        cache_control: pick("x-ms-blob-cache-control", "cache-control"),
        content_md5: ctx.header("x-ms-blob-content-md5").map(str::to_string),
    }
}

/// Write permission: `w`, or `c` when the blob does not exist yet.
pub(super) fn require_write(ctx: &Ctx, exists: bool) -> BlobResult<()> {
    if exists {
        ctx.grant.require("w")
    } else {
        ctx.grant.require("wc")
    }
}

/// The bytes of a blob being committed: its parts in order and the writes that store the new
/// ones (parts of the current blob or of staged blocks are named, not written again).
pub(super) struct NewContent {
    pub parts: Vec<Part>,
    pub writes: Vec<Op>,
}

/// Commits the blob record with `content`, drops the staged blocks, and deletes every part of
/// the old blob and of the staged blocks that the new blob does not name, in one transaction.
pub(super) async fn commit_blob(
    ctx: &Ctx,
    existing: Option<&BlobRecord>,
    content: NewContent,
    props: ContentProps,
    blocks: Vec<BlockRef>,
    computed_md5: Option<String>,
) -> BlobResult<BlobRecord> {
    let stamp = next_stamp();
    let now = crate::util::now_unix();
    let key = ctx.blob_key();
    let mut released = existing.map(content::parts_of).unwrap_or_default();
    for (_, pointer) in ctx
        .svc
        .store
        .scan_prefix(Table::Blocks, &blocks_prefix(ctx))
        .await?
    {
        released.push(StagedBlock::decode(&pointer)?.part);
    }
    let rec = BlobRecord {
        name: ctx.blob().to_string(),
        created: existing.map(|e| e.created).unwrap_or(now),
        last_modified: now,
        etag: etag_of(stamp),
        size: content.parts.iter().map(|p| p.size).sum(),
        content_type: props.content_type,
        content_encoding: props.content_encoding,
        content_language: props.content_language,
        content_disposition: props.content_disposition,
        cache_control: props.cache_control,
        content_md5: props.content_md5.or(computed_md5),
        metadata: request_metadata(&ctx.headers)?,
        blocks,
        parts: content.parts,
        sequencer: stamp,
    };
    let mut ops = content::release_ops(&key, &released, &rec.parts);
    ops.extend(content.writes);
    ops.push(Op::Put {
        table: Table::Blobs,
        key,
        value: to_json(&rec),
    });
    ops.push(Op::DeletePrefix {
        table: Table::Blocks,
        prefix: blocks_prefix(ctx),
    });
    ctx.svc.store.commit(ops).await?;
    Ok(rec)
}

pub(super) fn created_response(rec: &BlobRecord, md5: Option<&str>) -> BlobResult<Resp> {
    let mut b = response(StatusCode::CREATED)
        .header("etag", rec.etag.as_str())
        .header("last-modified", http_date(rec.last_modified))
        .header("x-ms-request-server-encrypted", "true");
    if let Some(m) = md5 {
        b = b.header("content-md5", m);
    }
    finish(b, Bytes::new())
}

pub(crate) async fn put_blob(ctx: Ctx) -> BlobResult<Resp> {
    reject_unsupported_put_headers(&ctx)?;
    match ctx.header("x-ms-blob-type") {
        Some("BlockBlob") => {}
        Some("PageBlob") => {
            return Err(BlobError::not_implemented(
                "Page blobs (x-ms-blob-type: PageBlob)",
            ))
        }
        Some("AppendBlob") => {
            return Err(BlobError::not_implemented(
                "Append blobs (x-ms-blob-type: AppendBlob)",
            ))
        }
        Some(other) => {
            return Err(BlobError::invalid_header(
                "x-ms-blob-type",
                &format!("`{other}` is not BlockBlob, PageBlob or AppendBlob"),
            ))
        }
        None => return Err(BlobError::new(
            StatusCode::BAD_REQUEST,
            "MissingRequiredHeader",
            "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.",
        )
        .with_detail("HeaderName", "x-ms-blob-type")),
    }
    reject_lease(&ctx)?;
    let cap = ctx.svc.cfg.max_blob_bytes;
    if ctx.body.len() as u64 > cap {
        return Err(BlobError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            format!("The blob is larger than {cap} bytes (blob.max_blob_bytes of this emulator)."),
        )
        .with_detail("MaxLimit", &cap.to_string()));
    }
    let md5 = check_md5(&ctx, &ctx.body)?;
    let (_guard, existing) = begin_write(&ctx).await?;
    let props = content_props(&ctx, true);
    let (parts, writes) = content::store_whole(&ctx.blob_key(), &ctx.body);
    let content = NewContent { parts, writes };
    let rec = commit_blob(
        &ctx,
        existing.as_ref(),
        content,
        props,
        Vec::new(),
        Some(md5.clone()),
    )
    .await?;
    drop(_guard);
    events::blob_created(&ctx, &rec, "PutBlob").await;
    created_response(&rec, Some(&md5))
}

pub(crate) async fn get_block_list(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require("r")?;
    let which = ctx
        .q("blocklisttype")
        .unwrap_or("committed")
        .to_ascii_lowercase();
    let (want_committed, want_uncommitted) = match which.as_str() {
        "committed" => (true, false),
        "uncommitted" => (false, true),
        "all" => (true, true),
        _ => {
            return Err(BlobError::invalid_query(
                "blocklisttype",
                "use committed, uncommitted or all",
            ))
        }
    };
    let existing = load(&ctx).await?;
    let prefix = blocks_prefix(&ctx);
    let staged = ctx.svc.store.scan_prefix(Table::Blocks, &prefix).await?;
    if existing.is_none() && (staged.is_empty() || !want_uncommitted) {
        containers::require(&ctx).await?;
        return Err(BlobError::blob_not_found());
    }
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    if want_committed {
        xml.push_str("<CommittedBlocks>");
        for b in existing.iter().flat_map(|e| e.blocks.iter()) {
            xml.push_str("<Block>");
            elem(&mut xml, "Name", &b.id);
            elem(&mut xml, "Size", &b.size.to_string());
            xml.push_str("</Block>");
        }
        xml.push_str("</CommittedBlocks>");
    }
    if want_uncommitted {
        xml.push_str("<UncommittedBlocks>");
        for (k, v) in &staged {
            let size = StagedBlock::decode(v)?.part.size;
            xml.push_str("<Block>");
            elem(&mut xml, "Name", &k[prefix.len()..]);
            elem(&mut xml, "Size", &size.to_string());
            xml.push_str("</Block>");
        }
        xml.push_str("</UncommittedBlocks>");
    }
    xml.push_str("</BlockList>");
    let mut b = response(StatusCode::OK).header("content-type", "application/xml");
    if let Some(e) = &existing {
        b = b
            .header("etag", e.etag.as_str())
            .header("last-modified", http_date(e.last_modified))
            .header("x-ms-blob-content-length", e.size.to_string());
    }
    finish(b, Bytes::from(xml))
}

fn property_headers(
    mut b: http::response::Builder,
    rec: &BlobRecord,
    ctx: &Ctx,
) -> http::response::Builder {
    let overrides = ctx.grant.overrides();
    let over = |name: &str| {
        overrides
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    b = b
        .header("etag", rec.etag.as_str())
        .header("last-modified", http_date(rec.last_modified))
        .header("x-ms-creation-time", http_date(rec.created))
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-lease-status", "unlocked")
        .header("x-ms-lease-state", "available")
        .header("x-ms-server-encrypted", "true")
        .header("accept-ranges", "bytes")
        .header(
            "content-type",
            over("content-type").unwrap_or_else(|| rec.content_type.clone()),
        );
    for (name, value) in [
        (
            "content-encoding",
            over("content-encoding").or_else(|| rec.content_encoding.clone()),
        ),
        (
            "content-language",
            over("content-language").or_else(|| rec.content_language.clone()),
        ),
        (
            "content-disposition",
            over("content-disposition").or_else(|| rec.content_disposition.clone()),
        ),
        (
            "cache-control",
            over("cache-control").or_else(|| rec.cache_control.clone()),
        ),
    ] {
        if let Some(v) = value {
            b = b.header(name, v);
        }
    }
    with_metadata(b, &rec.metadata)
}

/// Azure computes `x-ms-range-get-content-md5` only for ranges of at most 4 MiB.
pub(crate) const MAX_RANGE_MD5_BYTES: u64 = 4 * 1024 * 1024;

/// Get Blob and Get Blob Properties. The record and the bytes come from one store snapshot, so a
/// Put Blob, Put Block List or Delete Blob committed while the body streams changes nothing it
/// sends. The body is streamed part by part (see [`content::stream`]); only the MD5 of a range
/// (at most 4 MiB) needs the range's bytes in hand first.
pub(crate) async fn get_blob(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require("r")?;
    reject_lease(&ctx)?;
    let snapshot = (ctx.svc.store)
        .snapshot(&[Table::Blobs, Table::BlobData])
        .await?;
    let key = ctx.blob_key();
    let rec: BlobRecord = match snapshot.get(Table::Blobs, &key).await? {
        Some(bytes) => from_json(&bytes)?,
        None => {
            containers::require(&ctx).await?;
            return Err(BlobError::blob_not_found());
        }
    };
    let head = ctx.method == http::Method::HEAD;
    if check_read(&ctx.headers, &rec.etag, rec.last_modified)? == ReadOutcome::NotModified {
        return finish(
            response(StatusCode::NOT_MODIFIED)
                .header("etag", rec.etag.as_str())
                .header("last-modified", http_date(rec.last_modified)),
            Bytes::new(),
        );
    }
    if head {
        let mut b = property_headers(response(StatusCode::OK), &rec, &ctx)
            .header("content-length", rec.size.to_string())
            .header("x-ms-access-tier", "Hot")
            .header("x-ms-access-tier-inferred", "true");
        if let Some(m) = &rec.content_md5 {
            b = b.header("content-md5", m.as_str());
        }
        return finish(b, Bytes::new());
    }
    let (mut b, start, end) = match range(&ctx.headers, rec.size)? {
        Some((start, last)) => {
            let mut b = property_headers(response(StatusCode::PARTIAL_CONTENT), &rec, &ctx).header(
                "content-range",
                format!("bytes {start}-{last}/{}", rec.size),
            );
            if let Some(m) = &rec.content_md5 {
                b = b.header("x-ms-blob-content-md5", m.as_str());
            }
            if ctx.header("x-ms-range-get-content-md5") == Some("true") {
                let len = last - start + 1;
                if len > MAX_RANGE_MD5_BYTES {
                    return Err(BlobError::new(
                        StatusCode::BAD_REQUEST,
                        "OutOfRangeInput",
                        format!("One of the request inputs is out of range: x-ms-range-get-content-md5 needs a range of at most {MAX_RANGE_MD5_BYTES} bytes (4 MiB), this one has {len}."),
                    ));
                }
                let data = content::read_range(&snapshot, &key, &rec, start, last + 1).await?;
                b = b
                    .header("content-md5", md5_b64(&data))
                    .header("content-length", data.len().to_string());
                return finish(b, Bytes::from(data));
            }
            (b, start, last + 1)
        }
        None => {
            let mut b = property_headers(response(StatusCode::OK), &rec, &ctx);
            if let Some(m) = &rec.content_md5 {
                b = b.header("content-md5", m.as_str());
            }
            (b, 0, rec.size)
        }
    };
    b = b.header("content-length", (end - start).to_string());
    b.body(content::stream(snapshot, key, &rec, start, end))
        .map_err(BlobError::internal)
}

pub(crate) async fn get_metadata(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require("r")?;
    let rec = require(&ctx).await?;
    check_read(&ctx.headers, &rec.etag, rec.last_modified)?;
    let b = response(StatusCode::OK)
        .header("etag", rec.etag.as_str())
        .header("last-modified", http_date(rec.last_modified));
    finish(with_metadata(b, &rec.metadata), Bytes::new())
}

async fn rewrite_record(ctx: &Ctx, rec: &mut BlobRecord) -> BlobResult<Resp> {
    rec.etag = etag_of(next_stamp());
    rec.last_modified = crate::util::now_unix();
    ctx.svc
        .store
        .commit(vec![Op::Put {
            table: Table::Blobs,
            key: ctx.blob_key(),
            value: to_json(&*rec),
        }])
        .await?;
    finish(
        response(StatusCode::OK)
            .header("etag", rec.etag.as_str())
            .header("last-modified", http_date(rec.last_modified)),
        Bytes::new(),
    )
}

pub(crate) async fn set_metadata(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require("w")?;
    reject_lease(&ctx)?;
    let metadata = request_metadata(&ctx.headers)?;
    let _guard = ctx.svc.write_lock.lock().await;
    let mut rec = require(&ctx).await?;
    check_write(&ctx.headers, Some((&rec.etag, rec.last_modified)))?;
    rec.metadata = metadata;
    rewrite_record(&ctx, &mut rec).await
}

pub(crate) async fn set_properties(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require("w")?;
    reject_lease(&ctx)?;
    let _guard = ctx.svc.write_lock.lock().await;
    let mut rec = require(&ctx).await?;
    check_write(&ctx.headers, Some((&rec.etag, rec.last_modified)))?;
    let p = content_props(&ctx, false);
    rec.content_type = p.content_type;
    rec.content_encoding = p.content_encoding;
    rec.content_language = p.content_language;
    rec.content_disposition = p.content_disposition;
    rec.cache_control = p.cache_control;
    rec.content_md5 = p.content_md5;
    rewrite_record(&ctx, &mut rec).await
}

pub(crate) async fn delete_blob(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require("d")?;
    reject_lease(&ctx)?;
    let _guard = ctx.svc.write_lock.lock().await;
    let rec = require(&ctx).await?;
    check_write(&ctx.headers, Some((&rec.etag, rec.last_modified)))?;
    let mut ops = content::delete_all_ops(&ctx.blob_key());
    ops.push(Op::Delete {
        table: Table::Blobs,
        key: ctx.blob_key(),
    });
    ops.push(Op::DeletePrefix {
        table: Table::Blocks,
        prefix: blocks_prefix(&ctx),
    });
    ctx.svc.store.commit(ops).await?;
    drop(_guard);
    events::blob_deleted(&ctx, &rec).await;
    finish(
        response(StatusCode::ACCEPTED).header("x-ms-delete-type-permanent", "true"),
        Bytes::new(),
    )
}
