//! CPU time spent in guest code (WebAssembly), measured at every crossing between the guest and
//! the host: opt-in with `[dashboard] guest_cpu = true`, served as
//! `harness_guest_cpu_seconds_total` on `/metrics`.
//!
//! Each time the guest is entered (a call into it, or a host call returning to it) the thread's
//! CPU clock is read; each time it is left (it returns, or calls the host) the clock is read again
//! and the difference added to the module's total. A stretch of guest code never moves between
//! threads (an async host call or an epoch yield leaves the guest first), so the two readings are
//! of one thread's clock. The cost is two clock reads per host call, which is why it is opt-in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wasmtime::{CallHook, Store};

/// One module's CPU time in guest code, summed over its requests.
#[derive(Debug, Default)]
pub(crate) struct GuestCpu {
    nanos: AtomicU64,
}

impl GuestCpu {
    /// Adds the guest's CPU time in `store` to this total, from now until the store is dropped.
    pub(crate) fn watch<T: 'static>(self: &Arc<Self>, store: &mut Store<T>) {
        let total = self.clone();
        let mut entered: Option<u64> = None;
        store.call_hook(move |_, hook| {
            match hook {
                CallHook::CallingWasm | CallHook::ReturningFromHost => {
                    entered = Some(thread_cpu_nanos());
                }
                CallHook::ReturningFromWasm | CallHook::CallingHost => {
                    if let Some(start) = entered.take() {
                        let spent = thread_cpu_nanos().saturating_sub(start);
                        total.nanos.fetch_add(spent, Ordering::Relaxed);
                    }
                }
            }
            Ok(())
        });
    }

    /// The total so far, in seconds.
    pub(crate) fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 / 1e9
    }
}

/// The calling thread's CPU time, in nanoseconds.
#[cfg(unix)]
fn thread_cpu_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// Elsewhere, wall-clock time stands in for the thread's CPU time.
#[cfg(not(unix))]
fn thread_cpu_nanos() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, Instance, Module};

    /// A guest that spins `n` times, calling the host once every `every` turns.
    const SPIN: &str = r#"(module
        (import "host" "tick" (func $tick))
        (func (export "spin") (param $n i32) (param $every i32)
            (local $i i32)
            (loop $l
                (if (i32.eqz (i32.rem_u (local.get $i) (local.get $every))) (then (call $tick)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))"#;

    #[test]
    fn time_in_the_guest_is_counted_and_time_in_the_host_is_not() {
        let engine = Engine::default();
        let module = Module::new(&engine, wat::parse_str(SPIN).unwrap()).unwrap();
        let run =
            |store: &mut Store<()>, cpu: &Arc<GuestCpu>, n: i32, every: i32, host_work: u64| {
                cpu.watch(store);
                let tick = wasmtime::Func::wrap(&mut *store, move || {
                    // Host work: burns CPU outside the guest.
                    let mut x = 0u64;
                    for i in 0..host_work {
                        x = std::hint::black_box(x.wrapping_add(i));
                    }
                });
                let instance = Instance::new(&mut *store, &module, &[tick.into()]).unwrap();
                let spin = instance
                    .get_typed_func::<(i32, i32), ()>(&mut *store, "spin")
                    .unwrap();
                let started = thread_cpu_nanos();
                spin.call(&mut *store, (n, every)).unwrap();
                thread_cpu_nanos() - started
            };

        let guest_only = Arc::new(GuestCpu::default());
        let whole = run(
            &mut Store::new(&engine, ()),
            &guest_only,
            20_000_000,
            1_000_000,
            0,
        );
        let counted = (guest_only.seconds() * 1e9) as u64;
        assert!(counted > 0, "a spinning guest used no CPU?");
        assert!(
            counted <= whole,
            "guest {counted} ns > whole call {whole} ns"
        );
        assert!(
            counted * 10 >= whole * 8,
            "a guest-only call: guest {counted} ns should be most of {whole} ns"
        );

        let with_host = Arc::new(GuestCpu::default());
        let whole = run(
            &mut Store::new(&engine, ()),
            &with_host,
            20_000,
            1_000,
            2_000_000,
        );
        let counted = (with_host.seconds() * 1e9) as u64;
        assert!(
            counted * 4 < whole,
            "host work dominates: guest {counted} ns should be a small part of {whole} ns"
        );
    }
}
