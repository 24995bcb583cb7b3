//! Block uploads from a reader and streamed downloads.

use crate::{Error, Result};
use azure_core::http::{headers::Headers, RequestContent};
use azure_storage_blob::{
    models::{
        BlobClientDownloadOptions, BlobClientUploadOptions, BlockBlobClientCommitBlockListOptions,
        BlockLookupList,
    },
    BlobClient,
};
use bytes::Bytes;
use futures::StreamExt;
use std::{io::Read, io::Write, num::NonZero};

/// Default block size of uploads: 4 MiB.
///
/// ```
/// assert_eq!(azure_wasi_storage::DEFAULT_BLOCK_SIZE, 4 * 1024 * 1024);
/// ```
pub const DEFAULT_BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// What an upload stored.
///
/// ```
/// let s = azure_wasi_storage::UploadSummary {
///     bytes: 3, blocks: 1, etag: None, content_type: "text/plain".into(),
/// };
/// assert_eq!(s.bytes, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSummary {
    /// Bytes written.
    pub bytes: u64,
    /// Requests that carried data: 1 for a single Put Blob, else the number of staged blocks.
    pub blocks: u32,
    /// ETag of the new blob, if the service returned one.
    pub etag: Option<String>,
    /// The blob's Content-Type (`application/octet-stream` when none was given).
    pub content_type: String,
}

/// Options of [`crate::BlobClient::upload`].
///
/// ```
/// let o = azure_wasi_storage::UploadOptions { block_size: Some(1 << 20), ..Default::default() };
/// assert!(!o.allow_empty);
/// ```
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    /// Bytes per block (and the largest body sent with a single Put Blob); default
    /// [`DEFAULT_BLOCK_SIZE`].
    pub block_size: Option<usize>,
    /// Store an empty blob when the reader yields nothing, instead of failing with
    /// [`crate::Error::EmptyUpload`].
    pub allow_empty: bool,
}

/// Uploads everything `reader` yields to `blob`, holding at most one block in memory.
///
/// A body that fits in one block is sent with a single Put Blob; a larger one is staged block by
/// block (Put Block) and committed (Put Block List). `block_size` defaults to
/// [`DEFAULT_BLOCK_SIZE`]. An existing blob is replaced; an empty reader stores an empty blob
/// ([`crate::BlobClient::upload`] refuses it unless asked).
///
/// ```no_run
/// # async fn f(blob: azure_storage_blob::BlobClient) -> azure_wasi_storage::Result<()> {
/// let summary = azure_wasi_storage::upload_from_reader(&blob, std::io::stdin(), Some("text/plain"), None).await?;
/// # Ok(()) }
/// ```
pub async fn upload_from_reader<R: Read>(
    blob: &BlobClient,
    reader: R,
    content_type: Option<&str>,
    block_size: Option<usize>,
) -> Result<UploadSummary> {
    let options = UploadOptions {
        block_size,
        allow_empty: true,
    };
    upload(blob, reader, content_type, options).await
}

pub(crate) async fn upload<R: Read>(
    blob: &BlobClient,
    mut reader: R,
    content_type: Option<&str>,
    options: UploadOptions,
) -> Result<UploadSummary> {
    let content_type = content_type
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("application/octet-stream")
        .to_string();
    let block_size = options.block_size.unwrap_or(DEFAULT_BLOCK_SIZE).max(1);
    let first = read_block(&mut reader, block_size)?;
    if first.is_empty() && !options.allow_empty {
        return Err(Error::EmptyUpload);
    }
    if first.len() < block_size {
        let bytes = first.len() as u64;
        let options = BlobClientUploadOptions {
            blob_content_type: Some(content_type.clone()),
            parallel: NonZero::new(1),
            ..Default::default()
        };
        let result = blob
            .upload(RequestContent::from(first), Some(options))
            .await?;
        return Ok(UploadSummary {
            bytes,
            blocks: 1,
            etag: result.etag.map(|e| e.to_string()),
            content_type,
        });
    }

    let block_client = blob.block_blob_client();
    let mut ids: Vec<Vec<u8>> = Vec::new();
    let mut total = 0u64;
    let mut block = first;
    while !block.is_empty() {
        // Fixed-width ids: the service requires every id of a blob to have the same length.
        let id = format!("block-{:08}", ids.len()).into_bytes();
        let len = block.len() as u64;
        block_client
            .stage_block(&id, len, RequestContent::from(block), None)
            .await?;
        total += len;
        ids.push(id);
        if len < block_size as u64 {
            break;
        }
        block = read_block(&mut reader, block_size)?;
    }
    let list = BlockLookupList {
        latest: Some(ids.clone()),
        ..Default::default()
    };
    let options = BlockBlobClientCommitBlockListOptions {
        blob_content_type: Some(content_type.clone()),
        ..Default::default()
    };
    let response = block_client
        .commit_block_list(list.try_into()?, Some(options))
        .await?;
    Ok(UploadSummary {
        bytes: total,
        blocks: u32::try_from(ids.len()).unwrap_or(u32::MAX),
        etag: etag_of(response.headers()),
        content_type,
    })
}

/// Bytes read before a whole block's buffer is set aside.
const FIRST_READ: usize = 64 * 1024;

/// Reads until `size` bytes or the end of input. A small body (the usual upload of a handler)
/// costs a small buffer: the first [`FIRST_READ`] bytes are read into one, and room for the
/// whole block is made only when more follows. A guest's memory never shrinks, so a block-sized
/// buffer for a 1 KiB body would grow every instance by 4 MiB.
fn read_block<R: Read>(reader: &mut R, size: usize) -> std::io::Result<Vec<u8>> {
    let first = size.min(FIRST_READ);
    let mut buf = Vec::with_capacity(first);
    reader.by_ref().take(first as u64).read_to_end(&mut buf)?;
    if buf.len() < first || size == first {
        return Ok(buf);
    }
    // A body of exactly the first read's size must not set a block aside either: look for one
    // more byte first.
    let mut next = [0u8; 1];
    let n = loop {
        match reader.read(&mut next) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    if n == 0 {
        return Ok(buf);
    }
    buf.reserve_exact(size.min(DEFAULT_BLOCK_SIZE) - first);
    buf.push(next[0]);
    reader
        .by_ref()
        .take((size - first - 1) as u64)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

fn etag_of(headers: &Headers) -> Option<String> {
    headers.get_optional_str(&"etag".into()).map(str::to_string)
}

/// An open blob download: properties now, body streamed on demand.
///
/// ```no_run
/// # async fn f(blob: azure_storage_blob::BlobClient) -> azure_wasi_storage::Result<()> {
/// let download = azure_wasi_storage::open_download(&blob).await?;
/// println!("Content-Type: {}", download.content_type.as_deref().unwrap_or("application/octet-stream"));
/// let n = download.copy_to(std::io::stdout()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BlobDownload {
    /// The blob's Content-Type, if it has one.
    pub content_type: Option<String>,
    /// The blob's length in bytes, if known.
    pub content_length: Option<u64>,
    /// The blob's ETag.
    pub etag: Option<String>,
    body: azure_core::http::AsyncResponseBody,
}

/// Starts downloading `blob` (one range request at a time, so memory stays bounded).
///
/// ```no_run
/// # async fn f(blob: azure_storage_blob::BlobClient) -> azure_wasi_storage::Result<()> {
/// let bytes = azure_wasi_storage::open_download(&blob).await?.collect().await?;
/// # Ok(()) }
/// ```
pub async fn open_download(blob: &BlobClient) -> Result<BlobDownload> {
    download(blob, None).await
}

pub(crate) async fn download(
    blob: &BlobClient,
    options: Option<BlobClientDownloadOptions<'_>>,
) -> Result<BlobDownload> {
    let mut options = options.unwrap_or_default();
    if options.parallel.is_none() {
        options.parallel = NonZero::new(1);
    }
    let result = blob.download(Some(options)).await?;
    Ok(BlobDownload {
        content_type: result.properties.content_type.clone(),
        content_length: result.properties.content_length,
        etag: result.properties.etag.as_ref().map(|e| e.to_string()),
        body: result.body,
    })
}

impl BlobDownload {
    /// Streams the body into `writer` chunk by chunk; returns the bytes written.
    ///
    /// ```no_run
    /// # async fn f(d: azure_wasi_storage::BlobDownload) -> azure_wasi_storage::Result<()> {
    /// let mut out = Vec::new();
    /// let n = d.copy_to(&mut out).await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_to<W: Write>(mut self, mut writer: W) -> Result<u64> {
        let mut total = 0u64;
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk?;
            writer.write_all(&chunk)?;
            total += chunk.len() as u64;
        }
        writer.flush()?;
        Ok(total)
    }

    /// The body as a stream of chunks, e.g. for `azure_wasi_core::BlockingReader` to feed a
    /// streamed `azure_wasi_handler::Response`.
    ///
    /// ```no_run
    /// # fn f(d: azure_wasi_storage::BlobDownload) {
    /// let body = d.into_body();
    /// # }
    /// ```
    pub fn into_body(self) -> azure_core::http::AsyncResponseBody {
        self.body
    }

    /// The body as a `std::io::Read` (blocking on the guest's executor), e.g. for
    /// `Response::stream`.
    ///
    /// ```no_run
    /// # fn f(d: azure_wasi_storage::BlobDownload) -> std::io::Result<()> {
    /// let mut text = String::new();
    /// std::io::Read::read_to_string(&mut d.into_reader(), &mut text)?;
    /// # Ok(()) }
    /// ```
    pub fn into_reader(
        self,
    ) -> azure_wasi_core::BlockingReader<azure_core::http::AsyncResponseBody> {
        azure_wasi_core::BlockingReader::new(self.body)
    }

    /// Reads the whole body, keeping at most `keep` bytes of its start: returns the length and
    /// that start (for a preview of a large blob without holding it in memory).
    ///
    /// ```no_run
    /// # async fn f(d: azure_wasi_storage::BlobDownload) -> azure_wasi_storage::Result<()> {
    /// let (size, head) = d.measure(256).await?;
    /// assert!(head.len() <= 256 && head.len() as u64 <= size);
    /// # Ok(()) }
    /// ```
    pub async fn measure(mut self, keep: usize) -> Result<(u64, Vec<u8>)> {
        let mut size = 0u64;
        let mut head = Vec::new();
        while let Some(chunk) = self.body.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            let take = keep.saturating_sub(head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        Ok((size, head))
    }

    /// Collects the whole body in memory (small blobs only).
    ///
    /// ```no_run
    /// # async fn f(d: azure_wasi_storage::BlobDownload) -> azure_wasi_storage::Result<()> {
    /// let bytes = d.collect().await?;
    /// # Ok(()) }
    /// ```
    pub async fn collect(self) -> Result<Bytes> {
        Ok(self.body.collect().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_body_gets_a_small_buffer_and_a_large_one_whole_blocks() {
        let small = read_block(&mut &[7u8; 1024][..], DEFAULT_BLOCK_SIZE).unwrap();
        assert_eq!(small, vec![7u8; 1024]);
        assert!(small.capacity() <= FIRST_READ, "{}", small.capacity());

        let data: Vec<u8> = (0..300 * 1024).map(|i| (i % 251) as u8).collect();
        let mut reader = &data[..];
        let block = 128 * 1024;
        let a = read_block(&mut reader, block).unwrap();
        let b = read_block(&mut reader, block).unwrap();
        let c = read_block(&mut reader, block).unwrap();
        assert_eq!((a.len(), b.len(), c.len()), (block, block, 44 * 1024));
        assert_eq!(a.capacity(), block, "one allocation of the block's size");
        assert_eq!([a, b, c].concat(), data, "every byte, in order");
        assert!(read_block(&mut reader, block).unwrap().is_empty());

        // A body of exactly the first read's size, and blocks smaller than it.
        let exact = read_block(&mut &data[..FIRST_READ], DEFAULT_BLOCK_SIZE).unwrap();
        assert_eq!(exact, data[..FIRST_READ]);
        assert_eq!(exact.capacity(), FIRST_READ, "no block set aside for it");
        let one_more = read_block(&mut &data[..FIRST_READ + 1], DEFAULT_BLOCK_SIZE).unwrap();
        assert_eq!(one_more, data[..FIRST_READ + 1]);
        let tiny = read_block(&mut &data[..10], 4).unwrap();
        assert_eq!(tiny, data[..4]);
    }
}
