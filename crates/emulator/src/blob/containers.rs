//! Container operations: create, delete, get properties, set metadata.

use bytes::Bytes;
use http::StatusCode;

use super::conditions::check_write;
use super::error::{BlobError, BlobResult};
use super::model::{etag_of, from_json, http_date, next_stamp, to_json, ContainerRecord};
use super::router::{finish, reject_lease, request_metadata, response, with_metadata, Ctx};
use crate::server::Resp;
use crate::store::{Op, Table};

pub(crate) async fn load(ctx: &Ctx) -> BlobResult<Option<ContainerRecord>> {
    match ctx
        .svc
        .store
        .get(Table::Containers, &ctx.container_key())
        .await?
    {
        Some(bytes) => Ok(Some(from_json(&bytes)?)),
        None => Ok(None),
    }
}

/// The container, or 404 ContainerNotFound.
pub(crate) async fn require(ctx: &Ctx) -> BlobResult<ContainerRecord> {
    load(ctx).await?.ok_or_else(BlobError::container_not_found)
}

pub(crate) async fn create(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require_account("Create Container")?;
    if ctx.headers.contains_key("x-ms-blob-public-access") {
        return Err(BlobError::not_implemented(
            "Anonymous public access (x-ms-blob-public-access)",
        ));
    }
    if ctx.headers.contains_key("x-ms-default-encryption-scope") {
        return Err(BlobError::not_implemented("Encryption scopes"));
    }
    let metadata = request_metadata(&ctx.headers)?;
    let _guard = ctx.svc.write_lock.lock().await;
    if load(&ctx).await?.is_some() {
        return Err(BlobError::new(
            StatusCode::CONFLICT,
            "ContainerAlreadyExists",
            "The specified container already exists.",
        ));
    }
    let stamp = next_stamp();
    let rec = ContainerRecord {
        name: ctx.container().to_string(),
        last_modified: crate::util::now_unix(),
        etag: etag_of(stamp),
        metadata,
    };
    ctx.svc
        .store
        .commit(vec![Op::Put {
            table: Table::Containers,
            key: ctx.container_key(),
            value: to_json(&rec),
        }])
        .await?;
    finish(
        response(StatusCode::CREATED)
            .header("etag", rec.etag.as_str())
            .header("last-modified", http_date(rec.last_modified)),
        Bytes::new(),
    )
}

pub(crate) async fn delete(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require_account("Delete Container")?;
    reject_lease(&ctx)?;
    let _guard = ctx.svc.write_lock.lock().await;
    let rec = require(&ctx).await?;
    if ctx.headers.contains_key("if-match") || ctx.headers.contains_key("if-none-match") {
        return Err(BlobError::new(
            StatusCode::BAD_REQUEST,
            "UnsupportedHeader",
            "Delete Container does not accept If-Match or If-None-Match; use If-Modified-Since or If-Unmodified-Since.",
        ));
    }
    check_write(&ctx.headers, Some((&rec.etag, rec.last_modified)))?;
    let blobs_prefix = format!("{}/", ctx.container_key());
    ctx.svc
        .store
        .commit(vec![
            Op::Delete {
                table: Table::Containers,
                key: ctx.container_key(),
            },
            Op::DeletePrefix {
                table: Table::Blobs,
                prefix: blobs_prefix.clone(),
            },
            Op::DeletePrefix {
                table: Table::BlobData,
                prefix: blobs_prefix.clone(),
            },
            Op::DeletePrefix {
                table: Table::Blocks,
                prefix: blobs_prefix,
            },
        ])
        .await?;
    finish(response(StatusCode::ACCEPTED), Bytes::new())
}

pub(crate) async fn properties(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require_container_scope()?;
    ctx.grant.require("r")?;
    let rec = require(&ctx).await?;
    let b = response(StatusCode::OK)
        .header("etag", rec.etag.as_str())
        .header("last-modified", http_date(rec.last_modified))
        .header("x-ms-lease-status", "unlocked")
        .header("x-ms-lease-state", "available")
        .header("x-ms-has-immutability-policy", "false")
        .header("x-ms-has-legal-hold", "false")
        .header("x-ms-default-encryption-scope", "$account-encryption-key")
        .header("x-ms-deny-encryption-scope-override", "false");
    finish(with_metadata(b, &rec.metadata), Bytes::new())
}

pub(crate) async fn set_metadata(ctx: Ctx) -> BlobResult<Resp> {
    ctx.grant.require_account("Set Container Metadata")?;
    reject_lease(&ctx)?;
    let metadata = request_metadata(&ctx.headers)?;
    let _guard = ctx.svc.write_lock.lock().await;
    let mut rec = require(&ctx).await?;
    check_write(&ctx.headers, Some((&rec.etag, rec.last_modified)))?;
    rec.metadata = metadata;
    rec.etag = etag_of(next_stamp());
    rec.last_modified = crate::util::now_unix();
    ctx.svc
        .store
        .commit(vec![Op::Put {
            table: Table::Containers,
            key: ctx.container_key(),
            value: to_json(&rec),
        }])
        .await?;
    finish(
        response(StatusCode::OK)
            .header("etag", rec.etag.as_str())
            .header("last-modified", http_date(rec.last_modified)),
        Bytes::new(),
    )
}
