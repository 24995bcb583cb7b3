//! What one module may do outbound.

use std::time::Duration;

use crate::AllowList;

/// The outbound rules of one module, shared by all its requests.
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
