//! Which operation a request names, decided from its head alone (before its body is read), and
//! running it.

use std::collections::BTreeMap;

use http::{Method, StatusCode};

use super::error::{BlobError, BlobResult};
use super::router::Ctx;
use super::{blobs, blocks, containers, listing};
use crate::server::Resp;

/// A supported operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    ListContainers,
    CreateContainer,
    DeleteContainer,
    ContainerProperties,
    SetContainerMetadata,
    ListBlobs,
    PutBlob,
    PutBlock,
    PutBlockList,
    GetBlockList,
    GetBlob,
    GetBlobMetadata,
    SetBlobMetadata,
    SetBlobProperties,
    DeleteBlob,
}

impl Operation {
    /// Whether the operation only reads (a token with a reader role may run it).
    pub(crate) fn reads_only(self) -> bool {
        matches!(
            self,
            Operation::ListContainers
                | Operation::ContainerProperties
                | Operation::ListBlobs
                | Operation::GetBlockList
                | Operation::GetBlob
                | Operation::GetBlobMetadata
        )
    }

    /// Whether the operation reads a request body (the others ignore it).
    pub(crate) fn takes_body(self) -> bool {
        matches!(
            self,
            Operation::PutBlob | Operation::PutBlock | Operation::PutBlockList
        )
    }
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

/// The operation of a request. `query` has lower-case parameter names, as the Shared Key
/// signature canonicalizes them, so `?COMP=metadata` is the operation its signature covers.
pub(crate) fn select(
    m: &Method,
    has_container: bool,
    has_blob: bool,
    query: &BTreeMap<String, String>,
) -> BlobResult<Operation> {
    let q = |name: &str| query.get(name).map(String::as_str);
    let comp = q("comp").unwrap_or("");
    let restype = q("restype").unwrap_or("");
    if !has_container {
        return match (m.as_str(), restype, comp) {
            ("GET", "", "list") => Ok(Operation::ListContainers),
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
            (_, _, "list") => Err(unsupported_verb(m)),
            (_, _, c) if !c.is_empty() => Err(unknown_comp(c)),
            _ => Err(unsupported_verb(m)),
        };
    }
    if !has_blob {
        if restype != "container" {
            return Err(BlobError::invalid_query(
                "restype",
                "container operations need restype=container (or add a blob name to the path)",
            ));
        }
        return match (m.as_str(), comp) {
            ("PUT", "") => Ok(Operation::CreateContainer),
            ("DELETE", "") => Ok(Operation::DeleteContainer),
            ("GET" | "HEAD", "" | "metadata") => Ok(Operation::ContainerProperties),
            ("PUT", "metadata") => Ok(Operation::SetContainerMetadata),
            ("GET", "list") => Ok(Operation::ListBlobs),
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
            (_, "" | "metadata" | "list") => Err(unsupported_verb(m)),
            (_, c) => Err(unknown_comp(c)),
        };
    }
    if q("snapshot").is_some() {
        return Err(BlobError::not_implemented("Blob snapshots (snapshot=)"));
    }
    if q("versionid").is_some() {
        return Err(BlobError::not_implemented("Blob versions (versionid=)"));
    }
    match (m.as_str(), comp) {
        ("PUT", "") => Ok(Operation::PutBlob),
        ("PUT", "block") => Ok(Operation::PutBlock),
        ("PUT", "blocklist") => Ok(Operation::PutBlockList),
        ("GET", "blocklist") => Ok(Operation::GetBlockList),
        ("GET" | "HEAD", "") => Ok(Operation::GetBlob),
        ("GET" | "HEAD", "metadata") => Ok(Operation::GetBlobMetadata),
        ("PUT", "metadata") => Ok(Operation::SetBlobMetadata),
        ("PUT", "properties") => Ok(Operation::SetBlobProperties),
        ("DELETE", "") => Ok(Operation::DeleteBlob),
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
        (_, "" | "block" | "blocklist" | "metadata" | "properties") => Err(unsupported_verb(m)),
        (_, c) => Err(unknown_comp(c)),
    }
}

/// Run an operation on a request whose body has been read.
pub(crate) async fn run(op: Operation, ctx: Ctx) -> BlobResult<Resp> {
    match op {
        Operation::ListContainers => listing::list_containers(ctx).await,
        Operation::CreateContainer => containers::create(ctx).await,
        Operation::DeleteContainer => containers::delete(ctx).await,
        Operation::ContainerProperties => containers::properties(ctx).await,
        Operation::SetContainerMetadata => containers::set_metadata(ctx).await,
        Operation::ListBlobs => listing::list_blobs(ctx).await,
        Operation::PutBlob => blobs::put_blob(ctx).await,
        Operation::PutBlock => blocks::put_block(ctx).await,
        Operation::PutBlockList => blocks::put_block_list(ctx).await,
        Operation::GetBlockList => blobs::get_block_list(ctx).await,
        Operation::GetBlob => blobs::get_blob(ctx).await,
        Operation::GetBlobMetadata => blobs::get_metadata(ctx).await,
        Operation::SetBlobMetadata => blobs::set_metadata(ctx).await,
        Operation::SetBlobProperties => blobs::set_properties(ctx).await,
        Operation::DeleteBlob => blobs::delete_blob(ctx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn picks_operations_from_the_head() {
        let put = Method::PUT;
        let q = query(&[("comp", "blocklist")]);
        assert_eq!(
            select(&put, true, true, &q).ok(),
            Some(Operation::PutBlockList)
        );
        assert!(select(&Method::POST, true, true, &query(&[])).is_err());
        assert!(select(&put, true, true, &query(&[("comp", "nope")])).is_err());
        assert!(Operation::PutBlock.takes_body());
        assert!(!Operation::GetBlob.takes_body());
    }
}
