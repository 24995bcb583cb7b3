//! The live feed of request records as server-sent events (`text/event-stream`).
//!
//! A task per viewer moves records from the broadcast into a small channel the response body
//! reads; a viewer that falls behind gets a `lagged` event instead of the records it missed,
//! so nothing grows with a slow viewer. A comment every 15 s keeps idle proxies from closing
//! the stream; the task ends when the viewer goes away.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use tokio::sync::{broadcast, mpsc};

use crate::bodies::OutBody;
use crate::observe::RequestRecord;

const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The event stream of `feed`.
pub(crate) fn stream(mut feed: broadcast::Receiver<Arc<RequestRecord>>) -> OutBody {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        if tx
            .send(Bytes::from_static(b"retry: 2000\n\n"))
            .await
            .is_err()
        {
            return;
        }
        let mut tick = tokio::time::interval(KEEP_ALIVE);
        tick.tick().await;
        loop {
            let event = tokio::select! {
                received = feed.recv() => match received {
                    Ok(record) => event("request", &*record),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        event("lagged", &serde_json::json!({ "missed": missed }))
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => Bytes::from_static(b": keep-alive\n\n"),
                () = tx.closed() => return,
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    EventBody(rx).boxed_unsync()
}

/// One event: its name and its data as one line of JSON.
fn event(name: &str, data: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

struct EventBody(mpsc::Receiver<Bytes>);

impl Body for EventBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_data_line() {
        let e = event("request", &serde_json::json!({ "path": "/a\nb" }));
        assert_eq!(&e[..], b"event: request\ndata: {\"path\":\"/a\\nb\"}\n\n");
    }
}
