//! Deliveries accepted but not finished, kept in the store so that they survive a restart
//! (at-least-once): written before a publish is acknowledged, removed once the event is
//! delivered or dead-lettered.

use serde::{Deserialize, Serialize};

use super::schema::Event;
use crate::store::{Op, Table};

/// One event on its way to one subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub topic: String,
    pub subscription: String,
    pub event: Event,
    /// Failed attempts so far.
    pub attempts: u32,
}

impl Pending {
    /// A new record and its store key (`topic/subscription/sequence`).
    pub(crate) fn new(topic: &str, subscription: &str, event: Event) -> (String, Self) {
        let key = format!("{topic}/{subscription}/{:020}", crate::util::next_stamp());
        let rec = Self {
            topic: topic.to_string(),
            subscription: subscription.to_string(),
            event,
            attempts: 0,
        };
        (key, rec)
    }

    /// The store operation that writes this record under `key`.
    pub(crate) fn put(&self, key: &str) -> Op {
        Op::Put {
            table: Table::PendingDeliveries,
            key: key.to_string(),
            // Serialising these plain structs cannot fail.
            value: serde_json::to_vec(self).unwrap_or_default(),
        }
    }

    /// The store operation that removes the record under `key`.
    pub(crate) fn done(key: &str) -> Op {
        Op::Delete {
            table: Table::PendingDeliveries,
            key: key.to_string(),
        }
    }
}
