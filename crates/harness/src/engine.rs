//! The wasmtime engine: pooling allocator, copy-on-write memory images, epoch interruption.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::{Error, Limits, Result};

/// How often the epoch advances; guests yield to the async executor at this interval and the
/// wall-clock limit is checked at it.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Set to `1`, the engine writes `/tmp/perf-<pid>.map` so `perf` names guest functions.
pub(crate) const PERF_MAP_VAR: &str = "AZURE_WASI_PERF_MAP";

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
        // pages the guest really touched are reset, but only on a machine without swap (see
        // `pagemap_scan_choice`).
        .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
        .table_keep_resident(KEEP_RESIDENT_TABLE)
        .pagemap_scan(pagemap_scan_choice());
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if std::env::var_os(PERF_MAP_VAR).is_some_and(|v| v == "1") {
        // `perf report` then names the guests' functions (README "Profiling").
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        tracing::info!("{PERF_MAP_VAR}=1: guest code is listed in /tmp/perf-<pid>.map for perf");
    }
    Engine::new(&config).map_err(|e| Error::Engine(e.to_string()))
}

/// Whether the pooling allocator may reset memory with `PAGEMAP_SCAN`: only when this machine
/// has no swap. The scan misses dirty pages that were swapped out, so a reused slot could keep
/// the previous guest's data (wasmtime PR #14357, open at wasmtime 48). The choice is logged once.
fn pagemap_scan_choice() -> wasmtime::Enabled {
    static LOGGED: std::sync::Once = std::sync::Once::new();
    let swap = SwapState::read();
    let choice = match swap {
        SwapState::None(_) => wasmtime::Enabled::Auto,
        SwapState::Present(_) | SwapState::Unknown(_) => wasmtime::Enabled::No,
    };
    LOGGED.call_once(|| match &swap {
        SwapState::None(why) => tracing::info!(
            "pagemap_scan memory reset: on where the kernel has it, because {why}"
        ),
        SwapState::Present(why) => tracing::info!(
            "pagemap_scan memory reset: off, because {why}; the scan misses swapped-out dirty pages (wasmtime PR #14357), so slots are reset without it (a little slower)"
        ),
        SwapState::Unknown(why) => tracing::info!(
            "pagemap_scan memory reset: off, because whether this machine swaps is unknown ({why}); slots are reset without it"
        ),
    });
    choice
}

/// What this machine says about swap, with the reason in words for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SwapState {
    None(String),
    Present(String),
    Unknown(String),
}

impl SwapState {
    /// Reads `/proc/swaps`, else `SwapTotal` of `/proc/meminfo`.
    fn read() -> Self {
        match std::fs::read_to_string("/proc/swaps") {
            Ok(text) => Self::from_proc_swaps(&text),
            Err(swaps_err) => match std::fs::read_to_string("/proc/meminfo") {
                Ok(text) => Self::from_meminfo(&text),
                Err(e) => Self::Unknown(format!(
                    "neither /proc/swaps ({swaps_err}) nor /proc/meminfo ({e}) can be read"
                )),
            },
        }
    }

    /// From the text of `/proc/swaps`: a header line, then one line per active swap area.
    fn from_proc_swaps(text: &str) -> Self {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        match lines.next() {
            Some(header) if header.starts_with("Filename") => {}
            _ => return Self::Unknown("/proc/swaps has no header line".into()),
        }
        let areas: Vec<&str> = lines.filter_map(|l| l.split_whitespace().next()).collect();
        if areas.is_empty() {
            Self::None("/proc/swaps lists no swap area".into())
        } else {
            Self::Present(format!(
                "/proc/swaps lists {} swap area(s): {}",
                areas.len(),
                areas.join(", ")
            ))
        }
    }

    /// From the text of `/proc/meminfo` (`SwapTotal:  1048572 kB`).
    fn from_meminfo(text: &str) -> Self {
        let total = text.lines().find_map(|l| {
            let rest = l.strip_prefix("SwapTotal:")?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        });
        match total {
            Some(0) => Self::None("/proc/meminfo says SwapTotal is 0".into()),
            Some(kb) => Self::Present(format!("/proc/meminfo says SwapTotal is {kb} kB")),
            None => Self::Unknown("/proc/meminfo has no readable SwapTotal line".into()),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_swaps_without_areas_means_no_swap() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
        assert!(matches!(
            SwapState::from_proc_swaps(text),
            SwapState::None(_)
        ));
    }

    #[test]
    fn proc_swaps_with_areas_means_swap() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                    /dev/sda2                               partition\t8388604\t\t0\t\t-2\n\
                    /swapfile                               file\t\t2097148\t\t1024\t\t-3\n\
                    /dev/zram0                              partition\t4194300\t\t0\t\t100\n";
        match SwapState::from_proc_swaps(text) {
            SwapState::Present(why) => {
                assert!(why.contains("3 swap area(s)"), "{why}");
                assert!(why.contains("/dev/sda2, /swapfile, /dev/zram0"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unreadable_proc_swaps_text_is_unknown() {
        assert!(matches!(
            SwapState::from_proc_swaps(""),
            SwapState::Unknown(_)
        ));
        assert!(matches!(
            SwapState::from_proc_swaps("garbage\n/dev/sda2 partition 1 0 -2\n"),
            SwapState::Unknown(_)
        ));
    }

    #[test]
    fn meminfo_swap_total() {
        let none = "MemTotal:       16314764 kB\nSwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n";
        assert!(matches!(SwapState::from_meminfo(none), SwapState::None(_)));
        let some = "MemTotal:       16314764 kB\nSwapTotal:       2097148 kB\n";
        assert!(matches!(
            SwapState::from_meminfo(some),
            SwapState::Present(_)
        ));
        assert!(matches!(
            SwapState::from_meminfo("MemTotal: 1 kB\n"),
            SwapState::Unknown(_)
        ));
    }

    #[test]
    fn the_choice_follows_this_machine() {
        let expected = match SwapState::read() {
            SwapState::None(_) => wasmtime::Enabled::Auto,
            _ => wasmtime::Enabled::No,
        };
        assert_eq!(pagemap_scan_choice(), expected);
    }
}
