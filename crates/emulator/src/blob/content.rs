//! Where a blob's bytes live: in parts (table `BlobData`, key `<blob key>\0<part name>`), so a
//! ranged read loads only the parts it overlaps, Put Block stores a block once as its own part,
//! and Put Block List only points at parts: no byte is copied, and a block named many times is
//! stored once.
//!
//! A blob record lists its [`Part`]s in blob order; the staged-block table holds a small
//! [`StagedBlock`] pointer per block id.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use serde::{Deserialize, Serialize};

use super::error::{BlobError, BlobResult};
use super::model::{from_json, to_json, BlobRecord};
use crate::server::{Body, StreamError};
use crate::store::{Op, SnapshotHandle, Table};

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

/// One run of bytes to send: `from..to` of the part stored under `key`.
struct Piece {
    key: String,
    from: usize,
    to: usize,
}

/// The pieces of bytes `start..end` of a blob, in order: only the parts the range overlaps.
struct Pieces {
    blob_key: String,
    parts: std::vec::IntoIter<Part>,
    /// Blob offset of the next part of `parts`.
    offset: u64,
    start: u64,
    end: u64,
}

impl Pieces {
    fn new(blob_key: String, rec: &BlobRecord, start: u64, end: u64) -> Self {
        Self {
            blob_key,
            parts: parts_of(rec).into_iter(),
            offset: 0,
            start,
            end: end.min(rec.size),
        }
    }
}

impl Iterator for Pieces {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        while self.offset < self.end {
            let part = self.parts.next()?;
            let (part_start, part_end) = (self.offset, self.offset.saturating_add(part.size));
            self.offset = part_end;
            if part_end <= self.start || part_end == part_start {
                continue;
            }
            return Some(Piece {
                key: part_key(&self.blob_key, &part),
                from: (self.start.max(part_start) - part_start) as usize,
                to: (self.end.min(part_end) - part_start) as usize,
            });
        }
        None
    }
}

/// Loads one part and keeps the piece of it that is sent (the slice shares the part's buffer).
async fn load(snapshot: &SnapshotHandle, piece: &Piece) -> BlobResult<Bytes> {
    let bytes = snapshot
        .get(Table::BlobData, &piece.key)
        .await?
        .ok_or_else(|| BlobError::internal("a part of the blob is missing from the store"))?;
    if bytes.len() < piece.to {
        return Err(BlobError::internal(
            "a part of the blob is shorter than its record says",
        ));
    }
    Ok(Bytes::from(bytes).slice(piece.from..piece.to))
}

/// Reads bytes `start..end` (end exclusive, clamped to the blob's size) of `rec` into memory,
/// loading only the parts the range overlaps. For small ranges only (the MD5 of a range):
/// Get Blob streams with [`stream`].
pub(crate) async fn read_range(
    snapshot: &SnapshotHandle,
    blob_key: &str,
    rec: &BlobRecord,
    start: u64,
    end: u64,
) -> BlobResult<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(end.saturating_sub(start)).unwrap_or(0));
    for piece in Pieces::new(blob_key.to_string(), rec, start, end) {
        out.extend_from_slice(&load(snapshot, &piece).await?);
    }
    Ok(out)
}

/// A response body of bytes `start..end` (end exclusive, clamped to the blob's size) of `rec`:
/// one frame per part overlapped, each loaded from `snapshot` only when hyper asks for the next
/// frame, that is once the previous ones are written. A download holds about one part, whatever
/// the blob's size. A part that cannot be read ends the body with an error, so the client sees a
/// truncated body, never wrong bytes.
pub(crate) fn stream(
    snapshot: SnapshotHandle,
    blob_key: String,
    rec: &BlobRecord,
    start: u64,
    end: u64,
) -> Body {
    let end = end.min(rec.size);
    if start >= end {
        return Body::default();
    }
    Body::stream(PartStream {
        snapshot,
        pieces: Pieces::new(blob_key, rec, start, end),
        remaining: end - start,
        loading: None,
    })
}

type Loading = Pin<Box<dyn Future<Output = BlobResult<Bytes>> + Send>>;

/// The body [`stream`] returns.
struct PartStream {
    snapshot: SnapshotHandle,
    pieces: Pieces,
    /// Bytes not yet produced.
    remaining: u64,
    /// The part being loaded.
    loading: Option<Loading>,
}

impl hyper::body::Body for PartStream {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        let this = &mut *self;
        if this.loading.is_none() {
            let Some(piece) = this.pieces.next() else {
                return Poll::Ready(None);
            };
            let snapshot = this.snapshot.clone();
            this.loading = Some(Box::pin(async move { load(&snapshot, &piece).await }));
        }
        let Some(loading) = this.loading.as_mut() else {
            return Poll::Ready(None);
        };
        let loaded = ready!(loading.as_mut().poll(cx));
        this.loading = None;
        match loaded {
            Ok(bytes) => {
                this.remaining = this.remaining.saturating_sub(bytes.len() as u64);
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Err(e) => {
                tracing::warn!(code = e.code, message = %e.message, "Get Blob stream ended early");
                // Nothing more is sent: hyper closes the connection.
                this.pieces.offset = this.pieces.end;
                this.remaining = 0;
                Poll::Ready(Some(Err(std::io::Error::other(e.message).into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 && self.loading.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreHandle;

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

    /// A store holding bytes 0..10 in parts of 4 and 6 bytes, and the blob's record.
    async fn two_parts() -> (StoreHandle, BlobRecord) {
        let store = StoreHandle::memory();
        let body: Vec<u8> = (0..10u8).collect();
        let (mut parts, ops) = store_whole("a/c/b", &body[..4]);
        let (more, ops2) = store_whole("a/c/b", &body[4..]);
        parts.extend(more);
        store
            .commit(ops.into_iter().chain(ops2).collect())
            .await
            .unwrap();
        (store, record(parts))
    }

    async fn snapshot(store: &StoreHandle) -> SnapshotHandle {
        store.snapshot(&[Table::BlobData]).await.unwrap()
    }

    #[tokio::test]
    async fn a_range_reads_only_the_parts_it_overlaps() {
        let (store, rec) = two_parts().await;
        let snap = snapshot(&store).await;
        assert_eq!(
            read_range(&snap, "a/c/b", &rec, 2, 7).await.unwrap(),
            [2, 3, 4, 5, 6]
        );
        // With the first part gone, a range inside the second one still reads.
        store
            .commit(vec![Op::Delete {
                table: Table::BlobData,
                key: part_key("a/c/b", &rec.parts[0]),
            }])
            .await
            .unwrap();
        let snap = snapshot(&store).await;
        assert_eq!(
            read_range(&snap, "a/c/b", &rec, 5, 99).await.unwrap(),
            [5, 6, 7, 8, 9]
        );
        let err = read_range(&snap, "a/c/b", &rec, 0, 2).await.unwrap_err();
        assert!(format!("{err:?}").contains("missing"), "{err:?}");
    }

    /// The data frames of `body`, or the error that ended it (after the frames before it).
    async fn frames(mut body: Body) -> (Vec<Vec<u8>>, Option<String>) {
        use http_body_util::BodyExt;
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => out.push(f.into_data().unwrap().to_vec()),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn a_stream_sends_one_frame_per_part_it_overlaps() {
        use hyper::body::Body as _;
        let (store, rec) = two_parts().await;
        let body = stream(snapshot(&store).await, "a/c/b".into(), &rec, 2, 8);
        assert_eq!(body.size_hint().exact(), Some(6));
        assert_eq!(
            frames(body).await,
            (vec![vec![2, 3], vec![4, 5, 6, 7]], None)
        );
        let whole = stream(snapshot(&store).await, "a/c/b".into(), &rec, 0, 10);
        assert_eq!(frames(whole).await.0.concat(), (0..10).collect::<Vec<u8>>());
        let empty = stream(snapshot(&store).await, "a/c/b".into(), &rec, 10, 10);
        assert!(empty.is_end_stream());
    }

    #[tokio::test]
    async fn a_stream_whose_part_is_gone_ends_with_an_error_not_other_bytes() {
        let (store, rec) = two_parts().await;
        store
            .commit(vec![Op::Delete {
                table: Table::BlobData,
                key: part_key("a/c/b", &rec.parts[1]),
            }])
            .await
            .unwrap();
        let body = stream(snapshot(&store).await, "a/c/b".into(), &rec, 0, 10);
        let (sent, err) = frames(body).await;
        assert_eq!(sent, [vec![0, 1, 2, 3]]);
        assert!(err.is_some_and(|e| e.contains("missing")));
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
