//! The last N request records, and a broadcast of each new one for live viewers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::record::RequestRecord;

/// Records a viewer may fall behind by before it is told it missed some.
const LIVE_BACKLOG: usize = 256;

/// A bounded ring of the newest records plus their live feed.
pub(crate) struct Recent {
    capacity: usize,
    ring: Mutex<VecDeque<Arc<RequestRecord>>>,
    live: broadcast::Sender<Arc<RequestRecord>>,
}

impl Recent {
    pub(crate) fn new(capacity: usize) -> Self {
        let (live, _) = broadcast::channel(LIVE_BACKLOG);
        Self {
            capacity,
            ring: Mutex::new(VecDeque::with_capacity(capacity)),
            live,
        }
    }

    /// Keeps `record` (dropping the oldest past the capacity) and sends it to live viewers.
    pub(crate) fn push(&self, record: RequestRecord) {
        let record = Arc::new(record);
        if self.capacity > 0 {
            let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            if ring.len() == self.capacity {
                ring.pop_front();
            }
            ring.push_back(record.clone());
        }
        if self.live.receiver_count() > 0 {
            let _ = self.live.send(record);
        }
    }

    /// The kept records, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<Arc<RequestRecord>> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter().cloned().collect()
    }

    /// A live feed of records pushed from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<RequestRecord>> {
        self.live.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> RequestRecord {
        RequestRecord {
            id,
            at_unix_ms: 0,
            route: "/r".into(),
            method: "GET".into(),
            path: "/r".into(),
            status: 200,
            instantiate_us: 0,
            run_us: 0,
            total_us: 0,
            bytes_in: 0,
            bytes_out: 0,
            outbound: vec![],
            outbound_not_kept: 0,
        }
    }

    #[tokio::test]
    async fn the_ring_keeps_the_newest_and_viewers_get_new_ones() {
        let recent = Recent::new(3);
        for id in 0..5 {
            recent.push(record(id));
        }
        let ids: Vec<u64> = recent.snapshot().iter().map(|r| r.id).collect();
        assert_eq!(ids, [2, 3, 4]);
        let mut live = recent.subscribe();
        recent.push(record(5));
        assert_eq!(live.recv().await.expect("the new record").id, 5);
    }
}
