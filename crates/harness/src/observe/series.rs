//! Per-second request counts and latency buckets over the last minutes, for the dashboard's
//! chart (rate and latency percentiles).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Seconds kept.
pub(crate) const SECONDS_KEPT: u64 = 300;

/// Latency bucket bounds in microseconds: 10 µs growing by 1.5x up to about 60 s.
fn bucket_of(us: u64) -> usize {
    let mut bound = 10.0_f64;
    let mut i = 0;
    while (us as f64) > bound && i < BUCKETS - 1 {
        bound *= 1.5;
        i += 1;
    }
    i
}

fn upper_bound_us(i: usize) -> f64 {
    10.0 * 1.5_f64.powi(i as i32)
}

const BUCKETS: usize = 40;

struct Second {
    unix: u64,
    count: u64,
    buckets: [u32; BUCKETS],
}

/// One second of the chart: requests ended in it and their latency percentiles (upper bound
/// of the bucket the percentile falls in, in milliseconds).
///
/// ```
/// let p = harness::observe::SecondPoint { unix: 1, count: 3, p50_ms: 0.1, p90_ms: 1.0, p99_ms: 1.0 };
/// assert_eq!(serde_json::to_value(&p)?["count"], 3);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SecondPoint {
    /// The second, since the Unix epoch.
    pub unix: u64,
    /// Requests that ended in it.
    pub count: u64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// The last [`SECONDS_KEPT`] seconds (only seconds with requests are stored).
#[derive(Default)]
pub(crate) struct Series {
    seconds: Mutex<VecDeque<Second>>,
}

impl Series {
    /// Adds a request that ended at `unix` after `latency`.
    pub(crate) fn add(&self, unix: u64, latency: Duration) {
        let bucket = bucket_of(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        let mut seconds = self.seconds.lock().unwrap_or_else(|e| e.into_inner());
        if seconds.back().map(|s| s.unix) != Some(unix) {
            if seconds.back().is_some_and(|s| s.unix > unix) {
                // A clock step back: count it in the newest second.
                if let Some(s) = seconds.back_mut() {
                    s.count += 1;
                    s.buckets[bucket] = s.buckets[bucket].saturating_add(1);
                }
                return;
            }
            seconds.push_back(Second {
                unix,
                count: 0,
                buckets: [0; BUCKETS],
            });
            while seconds
                .front()
                .is_some_and(|s| s.unix + SECONDS_KEPT <= unix)
            {
                seconds.pop_front();
            }
        }
        if let Some(s) = seconds.back_mut() {
            s.count += 1;
            s.buckets[bucket] = s.buckets[bucket].saturating_add(1);
        }
    }

    /// The stored seconds up to `now`, oldest first.
    pub(crate) fn points(&self, now: u64) -> Vec<SecondPoint> {
        let seconds = self.seconds.lock().unwrap_or_else(|e| e.into_inner());
        seconds
            .iter()
            .filter(|s| s.unix + SECONDS_KEPT > now)
            .map(|s| SecondPoint {
                unix: s.unix,
                count: s.count,
                p50_ms: percentile(&s.buckets, s.count, 0.50),
                p90_ms: percentile(&s.buckets, s.count, 0.90),
                p99_ms: percentile(&s.buckets, s.count, 0.99),
            })
            .collect()
    }
}

fn percentile(buckets: &[u32; BUCKETS], count: u64, q: f64) -> f64 {
    let rank = ((count as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in buckets.iter().enumerate() {
        seen += u64::from(*n);
        if seen >= rank {
            return upper_bound_us(i) / 1000.0;
        }
    }
    upper_bound_us(BUCKETS - 1) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_count_requests_and_give_percentiles() {
        let s = Series::default();
        for _ in 0..98 {
            s.add(100, Duration::from_micros(5));
        }
        s.add(100, Duration::from_millis(10));
        s.add(100, Duration::from_secs(1));
        s.add(101, Duration::from_micros(5));
        let points = s.points(101);
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].count, 100);
        assert_eq!(points[0].p50_ms, 0.01, "under 10 µs");
        assert!(
            points[0].p99_ms >= 10.0 && points[0].p99_ms < 15.0,
            "{:?}",
            points[0]
        );
        assert_eq!(points[1].count, 1);
    }

    #[test]
    fn old_seconds_are_dropped() {
        let s = Series::default();
        s.add(1, Duration::from_micros(5));
        s.add(1 + SECONDS_KEPT, Duration::from_micros(5));
        let points = s.points(1 + SECONDS_KEPT);
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].unix, 1 + SECONDS_KEPT);
    }
}
