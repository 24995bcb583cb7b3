//! Self-requests: the hop-count header and the admission of nested requests.
//!
//! Every outbound request the harness makes for a guest carries [`HOPS_HEADER`], set to one
//! more than the count on the inbound request the guest is answering (0 when absent); a guest
//! can neither set nor lower it. An inbound request whose count passes `[limits] max_hops` is
//! answered `508 Loop Detected`, so a module that calls itself stops. Requests with a count
//! above 0 come from this harness's own modules (or another harness's); they may hold at most
//! `max_instances - reserved_instances` instance slots together, so other clients keep a
//! reserve while a module recurses.

use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderMap, Response, StatusCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::outcome::text;
use crate::Limits;

/// The hop-count header: how many times a request has passed through harness guests.
pub const HOPS_HEADER: &str = "azure-wasi-hops";

/// [`HOPS_HEADER`] as a header name.
pub(crate) fn header_name() -> HeaderName {
    HeaderName::from_static(HOPS_HEADER)
}

/// The hop count of an inbound request: 0 without the header; an error for a value that is not
/// one decimal number.
pub(crate) fn incoming(headers: &HeaderMap) -> Result<u32, String> {
    let mut values = headers.get_all(HOPS_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(0);
    };
    if values.next().is_some() {
        return Err(format!("the {HOPS_HEADER} header appears more than once"));
    }
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .ok_or_else(|| format!("the {HOPS_HEADER} header is not a number"))
}

/// Decides whether an inbound request may run, by its hop count.
pub(crate) struct HopGate {
    max_hops: u32,
    nested: Arc<Semaphore>,
    nested_capacity: u32,
}

/// A request the gate refused: the status and the text the client gets.
pub(crate) struct Refusal {
    status: StatusCode,
    reason: String,
}

impl Refusal {
    /// The plain-text response for the client.
    pub(crate) fn response(&self) -> Response<Bytes> {
        text(self.status, &self.reason)
    }
}

/// A request admitted to run: the count its guest's outbound calls carry, and (for a nested
/// request) its share of the nested slots, held until the request ends.
pub(crate) struct Admission {
    /// The hop count for the guest's outbound requests.
    pub(crate) outgoing_hops: u32,
    _permit: Option<OwnedSemaphorePermit>,
}

impl HopGate {
    /// A gate for `limits`: nested requests get `max_instances - reserved_instances` slots
    /// (at least one).
    pub(crate) fn new(limits: &Limits) -> Self {
        let nested_capacity = limits
            .max_instances
            .saturating_sub(limits.reserved_instances)
            .max(1);
        Self {
            max_hops: limits.max_hops,
            nested: Arc::new(Semaphore::new(nested_capacity as usize)),
            nested_capacity,
        }
    }

    /// Admits a request for `route` with `headers`, or answers it: 400 for a malformed count,
    /// 508 past `max_hops`, 503 when nested requests hold all their slots.
    pub(crate) fn admit(&self, headers: &HeaderMap, route: &str) -> Result<Admission, Refusal> {
        let hops = incoming(headers).map_err(|reason| Refusal {
            status: StatusCode::BAD_REQUEST,
            reason,
        })?;
        if hops > self.max_hops {
            tracing::warn!(
                route = %route,
                hops,
                "request refused: it has passed through the harness's modules {hops} times, more than max_hops = {}; a module is probably calling itself",
                self.max_hops
            );
            return Err(Refusal {
                status: StatusCode::LOOP_DETECTED,
                reason: format!(
                    "loop detected: this request has passed through the harness's modules {hops} times ({HOPS_HEADER}), more than max_hops = {}; a module is probably calling itself (raise max_hops in [limits] if the chain is intended)",
                    self.max_hops
                ),
            });
        }
        let permit = if hops == 0 {
            None
        } else {
            match self.nested.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    tracing::warn!(
                        route = %route,
                        hops,
                        "nested request refused: requests from the harness's own modules hold all {} instance slots they may use; the rest is kept for other clients (reserved_instances)",
                        self.nested_capacity
                    );
                    return Err(Refusal {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        reason: format!(
                            "too many nested requests: calls from this harness's own modules hold all {} instance slots they may use (max_instances - reserved_instances); try again shortly",
                            self.nested_capacity
                        ),
                    });
                }
            }
        };
        Ok(Admission {
            outgoing_hops: hops.saturating_add(1),
            _permit: permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hops(v: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in v {
            h.append(HOPS_HEADER, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_count_is_parsed_strictly() {
        assert_eq!(incoming(&HeaderMap::new()), Ok(0));
        assert_eq!(incoming(&with_hops(&[" 3 "])), Ok(3));
        assert!(incoming(&with_hops(&["-1"])).is_err());
        assert!(incoming(&with_hops(&["1, 2"])).is_err());
        assert!(incoming(&with_hops(&["1", "2"])).is_err());
        assert!(incoming(&with_hops(&["99999999999"])).is_err());
    }

    #[test]
    fn past_max_hops_is_508_and_nested_requests_keep_a_reserve() {
        let limits = Limits {
            max_instances: 4,
            reserved_instances: 2,
            max_hops: 3,
            ..Limits::default()
        };
        let gate = HopGate::new(&limits);
        let a = gate.admit(&with_hops(&["3"]), "/r").ok().unwrap();
        assert_eq!(a.outgoing_hops, 4);
        let refused = gate.admit(&with_hops(&["4"]), "/r").err().unwrap();
        assert_eq!(refused.response().status(), StatusCode::LOOP_DETECTED);
        let b = gate.admit(&with_hops(&["1"]), "/r").ok().unwrap();
        let busy = gate.admit(&with_hops(&["2"]), "/r").err().unwrap();
        assert_eq!(busy.response().status(), StatusCode::SERVICE_UNAVAILABLE);
        // Fresh requests are not counted against the nested slots.
        assert!(gate.admit(&HeaderMap::new(), "/r").is_ok());
        drop((a, b));
        assert!(gate.admit(&with_hops(&["2"]), "/r").is_ok());
        let bad = gate.admit(&with_hops(&["x"]), "/r").err().unwrap();
        assert_eq!(bad.response().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_reserve_never_leaves_nested_requests_without_a_slot() {
        let limits = Limits {
            max_instances: 1,
            ..Limits::default()
        };
        let gate = HopGate::new(&limits);
        assert!(gate.admit(&with_hops(&["1"]), "/r").is_ok());
    }
}
