//! Put Block and Put Block List, with Azure's limits enforced before anything is allocated:
//! at most 100,000 uncommitted blocks per blob, at most 50,000 blocks in a list, a block no
//! larger than the request body cap and a blob no larger than `blob.max_blob_bytes`. A block's
//! bytes are written once, by Put Block, to a part of their own (see `super::content`).

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http::StatusCode;

use super::blobs::{
    begin_write, blocks_prefix, check_md5, commit_blob, content_props, created_response, load,
    reject_unsupported_put_headers, require_write, NewContent,
};
use super::containers;
use super::content::{new_part_name, part_key, Part, StagedBlock};
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
    let blob_key = ctx.blob_key();
    let staged = ctx
        .svc
        .store
        .count_prefix(Table::Blocks, &blocks_prefix(&ctx))
        .await?;
    let replaced = match ctx.svc.store.get(Table::Blocks, &key).await? {
        Some(pointer) => Some(StagedBlock::decode(&pointer)?),
        None => None,
    };
    if staged >= MAX_UNCOMMITTED_BLOCKS && replaced.is_none() {
        return Err(BlobError::new(
            StatusCode::CONFLICT,
            "BlockCountExceedsLimit",
            format!("The uncommitted block count cannot exceed the maximum limit of {MAX_UNCOMMITTED_BLOCKS} blocks; commit them with Put Block List first."),
        ));
    }
    // The bytes go to a part of their own; the staged-block entry points at it.
    let block = StagedBlock {
        part: Part {
            name: new_part_name('s'),
            size: ctx.body.len() as u64,
        },
    };
    let mut ops = vec![
        Op::Put {
            table: Table::BlobData,
            key: part_key(&blob_key, &block.part),
            value: ctx.body.to_vec(),
        },
        Op::Put {
            table: Table::Blocks,
            key,
            value: block.encode(),
        },
    ];
    if let Some(old) = replaced {
        ops.push(Op::Delete {
            table: Table::BlobData,
            key: part_key(&blob_key, &old.part),
        });
    }
    ctx.svc.store.commit(ops).await?;
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

/// Resolves the block ids of a list to the parts that hold their bytes: a staged block's
/// pointer is read once per id, a committed block is the current blob's part at the same
/// position. No block's bytes are loaded.
struct Resolver<'a> {
    ctx: &'a Ctx,
    prefix: String,
    /// Staged blocks looked up so far (`None`: not staged).
    staged: HashMap<String, Option<Part>>,
    /// Committed blocks of the current blob: id -> part.
    committed: HashMap<String, Part>,
}

impl<'a> Resolver<'a> {
    fn new(ctx: &'a Ctx, existing: Option<&BlobRecord>) -> Self {
        let mut committed = HashMap::new();
        if let Some(e) = existing {
            // Only a blob committed from a block list has one part per block.
            if e.parts.len() == e.blocks.len() {
                for (b, p) in e.blocks.iter().zip(&e.parts) {
                    committed.insert(b.id.clone(), p.clone());
                }
            }
        }
        Self {
            ctx,
            prefix: blocks_prefix(ctx),
            staged: HashMap::new(),
            committed,
        }
    }

    async fn staged(&mut self, id: &str) -> BlobResult<Option<Part>> {
        if let Some(found) = self.staged.get(id) {
            return Ok(found.clone());
        }
        let key = format!("{}{}", self.prefix, id);
        let found = match self.ctx.svc.store.get(Table::Blocks, &key).await? {
            Some(pointer) => Some(StagedBlock::decode(&pointer)?.part),
            None => None,
        };
        self.staged.insert(id.to_string(), found.clone());
        Ok(found)
    }

    async fn resolve(&mut self, kind: BlockKind, id: &str) -> BlobResult<Part> {
        let found = match kind {
            BlockKind::Uncommitted => self.staged(id).await?,
            BlockKind::Committed => self.committed.get(id).cloned(),
            BlockKind::Latest => match self.staged(id).await? {
                Some(p) => Some(p),
                None => self.committed.get(id).cloned(),
            },
        };
        found.ok_or_else(|| {
            invalid_block_list(format!(
                "block `{id}` ({kind:?}) was not found; stage it with Put Block first"
            ))
        })
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
    // The running total is checked against the cap after each block, so a list naming one
    // block many times is refused as soon as it would pass it.
    let cap = ctx.svc.cfg.max_blob_bytes;
    let mut resolver = Resolver::new(&ctx, existing.as_ref());
    let mut parts = Vec::with_capacity(wanted.len());
    let mut blocks = Vec::with_capacity(wanted.len());
    let mut total: u64 = 0;
    for (kind, id) in &wanted {
        let part = resolver.resolve(*kind, id).await?;
        total = total.saturating_add(part.size);
        if total > cap {
            return Err(too_large(cap));
        }
        blocks.push(BlockRef {
            id: id.clone(),
            size: part.size,
        });
        parts.push(part);
    }
    drop(resolver);
    let content = NewContent {
        parts,
        writes: Vec::new(),
    };
    let props = content_props(&ctx, false);
    let rec = commit_blob(&ctx, existing.as_ref(), content, props, blocks, None).await?;
    drop(_guard);
    events::blob_created(&ctx, &rec, "PutBlockList").await;
    created_response(&rec, None)
}
