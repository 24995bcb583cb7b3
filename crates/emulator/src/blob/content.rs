//! Where a blob's bytes live: in parts (table `BlobData`, key `<blob key>\0<part name>`), so a
//! ranged read loads only the parts it overlaps, Put Block stores a block once as its own part,
//! and Put Block List only points at parts: no byte is copied, and a block named many times is
//! stored once.
//!
//! A blob record lists its [`Part`]s in blob order; the staged-block table holds a small
//! [`StagedBlock`] pointer per block id.

use serde::{Deserialize, Serialize};

use super::error::{BlobError, BlobResult};
use super::model::{from_json, to_json, BlobRecord};
use crate::store::{Op, StoreHandle, Table};

/// Put Blob stores its body in parts of at most this many bytes (4 MiB, the block size the
/// SDKs use), so ranged reads of a large single-shot upload stay cheap.
pub(crate) const PUT_BLOB_PART_BYTES: usize = 4 * 1024 * 1024;

/// One stored run of a blob's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Part {
    /// Name under the blob's key; empty for a blob stored whole by an older emulator (key: the
    /// blob key itself).
    pub name: String,
    pub size: u64,
}

/// A staged (uncommitted) block: the part its bytes were written to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StagedBlock {
    pub part: Part,
}

impl StagedBlock {
    pub fn encode(&self) -> Vec<u8> {
        to_json(self)
    }

    pub fn decode(bytes: &[u8]) -> BlobResult<Self> {
        from_json(bytes)
    }
}

/// The store key of `part` of the blob at `blob_key`.
pub(crate) fn part_key(blob_key: &str, part: &Part) -> String {
    if part.name.is_empty() {
        blob_key.to_string()
    } else {
        format!("{blob_key}\u{0}{}", part.name)
    }
}

/// A new part name, unique in this emulator's lifetime and after restarts (stamps only grow).
pub(crate) fn new_part_name(kind: char) -> String {
    format!("{kind}{:016x}", super::model::next_stamp())
}

/// The parts of `rec` (a record written before parts existed has its bytes under the blob key).
pub(crate) fn parts_of(rec: &BlobRecord) -> Vec<Part> {
    if rec.parts.is_empty() && rec.size > 0 {
        vec![Part {
            name: String::new(),
            size: rec.size,
        }]
    } else {
        rec.parts.clone()
    }
}

/// Splits a Put Blob body into parts; returns them and the writes that store them.
pub(crate) fn store_whole(blob_key: &str, body: &[u8]) -> (Vec<Part>, Vec<Op>) {
    let stem = new_part_name('p');
    let mut parts = Vec::new();
    let mut ops = Vec::new();
    for (i, chunk) in body.chunks(PUT_BLOB_PART_BYTES).enumerate() {
        let part = Part {
            name: format!("{stem}.{i}"),
            size: chunk.len() as u64,
        };
        ops.push(Op::Put {
            table: Table::BlobData,
            key: part_key(blob_key, &part),
            value: chunk.to_vec(),
        });
        parts.push(part);
    }
    (parts, ops)
}

/// Deletes of every part of `old` (and of staged blocks in `unused`) that `kept` does not name.
pub(crate) fn release_ops<'a>(
    blob_key: &str,
    old: impl IntoIterator<Item = &'a Part>,
    kept: &[Part],
) -> Vec<Op> {
    let mut seen = std::collections::HashSet::new();
    old.into_iter()
        .filter(|p| !kept.iter().any(|k| k.name == p.name) && seen.insert(p.name.clone()))
        .map(|p| Op::Delete {
            table: Table::BlobData,
            key: part_key(blob_key, p),
        })
        .collect()
}

/// Deletes of all bytes of the blob at `blob_key`: its parts, staged blocks' parts and a
/// whole-blob value of an older emulator.
pub(crate) fn delete_all_ops(blob_key: &str) -> Vec<Op> {
    vec![
        Op::Delete {
            table: Table::BlobData,
            key: blob_key.to_string(),
        },
        Op::DeletePrefix {
            table: Table::BlobData,
            prefix: format!("{blob_key}\u{0}"),
        },
    ]
}

/// Reads bytes `start..=end` of `rec` (clamped to its size), loading only the parts the range
/// overlaps.
pub(crate) async fn read_range(
    store: &StoreHandle,
    blob_key: &str,
    rec: &BlobRecord,
    start: u64,
    end: u64,
) -> BlobResult<Vec<u8>> {
    let end_excl = end.saturating_add(1).min(rec.size);
    let mut out = Vec::with_capacity(usize::try_from(end_excl.saturating_sub(start)).unwrap_or(0));
    let mut offset = 0u64;
    for part in parts_of(rec) {
        let (part_start, part_end) = (offset, offset.saturating_add(part.size));
        offset = part_end;
        if part_end <= start || part_start >= end_excl {
            continue;
        }
        let bytes = store
            .get(Table::BlobData, &part_key(blob_key, &part))
            .await?
            .ok_or_else(|| BlobError::internal("a part of the blob is missing from the store"))?;
        let from = (start.max(part_start) - part_start) as usize;
        let to = (end_excl.min(part_end) - part_start) as usize;
        let slice = bytes.get(from..to).ok_or_else(|| {
            BlobError::internal("a part of the blob is shorter than its record says")
        })?;
        out.extend_from_slice(slice);
    }
    Ok(out)
}

/// All bytes of `rec`.
pub(crate) async fn read_all(
    store: &StoreHandle,
    blob_key: &str,
    rec: &BlobRecord,
) -> BlobResult<Vec<u8>> {
    if rec.size == 0 {
        return Ok(Vec::new());
    }
    read_range(store, blob_key, rec, 0, rec.size - 1).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(parts: Vec<Part>) -> BlobRecord {
        BlobRecord {
            name: "b".into(),
            created: 0,
            last_modified: 0,
            etag: String::new(),
            size: parts.iter().map(|p| p.size).sum(),
            content_type: String::new(),
            content_encoding: None,
            content_language: None,
            content_disposition: None,
            cache_control: None,
            content_md5: None,
            metadata: Default::default(),
            blocks: Vec::new(),
            parts,
            sequencer: 0,
        }
    }

    #[tokio::test]
    async fn a_range_reads_only_the_parts_it_overlaps() {
        let store = StoreHandle::memory();
        let body: Vec<u8> = (0..10u8).collect();
        let (mut parts, ops) = store_whole("a/c/b", &body[..4]);
        let (more, ops2) = store_whole("a/c/b", &body[4..]);
        parts.extend(more);
        store
            .commit(ops.into_iter().chain(ops2).collect())
            .await
            .unwrap();
        let rec = record(parts.clone());
        assert_eq!(
            read_range(&store, "a/c/b", &rec, 2, 6).await.unwrap(),
            [2, 3, 4, 5, 6]
        );
        assert_eq!(read_all(&store, "a/c/b", &rec).await.unwrap(), body);
        // With the first part gone, a range inside the second one still reads.
        store
            .commit(vec![Op::Delete {
                table: Table::BlobData,
                key: part_key("a/c/b", &parts[0]),
            }])
            .await
            .unwrap();
        assert_eq!(
            read_range(&store, "a/c/b", &rec, 5, 99).await.unwrap(),
            [5, 6, 7, 8, 9]
        );
        let err = read_range(&store, "a/c/b", &rec, 0, 1).await.unwrap_err();
        assert!(format!("{err:?}").contains("missing"), "{err:?}");
    }

    #[test]
    fn put_blob_bodies_are_split_into_4_mib_parts() {
        let (parts, ops) = store_whole("a/c/b", &vec![7u8; PUT_BLOB_PART_BYTES * 2 + 1]);
        let sizes: Vec<u64> = parts.iter().map(|p| p.size).collect();
        assert_eq!(
            sizes,
            [PUT_BLOB_PART_BYTES as u64, PUT_BLOB_PART_BYTES as u64, 1]
        );
        assert_eq!(ops.len(), 3);
        assert!(store_whole("a/c/b", b"").0.is_empty());
    }

    #[test]
    fn released_parts_are_those_no_longer_named_each_once() {
        let p = |n: &str| Part {
            name: n.into(),
            size: 1,
        };
        let ops = release_ops("k", &[p("x"), p("y"), p("y"), p("z")], &[p("x")]);
        let keys: Vec<String> = ops
            .iter()
            .map(|op| match op {
                Op::Delete { key, .. } => key.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(keys, ["k\u{0}y", "k\u{0}z"]);
    }

    #[test]
    fn a_record_from_before_parts_reads_its_bytes_under_the_blob_key() {
        let mut rec = record(Vec::new());
        rec.size = 5;
        assert_eq!(part_key("k", &parts_of(&rec)[0]), "k");
    }
}
