//! The body of every emulator response: bytes in hand for nearly every answer, or a stream that
//! produces its frames only as hyper asks for them (Get Blob, so a large blob is never held
//! whole).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};

/// The error a streamed body ends with; hyper then closes the connection, so the client sees a
/// body shorter than its `Content-Length`.
pub(crate) type StreamError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed body, boxed so that the servers need not know what produces it.
type Stream = Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = StreamError> + Send>>;

/// A response body: [`Body::Full`] (every service) or [`Body::Stream`] (Get Blob).
pub(crate) enum Body {
    /// All the bytes, in hand.
    Full(Full<Bytes>),
    /// Frames produced on demand.
    Stream(Stream),
}

impl Body {
    /// A body of these bytes.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        Body::Full(Full::new(bytes.into()))
    }

    /// A body whose frames `body` produces when hyper asks for the next one (that is, once the
    /// previous ones are written: hyper's backpressure).
    pub(crate) fn stream(
        body: impl hyper::body::Body<Data = Bytes, Error = StreamError> + Send + 'static,
    ) -> Self {
        Body::Stream(Box::pin(body))
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::full(Bytes::new())
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Full(b) => f.debug_tuple("Full").field(b).finish(),
            Body::Stream(s) => f
                .debug_struct("Stream")
                .field("size_hint", &s.size_hint())
                .finish(),
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = StreamError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
        match self.get_mut() {
            Body::Full(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|f| f.map_err(|never| match never {}))),
            Body::Stream(s) => s.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.is_end_stream(),
            Body::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => b.size_hint(),
            Body::Stream(s) => s.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use http_body_util::BodyExt;
    use hyper::body::Body as _;

    /// Frames given in advance.
    struct Frames(VecDeque<Result<Frame<Bytes>, StreamError>>);

    impl hyper::body::Body for Frames {
        type Data = Bytes;
        type Error = StreamError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, StreamError>>> {
            Poll::Ready(self.0.pop_front())
        }
    }

    fn data(bytes: &'static [u8]) -> Result<Frame<Bytes>, StreamError> {
        Ok(Frame::data(Bytes::from_static(bytes)))
    }

    #[tokio::test]
    async fn full_and_streamed_bodies_give_their_bytes() {
        let full = Body::full("abc");
        assert_eq!(full.size_hint().exact(), Some(3));
        assert_eq!(&full.collect().await.unwrap().to_bytes()[..], b"abc");
        assert!(Body::default().is_end_stream());

        let streamed = Body::stream(Frames([data(b"ab"), data(b"cd")].into()));
        assert!(format!("{streamed:?}").starts_with("Stream"));
        assert_eq!(&streamed.collect().await.unwrap().to_bytes()[..], b"abcd");

        let failing = Body::stream(Frames([data(b"ab"), Err("store gone".into())].into()));
        let err = failing.collect().await.unwrap_err();
        assert_eq!(err.to_string(), "store gone");
    }
}
