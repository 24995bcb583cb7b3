//! Per-request outbound state: the open response handles of one instance.

use std::collections::HashMap;
use std::sync::Arc;

use super::call_log::CallLog;
use super::client::{OpenResponse, OutboundClient};
use super::policy::OutboundPolicy;
use super::Code;

/// The outbound half of a request's store data.
pub struct OutboundState {
    pub(crate) policy: Arc<OutboundPolicy>,
    pub(crate) client: OutboundClient,
    /// The hop count every outbound request of this request carries.
    pub(crate) hops: u32,
    /// This request's warning budget.
    pub(crate) log: CallLog,
    handles: HashMap<u32, OpenResponse>,
    next_handle: u32,
}

impl OutboundState {
    /// State for one request of a module with `policy`, whose outbound calls carry `hops`.
    pub(crate) fn new(policy: Arc<OutboundPolicy>, client: OutboundClient, hops: u32) -> Self {
        Self {
            log: CallLog::new(policy.clone()),
            policy,
            client,
            hops,
            handles: HashMap::new(),
            next_handle: 0,
        }
    }

    /// Whether another handle may be opened (code 13 otherwise).
    pub(crate) fn check_capacity(&self) -> Result<(), Code> {
        if self.handles.len() >= self.policy.max_handles as usize {
            tracing::warn!(
                route = %self.policy.route,
                "guest holds {} open responses, the most http_max_concurrency allows; close some first",
                self.handles.len()
            );
            return Err(Code::TooManySessions);
        }
        Ok(())
    }

    /// Stores a response and returns its new handle.
    pub(crate) fn insert(&mut self, response: OpenResponse) -> u32 {
        loop {
            self.next_handle = self.next_handle.wrapping_add(1);
            if !self.handles.contains_key(&self.next_handle) {
                break;
            }
        }
        self.handles.insert(self.next_handle, response);
        self.next_handle
    }

    pub(crate) fn get(&self, handle: i32) -> Result<&OpenResponse, Code> {
        self.handles
            .get(&(handle as u32))
            .ok_or(Code::InvalidHandle)
    }

    pub(crate) fn get_mut(&mut self, handle: i32) -> Result<&mut OpenResponse, Code> {
        self.handles
            .get_mut(&(handle as u32))
            .ok_or(Code::InvalidHandle)
    }

    pub(crate) fn close(&mut self, handle: i32) -> Result<(), Code> {
        self.handles
            .remove(&(handle as u32))
            .map(|_| ())
            .ok_or(Code::InvalidHandle)
    }

    /// How many handles are open.
    pub fn open_handles(&self) -> usize {
        self.handles.len()
    }
}
