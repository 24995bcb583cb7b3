//! In-memory [`Store`]: a B-tree per table behind one lock. Tables and values are shared
//! (`Arc`, `Bytes`), so a [`Snapshot`] is a few reference counts: a commit copies a table's map
//! (its keys, not its values) only while a snapshot still holds that table.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{not_in_snapshot, Op, Snapshot, Store, Table};
use crate::{Error, Result};

type Map = BTreeMap<String, Bytes>;
type Tables = HashMap<Table, Arc<Map>>;

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
    fn in_memory(&self) -> bool {
        true
    }

    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .lock()?
            .get(&table)
            .and_then(|t| t.get(key).map(|v| v.to_vec())))
    }

    fn scan_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let guard = self.lock()?;
        let Some(t) = guard.get(&table) else {
            return Ok(Vec::new());
        };
        Ok(t.range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.to_vec()))
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
                    Arc::make_mut(guard.entry(table).or_default()).insert(key, Bytes::from(value));
                }
                Op::Delete { table, key } => {
                    if let Some(t) = guard.get_mut(&table) {
                        if t.contains_key(&key) {
                            Arc::make_mut(t).remove(&key);
                        }
                    }
                }
                Op::DeletePrefix { table, prefix } => {
                    if let Some(t) = guard.get_mut(&table) {
                        let any = t
                            .range(prefix.clone()..)
                            .next()
                            .is_some_and(|(k, _)| k.starts_with(&prefix));
                        if any {
                            Arc::make_mut(t).retain(|k, _| !k.starts_with(&prefix));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn snapshot(&self, tables: &[Table]) -> Result<Box<dyn Snapshot>> {
        Ok(Box::new(self.share(tables)?))
    }
}

impl MemoryStore {
    /// The current maps of `tables`, shared.
    fn share(&self, tables: &[Table]) -> Result<MemorySnapshot> {
        let mut guard = self.lock()?;
        let tables = tables
            .iter()
            .map(|t| (*t, guard.entry(*t).or_default().clone()))
            .collect();
        Ok(MemorySnapshot { tables })
    }
}

/// The listed tables of a [`MemoryStore`] as they were (shared, not copied).
struct MemorySnapshot {
    tables: Vec<(Table, Arc<Map>)>,
}

impl Snapshot for MemorySnapshot {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>> {
        let (_, map) = self
            .tables
            .iter()
            .find(|(t, _)| *t == table)
            .ok_or_else(|| not_in_snapshot(table))?;
        Ok(map.get(key).map(|v| v.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &[u8]) -> Op {
        Op::Put {
            table: Table::BlobData,
            key: key.into(),
            value: value.to_vec(),
        }
    }

    #[test]
    fn a_snapshot_keeps_values_that_later_commits_replace_or_delete() {
        let s = MemoryStore::new();
        s.commit(vec![put("a/1", b"one"), put("a/2", b"two")])
            .unwrap();
        let snap = s.snapshot(&[Table::BlobData, Table::Blobs]).unwrap();
        s.commit(vec![
            put("a/1", b"ONE"),
            Op::DeletePrefix {
                table: Table::BlobData,
                prefix: "a/2".into(),
            },
            put("a/3", b"three"),
        ])
        .unwrap();
        assert_eq!(
            snap.get(Table::BlobData, "a/1").unwrap(),
            Some(b"one".to_vec())
        );
        assert_eq!(
            snap.get(Table::BlobData, "a/2").unwrap(),
            Some(b"two".to_vec())
        );
        assert_eq!(snap.get(Table::BlobData, "a/3").unwrap(), None);
        assert_eq!(snap.get(Table::Blobs, "a/1").unwrap(), None);
        assert_eq!(
            s.get(Table::BlobData, "a/1").unwrap(),
            Some(b"ONE".to_vec())
        );
        assert_eq!(s.count_prefix(Table::BlobData, "a/").unwrap(), 2);
    }

    #[test]
    fn values_are_shared_between_the_store_and_its_snapshots() {
        let s = MemoryStore::new();
        s.commit(vec![put("k", &[7; 1024])]).unwrap();
        let snap = s.share(&[Table::BlobData]).unwrap();
        // A commit to the table while the snapshot lives copies the map, not the values.
        s.commit(vec![put("other", b"x")]).unwrap();
        let live = s.lock().unwrap()[&Table::BlobData].clone();
        let held = &snap.tables[0].1;
        assert!(!Arc::ptr_eq(&live, held), "the map was copied");
        assert_eq!(live["k"].as_ptr(), held["k"].as_ptr(), "the value was not");
        assert!(!held.contains_key("other"));
        // Once the snapshot is gone, commits change the map in place again.
        drop((snap, live));
        let before = Arc::as_ptr(&s.lock().unwrap()[&Table::BlobData]);
        s.commit(vec![put("more", b"y")]).unwrap();
        assert_eq!(Arc::as_ptr(&s.lock().unwrap()[&Table::BlobData]), before);
    }
}
