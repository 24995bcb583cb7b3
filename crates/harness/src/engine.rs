//! The wasmtime engine: pooling allocator, copy-on-write memory images, epoch interruption.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::{Error, Limits, Result};

/// How often the epoch advances; guests yield to the async executor at this interval and the
/// wall-clock limit is checked at it.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled linear memory kept resident between instances (a Rust guest's stack
/// and data start at about 1.1 MiB).
const KEEP_RESIDENT_MEMORY: usize = 2 << 20;
/// Bytes of each pooled table kept resident between instances (100 000 elements fit).
const KEEP_RESIDENT_TABLE: usize = 1 << 20;

/// An engine set up for serving many short-lived instances.
pub(crate) fn build_engine(limits: &Limits) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(limits.max_instances)
        .total_memories(limits.max_instances)
        .total_tables(limits.max_instances)
        .total_stacks(limits.max_instances)
        .total_component_instances(0)
        .max_memory_size(limits.memory_bytes)
        .table_elements(100_000)
        // Reset a slot's memory and table with memset on reuse instead of madvise: no syscall
        // and no page faults for the next request. With PAGEMAP_SCAN (Linux 6.7+) only the
        // pages the guest really touched are reset.
        .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
        .table_keep_resident(KEEP_RESIDENT_TABLE)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| Error::Engine(e.to_string()))
}

/// A thread that advances the engine's epoch until dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("harness-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| {
                Error::Engine(format!(
                    "cannot start the epoch thread that enforces time limits: {e}"
                ))
            })?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
