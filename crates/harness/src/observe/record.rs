//! One request as the dashboard shows it: emitted once, when its response body has ended.

use serde::Serialize;

/// Outbound calls kept per request record; calls past this are only counted.
pub const MAX_CALLS_PER_RECORD: usize = 32;

/// What one request did: its route, method and path (never the query, which may hold a SAS
/// signature), status, timings, bytes, and every outbound call (up to
/// [`MAX_CALLS_PER_RECORD`]).
///
/// ```
/// let record = harness::observe::RequestRecord {
///     id: 1, at_unix_ms: 0, route: "/hello".into(), method: "GET".into(), path: "/hello".into(),
///     status: 200, instantiate_us: 12, run_us: 340, total_us: 400, bytes_in: 0, bytes_out: 12,
///     outbound: vec![], outbound_not_kept: 0,
/// };
/// let json = serde_json::to_value(&record)?;
/// assert_eq!(json["status"], 200);
/// assert_eq!(json["path"], "/hello");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    /// Increasing number of the request since the harness started.
    pub id: u64,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The route of the module that served it.
    pub route: String,
    /// The request method.
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    /// The response status.
    pub status: u16,
    /// Instantiation time, in microseconds.
    pub instantiate_us: u64,
    /// Run time up to the response head, in microseconds.
    pub run_us: u64,
    /// Time from arrival to the end of the response body, in microseconds.
    pub total_us: u64,
    /// Request body bytes the guest read.
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
    /// The outbound calls, in the order they ended.
    pub outbound: Vec<OutboundCall>,
    /// Outbound calls past [`MAX_CALLS_PER_RECORD`], counted but not kept.
    pub outbound_not_kept: u32,
}

/// One outbound call of a request: destination (scheme, host and port only), how it ended,
/// and for a denial the `allowed_hosts` entry that would allow it.
///
/// ```
/// use harness::observe::{CallResult, OutboundCall};
/// let call = OutboundCall {
///     method: "GET".into(), destination: "http://127.0.0.1:9".into(), status: None,
///     duration_us: 5, result: CallResult::Denied,
///     hint: Some("add \"http://127.0.0.1:9\" to allowed_hosts".into()),
/// };
/// assert_eq!(serde_json::to_value(&call)?["result"], "denied");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutboundCall {
    /// The request method.
    pub method: String,
    /// `scheme://host:port`, as an `allowed_hosts` entry spells it.
    pub destination: String,
    /// The response status, when a response came.
    pub status: Option<u16>,
    /// From sending to the response head (or the failure), in microseconds.
    pub duration_us: u64,
    /// How it ended.
    pub result: CallResult,
    /// What to do about a denial.
    pub hint: Option<String>,
}

/// How an outbound call ended; also the `result` label of `harness_outbound_calls_total`.
///
/// ```
/// assert_eq!(harness::observe::CallResult::TimedOut.label(), "timed_out");
/// ```
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// A response came (whatever its status).
    Ok,
    /// The allow-list or the address policy refused it; nothing was sent.
    Denied,
    /// No response: the name did not resolve, the connection failed, a protocol error.
    Failed,
    /// No response within the call's time limit.
    TimedOut,
}

impl CallResult {
    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::Denied => "denied",
            CallResult::Failed => "failed",
            CallResult::TimedOut => "timed_out",
        }
    }
}
