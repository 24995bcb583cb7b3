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

/// Core instances one component may hold (a Rust `wasm32-wasip2` component has about five:
/// its code, the canonical-ABI shims and their fix-up).
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
/// Linear memories one component may hold (a Rust component has one; two with a preview1
/// adapter).
const MEMORIES_PER_COMPONENT: u32 = 2;
/// Tables one component may hold (its code's table plus the shims' tables).
const TABLES_PER_COMPONENT: u32 = 4;

/// An engine set up for serving many short-lived instances.
///
/// At most `max_instances` requests run at once in either world: each running request holds
/// one fiber stack (`total_stacks`) and a component request also one component instance slot.
/// The core-instance, memory and table pools are sized so that `max_instances` components fit.
pub(crate) fn build_engine(limits: &Limits) -> Result<Engine> {
    let n = limits.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(n.saturating_mul(TABLES_PER_COMPONENT))
        .total_stacks(n)
        .total_component_instances(n)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
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
