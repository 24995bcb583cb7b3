//! The last events delivered to webhooks, kept in memory for the dashboard (bounded; not
//! persisted: a delivered event is done with).

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::Value;

/// Deliveries kept.
pub(crate) const KEPT: usize = 100;

/// One event a webhook accepted.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    pub topic: String,
    pub subscription: String,
    /// The attempt that succeeded (1 = the first).
    pub attempt: u32,
    pub event: Value,
}

/// The newest [`KEPT`] deliveries, oldest first.
#[derive(Default)]
pub(crate) struct DeliveredLog(Mutex<VecDeque<Delivered>>);

impl DeliveredLog {
    pub(crate) fn push(&self, delivered: Delivered) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == KEPT {
            log.pop_front();
        }
        log.push_back(delivered);
    }

    pub(crate) fn snapshot(&self) -> Vec<Delivered> {
        let log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_are_kept() {
        let log = DeliveredLog::default();
        for i in 0..KEPT + 5 {
            log.push(Delivered {
                topic: "t".into(),
                subscription: "s".into(),
                attempt: 1,
                event: Value::from(i),
            });
        }
        let kept = log.snapshot();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept[0].event, Value::from(5));
    }
}
