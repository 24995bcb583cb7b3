//! Stored records of containers and blobs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ContainerRecord {
    pub name: String,
    pub last_modified: i64,
    pub etag: String,
    pub metadata: BTreeMap<String, String>,
}

/// A committed block: its id and length, in blob order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BlockRef {
    pub id: String,
    pub size: u64,
}

/// Properties of a block blob (the bytes live in their own table, see `super::content`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BlobRecord {
    pub name: String,
    pub created: i64,
    pub last_modified: i64,
    pub etag: String,
    pub size: u64,
    pub content_type: String,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub content_disposition: Option<String>,
    pub cache_control: Option<String>,
    pub content_md5: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub blocks: Vec<BlockRef>,
    /// Where the bytes are, in blob order (for a block list: one part per block).
    #[serde(default)]
    pub parts: Vec<super::content::Part>,
    pub sequencer: u64,
}

pub(crate) use crate::util::next_stamp;

/// An Azure-looking quoted ETag (`"0x8DC..."`) from a stamp.
pub(crate) fn etag_of(stamp: u64) -> String {
    format!("\"0x{stamp:X}\"")
}

/// RFC 1123 text of a Unix time.
pub(crate) fn http_date(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    httpdate::fmt_http_date(t)
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
) -> Result<T, super::error::BlobError> {
    serde_json::from_slice(bytes)
        .map_err(|e| super::error::BlobError::internal(format!("damaged record in the store: {e}")))
}
