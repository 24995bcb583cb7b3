//! Storage back ends: an ordered key-value map with atomic batches.
//!
//! The resource logic (`crate::engine`) is written once against [`Storage`]; the in-memory map
//! and the redb file implement it.

mod memory;
mod redb_store;

pub(crate) use memory::MemoryStore;
pub(crate) use redb_store::RedbStore;

use crate::Error;

/// One change inside an atomic batch.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// Insert or overwrite a key.
    Put(String, Vec<u8>),
    /// Remove a key (no error if absent).
    Delete(String),
}

/// An ordered key-value store whose batches are applied atomically.
pub(crate) trait Storage: Send + Sync {
    /// Reads one key.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Every key starting with `prefix`, in key order.
    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, Error>;
    /// Applies all writes or none; when this returns `Ok` the batch is durable
    /// (for persistent stores).
    fn commit(&self, writes: Vec<Write>) -> Result<(), Error>;
}
