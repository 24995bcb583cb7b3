//! Bounded warnings per request: a guest that makes thousands of refused or failing outbound
//! calls gets its first few logged in full and the rest counted in one summary line. Every
//! call also goes to the request's record when the dashboard observes it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::policy::OutboundPolicy;
use crate::observe::{CallList, OutboundCall};

/// Outbound warnings of one request written in full; the rest are counted.
pub(crate) const MAX_WARNINGS_PER_REQUEST: u32 = 5;

/// The warning budget of one request's outbound calls (both worlds). When the request's state
/// is dropped, the warnings it did not write are summarised in one line.
pub(crate) struct CallLog {
    policy: Arc<OutboundPolicy>,
    written: AtomicU32,
    skipped: AtomicU32,
    /// The observed request's call list (picked up from the task it was created on).
    calls: Option<Arc<CallList>>,
}

impl CallLog {
    /// A fresh budget for one request of the module with `policy`.
    pub(crate) fn new(policy: Arc<OutboundPolicy>) -> Self {
        Self {
            policy,
            written: AtomicU32::new(0),
            skipped: AtomicU32::new(0),
            calls: crate::observe::current_calls(),
        }
    }

    /// Whether the next warning may be written; when not, it is counted for the summary.
    pub(crate) fn admit(&self) -> bool {
        if self.written.fetch_add(1, Ordering::Relaxed) < MAX_WARNINGS_PER_REQUEST {
            true
        } else {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Adds `call` to the request's record, when it is observed.
    pub(crate) fn record(&self, call: impl FnOnce() -> OutboundCall) {
        if let Some(calls) = &self.calls {
            calls.record(call());
        }
    }

    /// The outbound rules of the module this request belongs to.
    pub(crate) fn policy(&self) -> &Arc<OutboundPolicy> {
        &self.policy
    }

    /// Warnings counted but not written so far.
    pub(crate) fn skipped(&self) -> u32 {
        self.skipped.load(Ordering::Relaxed)
    }
}

impl Drop for CallLog {
    fn drop(&mut self) {
        let skipped = self.skipped();
        if skipped > 0 {
            tracing::warn!(
                route = %self.policy.route,
                "{skipped} more outbound warnings of this request were not logged (the first {MAX_WARNINGS_PER_REQUEST} are above)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_warnings_are_admitted_and_the_rest_counted() {
        let policy = Arc::new(OutboundPolicy {
            route: "/r".into(),
            allow: crate::AllowList::default(),
            max_handles: 1,
            timeout: std::time::Duration::from_secs(1),
            max_body: 1,
        });
        let log = CallLog::new(policy);
        let admitted = (0..1000).filter(|_| log.admit()).count();
        assert_eq!(admitted, MAX_WARNINGS_PER_REQUEST as usize);
        assert_eq!(log.skipped(), 1000 - MAX_WARNINGS_PER_REQUEST);
    }
}
