//! The live feed of request records as server-sent events (`text/event-stream`).
//!
//! A task per viewer moves records from the broadcast into a small channel the response body
//! reads; a viewer that falls behind gets a `lagged` event instead of the records it missed,
//! so nothing grows with a slow viewer. Records already waiting are sent in one write, at most
//! [`MAX_BATCH`] per [`PAUSE`]. A comment every 15 s keeps idle proxies from closing
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

/// Records gathered into one write, and the pause after each write: a viewer is sent at most
/// 200 records a second (more than a person reads); past that it is told how many it missed,
/// so a busy harness does not spend its cores encoding records for a page.
const MAX_BATCH: usize = 20;
const PAUSE: Duration = Duration::from_millis(100);

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
            let first = tokio::select! {
                received = feed.recv() => received,
                _ = tick.tick() => {
                    if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                        return;
                    }
                    continue;
                }
                () = tx.closed() => return,
            };
            // Under load, the records already waiting go out in one write.
            let mut batch = Vec::new();
            let mut records = 0;
            let mut next = Some(first);
            while let Some(received) = next.take() {
                match received {
                    Ok(record) => {
                        records += 1;
                        batch.extend_from_slice(&event("request", &*record));
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => batch.extend_from_slice(
                        &event("lagged", &serde_json::json!({ "missed": missed })),
                    ),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
                if records < MAX_BATCH {
                    next = match feed.try_recv() {
                        Ok(record) => Some(Ok(record)),
                        Err(broadcast::error::TryRecvError::Lagged(n)) => {
                            Some(Err(broadcast::error::RecvError::Lagged(n)))
                        }
                        Err(_) => None,
                    };
                }
            }
            if tx.send(Bytes::from(batch)).await.is_err() {
                return;
            }
            tokio::time::sleep(PAUSE).await;
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
