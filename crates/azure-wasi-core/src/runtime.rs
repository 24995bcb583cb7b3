//! The `azure_core` async runtime for WASI, and its one-time installation.

use crate::Error;
use azure_core::async_runtime::{AbortableTask, AsyncRuntime, SpawnedTask, TaskFuture};
use azure_wasi_runtime::JoinHandle;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

/// `azure_core`'s [`AsyncRuntime`] for WASI guests (`wasm32-wasip1` and `wasm32-wasip2`): tasks
/// run on the single-threaded executor of `azure-wasi-runtime`, and `sleep` really waits
/// (`azure_core`'s default runtime would spawn OS threads, which WASI guests do not have).
///
/// Installed by [`crate::init`]; you rarely name it yourself.
///
/// ```
/// use azure_core::async_runtime::AsyncRuntime;
/// let rt = azure_wasi_core::WasiRuntime;
/// azure_wasi_core::block_on(rt.sleep(azure_core::time::Duration::milliseconds(5)));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct WasiRuntime;

impl AsyncRuntime for WasiRuntime {
    fn spawn(&self, f: TaskFuture) -> SpawnedTask {
        Box::pin(Spawned(azure_wasi_runtime::spawn(f)))
    }

    fn sleep(&self, duration: azure_core::time::Duration) -> TaskFuture {
        // Negative durations (a Retry-After date in the past) mean "do not wait".
        let duration = std::time::Duration::try_from(duration).unwrap_or_default();
        Box::pin(azure_wasi_runtime::sleep(duration))
    }

    fn yield_now(&self) -> TaskFuture {
        Box::pin(azure_wasi_runtime::yield_now())
    }
}

struct Spawned(JoinHandle);

impl Future for Spawned {
    type Output = Result<(), Box<dyn std::error::Error + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(Ok)
    }
}

impl AbortableTask for Spawned {
    fn abort(&self) {
        self.0.abort();
    }
}

static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// Installs [`WasiRuntime`] as `azure_core`'s async runtime. Idempotent; called for you by
/// [`crate::block_on`], [`crate::WasiHttpClient::new`], [`crate::client_options`] and
/// [`crate::transport`]. Call it yourself only if you use `azure_core` before any of those.
///
/// Fails only when a different runtime was installed first (another crate called
/// `azure_core::async_runtime::set_async_runtime`, or an `azure_core` sleep or spawn ran before
/// this); in that case call `init()` at the very start of `main`.
///
/// ```
/// azure_wasi_core::init().expect("first and only runtime");
/// azure_wasi_core::init().expect("idempotent");
/// ```
pub fn init() -> Result<(), Error> {
    INSTALLED
        .get_or_init(|| {
            azure_core::async_runtime::set_async_runtime(Arc::new(WasiRuntime))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|_| Error::RuntimeAlreadySet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn azure_core_sleep_and_spawn_use_this_runtime() {
        init().unwrap();
        let start = Instant::now();
        crate::block_on(async {
            let rt = azure_core::async_runtime::get_async_runtime();
            let task = rt.spawn(Box::pin(async {
                azure_core::sleep::sleep(azure_core::time::Duration::milliseconds(100)).await;
            }));
            rt.yield_now().await;
            task.await.unwrap();
        });
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn negative_sleep_returns_immediately() {
        let start = Instant::now();
        crate::block_on(WasiRuntime.sleep(azure_core::time::Duration::seconds(-5)));
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
