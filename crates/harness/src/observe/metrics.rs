//! The figures behind `/metrics`, kept on atomics and rendered in the Prometheus text format
//! (version 0.0.4) by hand.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::histogram::{Histogram, BOUNDS};
use super::record::CallResult;
use crate::guest_cpu::GuestCpu;

/// Outbound series (route, destination, result) kept apart; past this, a new destination is
/// counted under `destination="other"` (destinations are chosen by guests).
pub(crate) const MAX_OUTBOUND_SERIES: usize = 512;

/// An outbound series: route, destination, result.
type OutboundKey = (Arc<str>, String, CallResult);

/// A routed module, for the per-module series.
pub(crate) struct ModuleSeries {
    pub(crate) route: Arc<str>,
    pub(crate) module: String,
    pub(crate) instantiate: Histogram,
    pub(crate) meters: ModuleMeters,
}

/// Counters a module keeps itself, read when `/metrics` is rendered.
#[derive(Clone, Default)]
pub(crate) struct ModuleMeters {
    /// Connections its outbound pool opened.
    pub(crate) outbound_connections: Arc<AtomicU64>,
    /// Its guests' CPU time in guest code, when measured (`[dashboard] guest_cpu`).
    pub(crate) guest_cpu: Option<Arc<GuestCpu>>,
}

/// Every series of one harness.
pub(crate) struct Metrics {
    modules: Vec<ModuleSeries>,
    requests: RwLock<HashMap<(usize, u16), Arc<Histogram>>>,
    outbound: RwLock<HashMap<OutboundKey, Arc<AtomicU64>>>,
    pub(crate) in_flight: AtomicI64,
    pub(crate) connections_open: AtomicI64,
    max_instances: u32,
    max_connections: usize,
}

impl Metrics {
    pub(crate) fn new(
        modules: Vec<ModuleSeries>,
        max_instances: u32,
        max_connections: usize,
    ) -> Self {
        Self {
            modules,
            requests: RwLock::default(),
            outbound: RwLock::default(),
            in_flight: AtomicI64::new(0),
            connections_open: AtomicI64::new(0),
            max_instances,
            max_connections,
        }
    }

    /// Records a finished request of module `index`.
    pub(crate) fn request(
        &self,
        index: usize,
        status: u16,
        total: Duration,
        instantiate: Duration,
    ) {
        let Some(module) = self.modules.get(index) else {
            return;
        };
        if !instantiate.is_zero() {
            module.instantiate.observe(instantiate);
        }
        let found = read(&self.requests).get(&(index, status)).cloned();
        let series = match found {
            Some(s) => s,
            // Statuses are three digits, routes come from the config: the map stays small.
            None => write(&self.requests)
                .entry((index, status))
                .or_default()
                .clone(),
        };
        series.observe(total);
    }

    /// Counts an outbound call of `route` to `destination`.
    pub(crate) fn outbound(&self, route: &Arc<str>, destination: &str, result: CallResult) {
        let key = (route.clone(), destination.to_string(), result);
        if let Some(c) = read(&self.outbound).get(&key) {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut map = write(&self.outbound);
        let key = if map.len() >= MAX_OUTBOUND_SERIES && !map.contains_key(&key) {
            (route.clone(), "other".to_string(), result)
        } else {
            key
        };
        map.entry(key).or_default().fetch_add(1, Ordering::Relaxed);
    }

    /// The text format, every family with its `# HELP` and `# TYPE`.
    pub(crate) fn render(&self, out: &mut String) {
        let requests: Vec<((usize, u16), Arc<Histogram>)> = {
            let mut v: Vec<_> = read(&self.requests)
                .iter()
                .map(|(k, h)| (*k, h.clone()))
                .collect();
            v.sort_by_key(|(k, _)| *k);
            v
        };
        family(
            out,
            "harness_requests_total",
            "counter",
            "Requests answered by a module, by route and status.",
        );
        for ((index, status), h) in &requests {
            let labels = format!(
                "route=\"{}\",status=\"{status}\"",
                escape(&self.modules[*index].route)
            );
            let (_, _, count) = h.snapshot();
            let _ = writeln!(out, "harness_requests_total{{{labels}}} {count}");
        }
        family(
            out,
            "harness_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to the end of its response body, by route and status.",
        );
        for ((index, status), h) in &requests {
            let labels = format!(
                "route=\"{}\",status=\"{status}\"",
                escape(&self.modules[*index].route)
            );
            histogram(out, "harness_request_duration_seconds", &labels, h);
        }
        family(
            out,
            "harness_instantiate_seconds",
            "histogram",
            "Time to instantiate a module or component for one request.",
        );
        for m in &self.modules {
            let labels = format!(
                "route=\"{}\",module=\"{}\"",
                escape(&m.route),
                escape(&m.module)
            );
            histogram(out, "harness_instantiate_seconds", &labels, &m.instantiate);
        }
        family(
            out,
            "harness_outbound_connections_total",
            "counter",
            "Connections opened by a module's outbound pool (kept-alive connections are reused, not counted again).",
        );
        for m in &self.modules {
            let n = m.meters.outbound_connections.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "harness_outbound_connections_total{{route=\"{}\"}} {n}",
                escape(&m.route)
            );
        }
        if self.modules.iter().any(|m| m.meters.guest_cpu.is_some()) {
            family(
                out,
                "harness_guest_cpu_seconds_total",
                "counter",
                "CPU time spent in a module's guest code (WebAssembly), host calls excluded ([dashboard] guest_cpu).",
            );
            for m in &self.modules {
                if let Some(cpu) = &m.meters.guest_cpu {
                    let _ = writeln!(
                        out,
                        "harness_guest_cpu_seconds_total{{route=\"{}\"}} {:.9}",
                        escape(&m.route),
                        cpu.seconds()
                    );
                }
            }
        }
        family(out, "harness_outbound_calls_total", "counter", "Outbound calls of guests, by route, destination (scheme://host:port) and result (ok, denied, failed, timed_out).");
        let mut outbound: Vec<(String, u64)> = read(&self.outbound)
            .iter()
            .map(|((route, dest, result), c)| {
                (
                    format!(
                        "route=\"{}\",destination=\"{}\",result=\"{}\"",
                        escape(route),
                        escape(dest),
                        result.label()
                    ),
                    c.load(Ordering::Relaxed),
                )
            })
            .collect();
        outbound.sort();
        for (labels, n) in outbound {
            let _ = writeln!(out, "harness_outbound_calls_total{{{labels}}} {n}");
        }
        gauge(
            out,
            "harness_requests_in_flight",
            "Requests being run by a guest now (each holds an instance slot).",
            self.in_flight.load(Ordering::Relaxed),
        );
        gauge(
            out,
            "harness_instances_max",
            "Instance slots of the pooling allocator ([limits] max_instances).",
            i64::from(self.max_instances),
        );
        gauge(
            out,
            "harness_connections_open",
            "Client connections open now.",
            self.connections_open.load(Ordering::Relaxed),
        );
        gauge(
            out,
            "harness_connections_max",
            "Client connections served at once ([limits] max_connections).",
            i64::try_from(self.max_connections).unwrap_or(i64::MAX),
        );
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: i64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let (cumulative, sum, count) = h.snapshot();
    for (bound, n) in BOUNDS.iter().zip(&cumulative) {
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
    let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
}

/// A label value with `\`, `"` and newlines escaped as the text format requires.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        let module = ModuleSeries {
            route: "/a\"b".into(),
            module: "a.wasm".into(),
            instantiate: Histogram::default(),
            meters: ModuleMeters::default(),
        };
        Metrics::new(vec![module], 4, 8)
    }

    #[test]
    fn module_meters_are_rendered_and_guest_cpu_only_when_measured() {
        let m = metrics();
        m.modules[0]
            .meters
            .outbound_connections
            .fetch_add(3, Ordering::Relaxed);
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("harness_outbound_connections_total{route=\"/a\\\"b\"} 3\n"),
            "{out}"
        );
        assert!(!out.contains("harness_guest_cpu_seconds_total"), "{out}");

        let measured = ModuleSeries {
            route: "/g".into(),
            module: "g.wasm".into(),
            instantiate: Histogram::default(),
            meters: ModuleMeters {
                guest_cpu: Some(Arc::default()),
                ..Default::default()
            },
        };
        let m = Metrics::new(vec![measured], 4, 8);
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("# TYPE harness_guest_cpu_seconds_total counter\n"),
            "{out}"
        );
        assert!(
            out.contains("harness_guest_cpu_seconds_total{route=\"/g\"} 0.000000000\n"),
            "{out}"
        );
    }

    #[test]
    fn requests_are_counted_per_route_and_status_with_escaped_labels() {
        let m = metrics();
        m.request(0, 200, Duration::from_millis(2), Duration::from_micros(30));
        m.request(0, 200, Duration::from_millis(3), Duration::ZERO);
        m.request(0, 502, Duration::from_millis(1), Duration::from_micros(30));
        m.request(7, 200, Duration::from_millis(1), Duration::ZERO); // no such module: ignored
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("harness_requests_total{route=\"/a\\\"b\",status=\"200\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("harness_requests_total{route=\"/a\\\"b\",status=\"502\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "harness_instantiate_seconds_count{route=\"/a\\\"b\",module=\"a.wasm\"} 2\n"
            ),
            "{out}"
        );
        assert!(out.contains("harness_instances_max 4\n"), "{out}");
    }

    #[test]
    fn outbound_destinations_are_bounded() {
        let m = metrics();
        let route: Arc<str> = "/r".into();
        for i in 0..MAX_OUTBOUND_SERIES + 10 {
            m.outbound(&route, &format!("http://h{i}:80"), CallResult::Denied);
        }
        m.outbound(&route, "http://h0:80", CallResult::Denied);
        assert_eq!(read(&m.outbound).len(), MAX_OUTBOUND_SERIES + 1);
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("destination=\"other\",result=\"denied\"} 10\n"),
            "{out}"
        );
        assert!(
            out.contains("destination=\"http://h0:80\",result=\"denied\"} 2\n"),
            "{out}"
        );
    }
}
