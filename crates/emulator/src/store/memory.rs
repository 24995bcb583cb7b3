//! In-memory [`Store`]: a B-tree per table behind one lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{Op, Store, Table};
use crate::{Error, Result};

type Tables = HashMap<Table, BTreeMap<String, Vec<u8>>>;

/// Volatile store used when no data directory is configured.
///
/// ```
/// use emulator::store::{MemoryStore, Store, Table};
/// assert!(MemoryStore::new().scan_prefix(Table::Blobs, "").unwrap().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// let _ = emulator::store::MemoryStore::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Tables>> {
        self.tables
            .lock()
            .map_err(|_| Error::Store("memory store lock poisoned by an earlier panic".into()))
    }
}

impl Store for MemoryStore {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.lock()?.get(&table).and_then(|t| t.get(key).cloned()))
    }

    fn scan_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let guard = self.lock()?;
        let Some(t) = guard.get(&table) else {
            return Ok(Vec::new());
        };
        Ok(t.range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn count_prefix(&self, table: Table, prefix: &str) -> Result<usize> {
        let guard = self.lock()?;
        Ok(guard.get(&table).map_or(0, |t| {
            t.range(prefix.to_owned()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .count()
        }))
    }

    fn commit(&self, ops: Vec<Op>) -> Result<()> {
        let mut guard = self.lock()?;
        for op in ops {
            match op {
                Op::Put { table, key, value } => {
                    guard.entry(table).or_default().insert(key, value);
                }
                Op::Delete { table, key } => {
                    if let Some(t) = guard.get_mut(&table) {
                        t.remove(&key);
                    }
                }
                Op::DeletePrefix { table, prefix } => {
                    if let Some(t) = guard.get_mut(&table) {
                        t.retain(|k, _| !k.starts_with(&prefix));
                    }
                }
            }
        }
        Ok(())
    }
}
