//! What one module may do outbound, and the log lines every outbound call writes (both worlds).

use std::time::{Duration, Instant};

use url::Url;

use super::address_policy::Prohibited;
use super::call_log::CallLog;
use crate::allowed_hosts::allowed_hosts_entry_for;
use crate::observe::{CallResult, OutboundCall};
use crate::AllowList;

/// The outbound rules of one module, shared by all its requests.
///
/// ```
/// use harness::outbound::OutboundPolicy;
/// let policy = OutboundPolicy {
///     route: "/api".into(),
///     allow: harness::AllowList::parse(&["http://127.0.0.1:10000"]).unwrap(),
///     max_handles: 32,
///     timeout: std::time::Duration::from_secs(30),
///     max_body: 1 << 20,
/// };
/// assert!(policy.allows(&"http://127.0.0.1:10000/x".parse().unwrap()));
/// assert!(!policy.allows(&"http://127.0.0.1:10001/x".parse().unwrap()));
/// ```
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// The module's route, for log lines.
    pub route: String,
    /// Allowed destinations.
    pub allow: AllowList,
    /// Most open response handles per request.
    pub max_handles: u32,
    /// Limit per call, from sending to the last body byte.
    pub timeout: Duration,
    /// Largest body a guest may read from one response.
    pub max_body: u64,
}

impl OutboundPolicy {
    /// Whether the allow-list lets the module call `url` (the resolved address is checked
    /// later, by the connector).
    ///
    /// ```
    /// # let policy = harness::outbound::OutboundPolicy {
    /// #     route: "/api".into(), allow: harness::AllowList::default(), max_handles: 1,
    /// #     timeout: std::time::Duration::from_secs(1), max_body: 1,
    /// # };
    /// assert!(!policy.allows(&"https://example.com/".parse().unwrap()));
    /// ```
    pub fn allows(&self, url: &Url) -> bool {
        self.allow.allows(url)
    }

    /// [`OutboundPolicy::allows`], with a denial logged (within the request's warning budget)
    /// with the `allowed_hosts` entry that would allow it, and recorded. Every outbound hop of
    /// both worlds goes through here.
    pub(crate) fn check(&self, method: &http::Method, url: &Url, log: &CallLog) -> bool {
        if self.allows(url) {
            return true;
        }
        let entry = allowed_hosts_entry_for(url);
        log.record(|| {
            call(method, url, Instant::now(), None, CallResult::Denied)
                .hint(format!("add `{entry}` to allowed_hosts"))
        });
        if !log.admit() {
            return false;
        }
        tracing::warn!(
            route = %self.route,
            destination = %redacted(url),
            "outbound call denied; to allow it, add \"{entry}\" to allowed_hosts of this module"
        );
        false
    }

    /// Logs and records a call refused for the address its host resolved to, with how to
    /// allow it when it can be allowed.
    pub(crate) fn log_prohibited(
        &self,
        method: &http::Method,
        url: &Url,
        refusal: &Prohibited,
        started: Instant,
        log: &CallLog,
    ) {
        log.record(|| {
            let hint = if refusal.always {
                format!("{refusal}, which guests may never reach")
            } else {
                format!(
                    "{refusal}: add `{}` to allowed_hosts (naming the host exactly), or set block_private_networks = false",
                    allowed_hosts_entry_for(url)
                )
            };
            call(method, url, started, None, CallResult::Denied).hint(hint)
        });
        if !log.admit() {
            return;
        }
        if refusal.always {
            tracing::warn!(
                route = %self.route,
                destination = %redacted(url),
                "outbound call denied: {refusal}, which guests may never reach"
            );
        } else {
            tracing::warn!(
                route = %self.route,
                destination = %redacted(url),
                "outbound call denied: {refusal}; loopback and private addresses are reached only through an allowed_hosts entry that names the host exactly: add \"{}\" to allowed_hosts of this module, or set block_private_networks = false in [limits]",
                allowed_hosts_entry_for(url)
            );
        }
    }

    /// Logs and records one finished outbound exchange (the `outbound call` line).
    pub(crate) fn log_call(
        &self,
        method: &http::Method,
        url: &Url,
        status: u16,
        started: Instant,
        log: &CallLog,
    ) {
        log.record(|| call(method, url, started, Some(status), CallResult::Ok));
        tracing::info!(
            route = %self.route,
            method = %method,
            host = url.host_str().unwrap_or(""),
            status,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "outbound call"
        );
    }

    /// Logs and records an outbound call that got no response (`timed_out`: within its time
    /// limit).
    pub(crate) fn log_failure(
        &self,
        method: &http::Method,
        url: &Url,
        error: &dyn std::fmt::Display,
        timed_out: bool,
        started: Instant,
        log: &CallLog,
    ) {
        let result = if timed_out {
            CallResult::TimedOut
        } else {
            CallResult::Failed
        };
        log.record(|| call(method, url, started, None, result));
        if !log.admit() {
            return;
        }
        tracing::warn!(route = %self.route, destination = %redacted(url), error = %error, "outbound call failed");
    }

    /// Logs an outbound response body that passed [`OutboundPolicy::max_body`].
    pub(crate) fn log_body_too_large(&self) {
        tracing::warn!(
            route = %self.route,
            "outbound response body is larger than the limit of {} bytes; raise max_outbound_body_mib in [limits]",
            self.max_body
        );
    }
}

/// The record of a call to `url` that started at `started`.
fn call(
    method: &http::Method,
    url: &Url,
    started: Instant,
    status: Option<u16>,
    result: CallResult,
) -> OutboundCall {
    OutboundCall {
        method: method.as_str().to_string(),
        destination: allowed_hosts_entry_for(url),
        status,
        duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        result,
        hint: None,
    }
}

impl OutboundCall {
    fn hint(mut self, hint: String) -> Self {
        self.hint = Some(hint);
        self
    }
}

/// A URL fit for a log line: scheme, host, port and path; the query (which may hold a SAS
/// signature) is left out.
pub(crate) fn redacted(url: &Url) -> String {
    format!("{}{}", allowed_hosts_entry_for(url), url.path())
}
