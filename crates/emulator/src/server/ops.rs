//! Requests answered by every emulator in this process, by service, method and status: the
//! `emulator_requests_total` counter the harness's `/metrics` shows.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock};

type Key = (&'static str, &'static str, u16);

fn counts() -> &'static RwLock<HashMap<Key, AtomicU64>> {
    static COUNTS: OnceLock<RwLock<HashMap<Key, AtomicU64>>> = OnceLock::new();
    COUNTS.get_or_init(RwLock::default)
}

/// The method as a label: the standard ones by name, anything else `OTHER` (a client picks
/// the method, so the label set stays bounded).
fn method_label(method: &http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "PUT" => "PUT",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts one answered request of `service`.
pub(crate) fn count(service: &'static str, method: &http::Method, status: http::StatusCode) {
    let key = (service, method_label(method), status.as_u16());
    if let Some(c) = counts().read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        c.fetch_add(1, Ordering::Relaxed);
        return;
    }
    counts()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .fetch_add(1, Ordering::Relaxed);
}

/// Appends `emulator_requests_total` in the Prometheus text format to `out`.
///
/// ```
/// let mut out = String::new();
/// emulator::render_operation_counts(&mut out);
/// assert!(out.starts_with("# HELP emulator_requests_total "));
/// assert!(out.contains("# TYPE emulator_requests_total counter\n"));
/// ```
pub fn render_operation_counts(out: &mut String) {
    out.push_str("# HELP emulator_requests_total Requests answered by the embedded emulators of this process, by service, method and status.\n# TYPE emulator_requests_total counter\n");
    let mut rows: Vec<(Key, u64)> = counts()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(k, c)| (*k, c.load(Ordering::Relaxed)))
        .collect();
    rows.sort();
    for ((service, method, status), n) in rows {
        let _ = writeln!(
            out,
            "emulator_requests_total{{service=\"{service}\",method=\"{method}\",status=\"{status}\"}} {n}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_service_method_and_status() {
        let odd = http::Method::from_bytes(b"BREW").unwrap();
        count("ops-test", &http::Method::PUT, http::StatusCode::CREATED);
        count("ops-test", &http::Method::PUT, http::StatusCode::CREATED);
        count("ops-test", &odd, http::StatusCode::BAD_REQUEST);
        let mut out = String::new();
        render_operation_counts(&mut out);
        assert!(
            out.contains(
                "emulator_requests_total{service=\"ops-test\",method=\"PUT\",status=\"201\"} 2\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "emulator_requests_total{service=\"ops-test\",method=\"OTHER\",status=\"400\"} 1\n"
            ),
            "{out}"
        );
    }
}
