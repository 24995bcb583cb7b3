//! A single-threaded executor: `block_on` drives the main future, spawned tasks and timers on
//! the calling thread, sleeping (really waiting) only when nothing can make progress.

use crate::timer;
use futures::task::{waker, waker_ref, ArcWake};
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A spawned, boxed task future (the shape `azure_core`'s runtime hands us).
pub type BoxTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Locks a mutex, ignoring poisoning (a panicking task must not wedge the executor).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    static ACTIVE: Cell<usize> = const { Cell::new(0) };
}

/// True while the current thread is inside [`block_on`].
pub(crate) fn is_active() -> bool {
    ACTIVE.with(|a| a.get() > 0)
}

struct ActiveGuard;
impl ActiveGuard {
    fn enter() -> Self {
        ACTIVE.with(|a| a.set(a.get() + 1));
        ActiveGuard
    }
}
impl Drop for ActiveGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(a.get().saturating_sub(1)));
    }
}

static QUEUE: Mutex<VecDeque<Arc<Task>>> = Mutex::new(VecDeque::new());

/// Wake-ups for executors waiting on other threads (native targets only).
#[cfg(not(target_arch = "wasm32"))]
mod signal {
    use super::lock;
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;

    static GENERATION: Mutex<u64> = Mutex::new(0);
    static CONDVAR: Condvar = Condvar::new();

    pub(super) fn generation() -> u64 {
        *lock(&GENERATION)
    }
    pub(crate) fn notify() {
        *lock(&GENERATION) += 1;
        CONDVAR.notify_all();
    }
    pub(super) fn wait(seen: u64, timeout: Duration) {
        let guard = lock(&GENERATION);
        if *guard == seen {
            let _ = CONDVAR.wait_timeout(guard, timeout);
        }
    }
}

/// On wasm32 there is one thread: nothing can wake us but a timer, so waiting is sleeping.
#[cfg(target_arch = "wasm32")]
mod signal {
    use std::time::Duration;
    pub(super) fn generation() -> u64 {
        0
    }
    pub(crate) fn notify() {}
    pub(super) fn wait(_seen: u64, timeout: Duration) {
        std::thread::sleep(timeout);
    }
}

pub(crate) use signal::notify;

/// Longest single wait when no timer is due (bounds the cost of a missed wake-up).
const MAX_IDLE_WAIT: Duration = Duration::from_millis(50);

struct Task {
    future: Mutex<Option<BoxTask>>,
    queued: AtomicBool,
    state: Mutex<JoinState>,
}

#[derive(Default)]
struct JoinState {
    done: bool,
    waker: Option<Waker>,
}

impl Task {
    fn finish(&self) {
        let waker = {
            let mut st = lock(&self.state);
            st.done = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl ArcWake for Task {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.swap(true, Ordering::SeqCst) {
            lock(&QUEUE).push_back(arc_self.clone());
            notify();
        }
    }
}

/// Queues `future` to run on the executor; it makes progress whenever any [`block_on`] runs.
///
/// ```
/// let handle = azure_wasi_runtime::spawn(Box::pin(async { /* background work */ }));
/// azure_wasi_runtime::block_on(handle);
/// ```
pub fn spawn(future: BoxTask) -> JoinHandle {
    let task = Arc::new(Task {
        future: Mutex::new(Some(future)),
        queued: AtomicBool::new(false),
        state: Mutex::new(JoinState::default()),
    });
    ArcWake::wake_by_ref(&task);
    JoinHandle { task }
}

/// Polls every task queued right now once. Returns how many were polled.
fn run_queued() -> usize {
    let batch: Vec<Arc<Task>> = lock(&QUEUE).drain(..).collect();
    let count = batch.len();
    for task in batch {
        task.queued.store(false, Ordering::SeqCst);
        let Ok(mut slot) = task.future.try_lock() else {
            // Being polled further up this stack (nested block_on): try again later.
            ArcWake::wake_by_ref(&task);
            continue;
        };
        let Some(future) = slot.as_mut() else {
            continue;
        };
        let waker = waker_ref(&task);
        let mut cx = Context::from_waker(&waker);
        if future.as_mut().poll(&mut cx).is_ready() {
            *slot = None;
            drop(slot);
            task.finish();
        }
    }
    count
}

struct MainWaker {
    woken: AtomicBool,
}

impl ArcWake for MainWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.woken.store(true, Ordering::SeqCst);
        notify();
    }
}

/// Runs `future` to completion on the current thread, driving spawned tasks and timers.
///
/// The `#[handler]` attribute calls it for you; `azure_wasi_core` points `azure_core`'s
/// runtime (retry sleeps, spawned downloads) at this executor.
///
/// ```
/// let v = azure_wasi_runtime::block_on(async { 40 + 2 });
/// assert_eq!(v, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let _active = ActiveGuard::enter();
    let mut future = pin!(future);
    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
    });
    let main_waker = waker(main.clone());
    let mut cx = Context::from_waker(&main_waker);
    loop {
        let seen = signal::generation();
        if main.woken.swap(false, Ordering::SeqCst) {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
        let ran = run_queued();
        let fired = timer::fire_expired();
        if ran > 0 || fired > 0 || main.woken.load(Ordering::SeqCst) {
            continue;
        }
        let timeout = match timer::next_deadline() {
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .min(MAX_IDLE_WAIT),
            None => MAX_IDLE_WAIT,
        };
        if !timeout.is_zero() {
            signal::wait(seen, timeout);
        }
    }
}

/// Handle of a spawned task: await it to wait for completion, or abort it.
///
/// ```
/// let handle = azure_wasi_runtime::spawn(Box::pin(azure_wasi_runtime::sleep(std::time::Duration::from_secs(60))));
/// handle.abort();
/// azure_wasi_runtime::block_on(handle); // resolves at once
/// ```
pub struct JoinHandle {
    task: Arc<Task>,
}

impl std::fmt::Debug for JoinHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

impl JoinHandle {
    /// Stops the task: it is never polled again, and awaiting the handle resolves at once.
    ///
    /// ```
    /// let handle = azure_wasi_runtime::spawn(Box::pin(async {}));
    /// handle.abort();
    /// ```
    pub fn abort(&self) {
        if let Ok(mut slot) = self.task.future.try_lock() {
            *slot = None;
        }
        self.task.finish();
    }
}

impl Future for JoinHandle {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut st = lock(&self.task.state);
            if st.done {
                return Poll::Ready(());
            }
            if is_active() {
                st.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        // Awaited from a foreign executor: drive ours until the task is done.
        block_on(WaitDone(self.task.clone()));
        Poll::Ready(())
    }
}

struct WaitDone(Arc<Task>);

impl Future for WaitDone {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = lock(&self.0.state);
        if st.done {
            Poll::Ready(())
        } else {
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn spawned_tasks_progress_while_main_waits_for_them() {
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..5)
            .map(|_| {
                let c = counter.clone();
                spawn(Box::pin(async move {
                    timer::sleep(Duration::from_millis(20)).await;
                    c.fetch_add(1, Ordering::SeqCst);
                }))
            })
            .collect();
        let start = Instant::now();
        block_on(async {
            for h in handles {
                h.await;
            }
        });
        assert_eq!(counter.load(Ordering::SeqCst), 5);
        // The five sleeps overlap: far less than 5 x 20 ms.
        assert!(
            start.elapsed() < Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn manager_task_spawning_workers_feeding_a_channel_completes() {
        // The shape of azure_storage_blob's parallel download: a spawned manager spawns
        // workers that send chunks through a channel the main future drains.
        use futures::{SinkExt, StreamExt};
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<usize>();
        let manager = spawn(Box::pin(async move {
            let workers: Vec<_> = (0..4)
                .map(|i| {
                    let mut tx = tx.clone();
                    spawn(Box::pin(async move {
                        timer::sleep(Duration::from_millis(10 * (4 - i as u64))).await;
                        let _ = tx.send(i).await;
                    }))
                })
                .collect();
            for w in workers {
                w.await;
            }
        }));
        let got = block_on(async move {
            let mut got = Vec::new();
            while let Some(i) = rx.next().await {
                got.push(i);
            }
            manager.await;
            got
        });
        assert_eq!(
            got,
            [3, 2, 1, 0],
            "workers ran concurrently, shortest sleep first"
        );
    }

    #[test]
    fn join_handle_awaited_outside_block_on_still_completes() {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let handle = spawn(Box::pin(async move {
            d.store(true, Ordering::SeqCst);
        }));
        futures::executor::block_on(handle);
        assert!(done.load(Ordering::SeqCst));
    }

    #[test]
    fn aborted_task_resolves_and_never_runs_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let handle = spawn(Box::pin(async move {
            timer::sleep(Duration::from_secs(30)).await;
            r.fetch_add(1, Ordering::SeqCst);
        }));
        handle.abort();
        let start = Instant::now();
        block_on(handle);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }
}
