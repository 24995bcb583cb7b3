//! Body adapters: host body -> `azure_core` stream, and any byte stream -> `std::io::Read`.

use azure_core::Bytes;
use futures::{Stream, StreamExt};
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Streams a host response body in chunks of [`azure_wasi_outbound::DEFAULT_CHUNK`] bytes.
/// Each chunk is read by the host straight into its own buffer: no second copy.
pub(crate) struct HostBodyStream {
    body: azure_wasi_outbound::Body,
}

impl HostBodyStream {
    pub(crate) fn new(body: azure_wasi_outbound::Body) -> Self {
        Self { body }
    }
}

impl Stream for HostBodyStream {
    type Item = azure_core::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // The host call blocks until data is there, so the stream is always ready.
        Poll::Ready(
            match self.body.read_chunk(azure_wasi_outbound::DEFAULT_CHUNK) {
                Ok(Some(chunk)) => Some(Ok(chunk)),
                Ok(None) => None,
                Err(e) => Some(Err(crate::client::to_azure_error(e))),
            },
        )
    }
}

/// Turns a stream of byte chunks (such as `azure_core`'s `AsyncResponseBody`) into a blocking
/// [`Read`], driving it with [`crate::block_on`]. Use it to stream an Azure response straight
/// into a `azure_wasi_handler::Response`.
///
/// ```
/// use std::io::Read;
/// let chunks = futures::stream::iter(vec![
///     Ok::<_, azure_core::Error>(azure_core::Bytes::from_static(b"ab")),
///     Ok(azure_core::Bytes::from_static(b"c")),
/// ]);
/// let mut text = String::new();
/// azure_wasi_core::BlockingReader::new(chunks).read_to_string(&mut text).unwrap();
/// assert_eq!(text, "abc");
/// ```
pub struct BlockingReader<S> {
    stream: Pin<Box<S>>,
    current: Bytes,
    finished: bool,
}

impl<S> std::fmt::Debug for BlockingReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingReader")
            .field("buffered", &self.current.len())
            .field("finished", &self.finished)
            .finish()
    }
}

impl<S> BlockingReader<S> {
    /// Wraps `stream`.
    ///
    /// ```
    /// let r = azure_wasi_core::BlockingReader::new(futures::stream::empty::<azure_core::Result<azure_core::Bytes>>());
    /// ```
    pub fn new(stream: S) -> Self {
        Self {
            stream: Box::pin(stream),
            current: Bytes::new(),
            finished: false,
        }
    }
}

impl<S, E> Read for BlockingReader<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            match crate::block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.finished = true;
                    return Err(io::Error::other(e));
                }
                None => self.finished = true,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_stream_errors() {
        let chunks = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"x")),
            Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Io,
                "connection reset",
            )),
        ]);
        let mut reader = BlockingReader::new(chunks);
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).unwrap_err();
        assert_eq!(out, b"x");
        assert!(err.to_string().contains("connection reset"));
    }
}
