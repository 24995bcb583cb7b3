//! A latency histogram on atomics: fixed buckets, recorded without a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (Prometheus `le`); `+Inf` is implied.
pub(crate) const BOUNDS: [f64; 18] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Counts per bucket (not cumulative), the sum and the count.
#[derive(Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// Adds one observation.
    pub(crate) fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BOUNDS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Cumulative counts per bound (the last is `+Inf`), the sum in seconds, and the count.
    pub(crate) fn snapshot(&self) -> (Vec<u64>, f64, u64) {
        let mut running = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                running += b.load(Ordering::Relaxed);
                running
            })
            .collect();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (cumulative, sum, self.count.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket_and_cumulate() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(40)); // <= 50 µs
        h.observe(Duration::from_millis(3)); // <= 5 ms
        h.observe(Duration::from_secs(60)); // +Inf
        let (cumulative, sum, count) = h.snapshot();
        assert_eq!(count, 3);
        assert_eq!(cumulative[0], 1);
        assert_eq!(cumulative[5], 1, "2.5 ms bucket: only the first");
        assert_eq!(cumulative[6], 2, "5 ms bucket");
        assert_eq!(cumulative[BOUNDS.len() - 1], 2, "30 s bucket");
        assert_eq!(cumulative[BOUNDS.len()], 3, "+Inf");
        assert!((sum - 60.003_04).abs() < 1e-6, "{sum}");
    }
}
