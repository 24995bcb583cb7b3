//! Timers for the single-threaded executor: a sleep that really waits.

use crate::executor::{is_active, lock, notify};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

type Key = (Instant, u64);

// A guest has a handful of pending timers at most (a retry back-off, a timeout), so a plain
// vector scanned in full is both smaller in the .wasm and as fast as an ordered map.
static TIMERS: Mutex<Vec<(Key, Waker)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A future that completes once `duration` has passed.
///
/// Inside [`crate::block_on`] it registers a timer, so other tasks keep running while it waits;
/// polled by any other executor it blocks the thread for the remaining time (on wasm32-wasip1
/// `std::thread::sleep` is the host's `poll_oneoff` clock wait).
///
/// ```
/// let start = std::time::Instant::now();
/// azure_wasi_runtime::block_on(azure_wasi_runtime::sleep(std::time::Duration::from_millis(20)));
/// assert!(start.elapsed() >= std::time::Duration::from_millis(20));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now() + duration,
        key: None,
    }
}

/// The future returned by [`sleep`].
///
/// ```
/// let s: azure_wasi_runtime::Sleep = azure_wasi_runtime::sleep(std::time::Duration::ZERO);
/// azure_wasi_runtime::block_on(s);
/// ```
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    key: Option<Key>,
}

impl Sleep {
    fn unregister(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&TIMERS).retain(|(k, _)| *k != key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = Instant::now();
        if now >= self.deadline {
            self.unregister();
            return Poll::Ready(());
        }
        if !is_active() {
            std::thread::sleep(self.deadline - now);
            self.unregister();
            return Poll::Ready(());
        }
        let deadline = self.deadline;
        let key = *self
            .key
            .get_or_insert_with(|| (deadline, NEXT_ID.fetch_add(1, Ordering::Relaxed)));
        {
            let mut timers = lock(&TIMERS);
            match timers.iter_mut().find(|(k, _)| *k == key) {
                Some((_, waker)) => waker.clone_from(cx.waker()),
                None => timers.push((key, cx.waker().clone())),
            }
        }
        notify();
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// Wakes every timer whose deadline has passed; returns how many.
pub(crate) fn fire_expired() -> usize {
    let now = Instant::now();
    let due: Vec<Waker> = {
        let mut timers = lock(&TIMERS);
        let mut due = Vec::new();
        timers.retain(|((deadline, _), waker)| {
            let expired = *deadline <= now;
            if expired {
                due.push(waker.clone());
            }
            !expired
        });
        due
    };
    let count = due.len();
    for waker in due {
        waker.wake();
    }
    count
}

/// The earliest pending deadline.
pub(crate) fn next_deadline() -> Option<Instant> {
    lock(&TIMERS)
        .iter()
        .map(|((deadline, _), _)| *deadline)
        .min()
}

/// Yields once to the executor, so other tasks run before the caller goes on.
///
/// ```
/// azure_wasi_runtime::block_on(azure_wasi_runtime::yield_now());
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

/// The future returned by [`yield_now`].
///
/// ```
/// let y: azure_wasi_runtime::YieldNow = azure_wasi_runtime::yield_now();
/// azure_wasi_runtime::block_on(y);
/// ```
#[derive(Debug)]
pub struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_really_waits_inside_and_outside_block_on() {
        let start = Instant::now();
        crate::block_on(sleep(Duration::from_millis(120)));
        assert!(start.elapsed() >= Duration::from_millis(120));

        let start = Instant::now();
        futures::executor::block_on(sleep(Duration::from_millis(60)));
        assert!(start.elapsed() >= Duration::from_millis(60));
    }

    #[test]
    fn dropped_sleep_leaves_no_timer_behind() {
        let mut fut = Box::pin(sleep(Duration::from_secs(3600)));
        let deadline = crate::block_on(async {
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            fut.deadline
        });
        assert!(lock(&TIMERS).iter().any(|((d, _), _)| *d == deadline));
        drop(fut);
        assert!(!lock(&TIMERS).iter().any(|((d, _), _)| *d == deadline));
    }
}
