//! Resource limits applied to every request.

use std::time::Duration;

/// Limits for guests and their outbound calls. The defaults suit a developer's desk.
///
/// ```
/// let limits = harness::Limits::default();
/// assert_eq!(limits.request_timeout.as_secs(), 30);
/// assert_eq!(limits.memory_bytes, 256 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit for one request's guest run (epoch interruption).
    pub request_timeout: Duration,
    /// Linear memory limit of one instance.
    pub memory_bytes: usize,
    /// Limit for one outbound call, from sending to the last body byte.
    pub outbound_timeout: Duration,
    /// Largest outbound response body a guest may read.
    pub max_outbound_body_bytes: u64,
    /// Largest CGI output (headers and body) a guest may write.
    pub max_response_bytes: usize,
    /// Largest request body accepted from a client.
    pub max_request_body_bytes: usize,
    /// Instances that may run at the same time (pooling allocator slots).
    pub max_instances: u32,
    /// Response handles per request when the module sets no `http_max_concurrency`.
    pub default_http_max_concurrency: u32,
    /// Longest wait for a client's request head (the first byte to the blank line); a slow
    /// client past it is disconnected.
    pub header_read_timeout: Duration,
    /// Longest wait for a client's request body, once the route is known.
    pub body_read_timeout: Duration,
    /// Client connections served at once; past it a connection is answered 503 (but
    /// `/healthz`) and closed.
    pub max_connections: usize,
    /// Whether guests' outbound calls are kept from loopback and private addresses (RFC 1918,
    /// unique-local, CGNAT, `0.0.0.0/8`, `::`) unless an `allowed_hosts` entry names the host
    /// exactly. Link-local and cloud metadata addresses are refused whatever this says.
    pub block_private_networks: bool,
    /// Longest wait for an outbound connection: DNS lookup and TCP connect together.
    pub outbound_connect_timeout: Duration,
    /// Idle upstream connections a module keeps per host for reuse.
    pub outbound_max_idle_per_host: usize,
    /// How long an idle upstream connection is kept before it is closed.
    pub outbound_idle_timeout: Duration,
    /// Most times one request may pass through the harness's own modules (the
    /// `azure-wasi-hops` header); a request past it is answered 508.
    pub max_hops: u32,
    /// Instance slots kept for requests that do not come from a harness module (hop count 0):
    /// nested requests together may use `max_instances - reserved_instances` (at least 1).
    pub reserved_instances: u32,
    /// On SIGTERM or Ctrl-C (or [`crate::Server::drain`]): how long requests in flight may
    /// take to finish once the listener is closed; connections still open after it are cut.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            memory_bytes: 256 << 20,
            outbound_timeout: Duration::from_secs(30),
            max_outbound_body_bytes: 128 << 20,
            max_response_bytes: 128 << 20,
            max_request_body_bytes: 128 << 20,
            max_instances: 256,
            default_http_max_concurrency: 32,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            max_connections: 1024,
            block_private_networks: true,
            outbound_connect_timeout: Duration::from_secs(10),
            outbound_max_idle_per_host: 16,
            outbound_idle_timeout: Duration::from_secs(30),
            max_hops: 8,
            reserved_instances: 16,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
