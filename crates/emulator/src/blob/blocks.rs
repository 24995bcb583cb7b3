//! Put Block and Put Block List, with Azure's limits enforced before anything is allocated:
//! at most 100,000 uncommitted blocks per blob, at most 50,000 blocks in a list, a block no
//! larger than the request body cap and a blob no larger than `blob.max_blob_bytes`.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http::StatusCode;

use super::blobs::{
    begin_write, blocks_prefix, check_md5, commit_blob, content_props, created_response, load,
    reject_unsupported_put_headers, require_write,
};
use super::containers;
use super::error::{BlobError, BlobResult};
use super::events;
use super::model::{BlobRecord, BlockRef};
use super::router::{finish, reject_lease, response, Ctx};
use super::xml::{parse_block_list, BlockKind, BlockListError};
use crate::server::Resp;
use crate::store::{Op, Table};

/// Azure: a blob has at most 50,000 committed blocks, so a block list names at most as many.
pub(crate) const MAX_COMMITTED_BLOCKS: usize = 50_000;
/// Azure: a blob has at most 100,000 uncommitted blocks.
pub(crate) const MAX_UNCOMMITTED_BLOCKS: usize = 100_000;

fn valid_block_id(id: &str) -> bool {
    matches!(STANDARD.decode(id), Ok(b) if !b.is_empty() && b.len() <= 64)
}

pub(crate) async fn put_block(ctx: Ctx) -> BlobResult<Resp> {
    if ctx.headers.contains_key("x-ms-copy-source") {
        return Err(BlobError::not_implemented(
            "Put Block From URL (x-ms-copy-source)",
        ));
    }
    reject_lease(&ctx)?;
    let id = ctx.q("blockid").unwrap_or("").to_string();
    if !valid_block_id(&id) {
        return Err(BlobError::new(
            StatusCode::BAD_REQUEST,
            "InvalidQueryParameterValue",
            "The blockid must be base64 text of at most 64 bytes, the same length for every block of a blob.",
        )
        .with_detail("QueryParameterName", "blockid"));
    }
    let md5 = check_md5(&ctx, &ctx.body)?;
    containers::require(&ctx).await?;
    let exists = load(&ctx).await?.is_some();
    require_write(&ctx, exists)?;
    let key = format!("{}{}", blocks_prefix(&ctx), id);
    let staged = ctx
        .svc
        .store
        .count_prefix(Table::Blocks, &blocks_prefix(&ctx))
        .await?;
    if staged >= MAX_UNCOMMITTED_BLOCKS && ctx.svc.store.get(Table::Blocks, &key).await?.is_none() {
        return Err(BlobError::new(
            StatusCode::CONFLICT,
            "BlockCountExceedsLimit",
            format!("The uncommitted block count cannot exceed the maximum limit of {MAX_UNCOMMITTED_BLOCKS} blocks; commit them with Put Block List first."),
        ));
    }
    ctx.svc
        .store
        .commit(vec![Op::Put {
            table: Table::Blocks,
            key,
            value: ctx.body.to_vec(),
        }])
        .await?;
    finish(
        response(StatusCode::CREATED)
            .header("content-md5", md5)
            .header("x-ms-request-server-encrypted", "true"),
        Bytes::new(),
    )
}

fn invalid_block_list(why: String) -> BlobError {
    BlobError::new(
        StatusCode::BAD_REQUEST,
        "InvalidBlockList",
        format!("The specified block list is invalid: {why}"),
    )
}

fn too_large(limit: u64) -> BlobError {
    BlobError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestBodyTooLarge",
        format!("The blob this block list describes would be larger than {limit} bytes (blob.max_blob_bytes of this emulator); name fewer or smaller blocks."),
    )
    .with_detail("MaxLimit", &limit.to_string())
}

/// Where a block of the new list comes from.
#[derive(Clone, Copy)]
enum Source {
    /// Index into the loaded staged blocks.
    Staged(usize),
    /// Offset and length in the current blob.
    Committed(usize, usize),
}

/// Resolves the block ids of a list to their bytes, loading each distinct staged block once
/// and the current blob only if a committed block is named.
struct Resolver<'a> {
    ctx: &'a Ctx,
    prefix: String,
    /// Staged blocks loaded so far, and where each id is (`None`: not staged).
    staged: Vec<Vec<u8>>,
    staged_ids: HashMap<String, Option<usize>>,
    /// Committed blocks of the current blob: id -> (offset, length).
    committed: HashMap<String, (usize, usize)>,
    old_data: Option<Vec<u8>>,
}

impl<'a> Resolver<'a> {
    fn new(ctx: &'a Ctx, existing: Option<&BlobRecord>) -> Self {
        let mut committed = HashMap::new();
        let mut off = 0usize;
        for b in existing.iter().flat_map(|e| e.blocks.iter()) {
            let len = usize::try_from(b.size).unwrap_or(usize::MAX);
            committed.insert(b.id.clone(), (off, len));
            off = off.saturating_add(len);
        }
        Self {
            ctx,
            prefix: blocks_prefix(ctx),
            staged: Vec::new(),
            staged_ids: HashMap::new(),
            committed,
            old_data: None,
        }
    }

    async fn staged(&mut self, id: &str) -> BlobResult<Option<Source>> {
        if let Some(found) = self.staged_ids.get(id) {
            return Ok(found.map(Source::Staged));
        }
        let key = format!("{}{}", self.prefix, id);
        let found = match self.ctx.svc.store.get(Table::Blocks, &key).await? {
            Some(bytes) => {
                self.staged.push(bytes);
                Some(self.staged.len() - 1)
            }
            None => None,
        };
        self.staged_ids.insert(id.to_string(), found);
        Ok(found.map(Source::Staged))
    }

    async fn committed(&mut self, id: &str) -> BlobResult<Option<Source>> {
        let Some(&(off, len)) = self.committed.get(id) else {
            return Ok(None);
        };
        if self.old_data.is_none() {
            let data = self
                .ctx
                .svc
                .store
                .get(Table::BlobData, &self.ctx.blob_key())
                .await?
                .unwrap_or_default();
            self.old_data = Some(data);
        }
        let have = self.old_data.as_ref().map_or(0, Vec::len);
        Ok((off.checked_add(len).is_some_and(|end| end <= have))
            .then_some(Source::Committed(off, len)))
    }

    async fn resolve(&mut self, kind: BlockKind, id: &str) -> BlobResult<Source> {
        let found = match kind {
            BlockKind::Uncommitted => self.staged(id).await?,
            BlockKind::Committed => self.committed(id).await?,
            BlockKind::Latest => match self.staged(id).await? {
                Some(s) => Some(s),
                None => self.committed(id).await?,
            },
        };
        found.ok_or_else(|| {
            invalid_block_list(format!(
                "block `{id}` ({kind:?}) was not found; stage it with Put Block first"
            ))
        })
    }

    fn bytes(&self, source: Source) -> &[u8] {
        match source {
            Source::Staged(i) => self.staged.get(i).map_or(&[][..], Vec::as_slice),
            Source::Committed(off, len) => self
                .old_data
                .as_deref()
                .and_then(|d| d.get(off..off + len))
                .unwrap_or(&[]),
        }
    }
}

pub(crate) async fn put_block_list(ctx: Ctx) -> BlobResult<Resp> {
    reject_unsupported_put_headers(&ctx)?;
    reject_lease(&ctx)?;
    let wanted = parse_block_list(&ctx.body, MAX_COMMITTED_BLOCKS).map_err(|e| match e {
        BlockListError::TooLong => BlobError::new(
            StatusCode::BAD_REQUEST,
            "BlockListTooLong",
            format!("The block list may not contain more than {MAX_COMMITTED_BLOCKS} blocks."),
        ),
        BlockListError::Syntax(e) => BlobError::new(
            StatusCode::BAD_REQUEST,
            "InvalidXmlDocument",
            format!("XML specified is not syntactically valid: {e}"),
        ),
    })?;
    let (_guard, existing) = begin_write(&ctx).await?;
    // First the sizes: every distinct block is loaded once, and the running total is checked
    // against the cap before the next one, so a list naming one block many times is refused
    // before the blob is assembled.
    let cap = ctx.svc.cfg.max_blob_bytes;
    let mut resolver = Resolver::new(&ctx, existing.as_ref());
    let mut sources = Vec::with_capacity(wanted.len());
    let mut total: u64 = 0;
    for (kind, id) in &wanted {
        let source = resolver.resolve(*kind, id).await?;
        total = total.saturating_add(resolver.bytes(source).len() as u64);
        if total > cap {
            return Err(too_large(cap));
        }
        sources.push(source);
    }
    let capacity = usize::try_from(total).map_err(|_| too_large(cap))?;
    let mut data = Vec::with_capacity(capacity);
    let mut blocks = Vec::with_capacity(wanted.len());
    for ((_, id), source) in wanted.iter().zip(&sources) {
        let bytes = resolver.bytes(*source);
        data.extend_from_slice(bytes);
        blocks.push(BlockRef {
            id: id.clone(),
            size: bytes.len() as u64,
        });
    }
    drop(resolver);
    let props = content_props(&ctx, false);
    let rec = commit_blob(&ctx, existing.as_ref(), data, props, blocks, None).await?;
    drop(_guard);
    events::blob_created(&ctx, &rec, "PutBlockList").await;
    created_response(&rec, None)
}
