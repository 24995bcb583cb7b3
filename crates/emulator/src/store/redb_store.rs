//! Persistent [`Store`] on redb: ACID, copy-on-write B-trees, fsync on every commit.

use std::path::Path;

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition};

use super::{not_in_snapshot, Op, Snapshot, Store, Table};
use crate::{Error, Result};

fn def(table: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(table.name())
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

/// Durable store in `<data_dir>/emulator.redb`.
///
/// ```
/// use emulator::store::{Op, RedbStore, Store, Table};
/// let dir = tempfile::tempdir().unwrap();
/// let s = RedbStore::open_dir(dir.path()).unwrap();
/// s.commit(vec![Op::Put { table: Table::Blobs, key: "a/c/b".into(), value: b"v".to_vec() }]).unwrap();
/// assert_eq!(s.get(Table::Blobs, "a/c/b").unwrap(), Some(b"v".to_vec()));
/// assert_eq!(s.count_prefix(Table::Blobs, "a/").unwrap(), 1);
/// ```
pub struct RedbStore {
    db: Database,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbStore")
    }
}

impl RedbStore {
    /// Create the directory if needed and open (or create) the database file in it.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let nested = dir.path().join("a").join("b");
    /// emulator::store::RedbStore::open_dir(&nested).unwrap();
    /// assert!(nested.join("emulator.redb").exists());
    /// // A file where the directory should be is a clear error.
    /// std::fs::write(dir.path().join("file"), b"x").unwrap();
    /// let err = emulator::store::RedbStore::open_dir(&dir.path().join("file")).unwrap_err();
    /// assert!(err.to_string().contains("cannot use data directory"), "{err}");
    /// ```
    pub fn open_dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::DataDir {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let path = dir.join("emulator.redb");
        let db = Database::create(&path).map_err(|e| Error::DataDir {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        // Create every table once so that readers never see a missing table.
        let tx = db.begin_write().map_err(store_err)?;
        for t in Table::ALL {
            tx.open_table(def(t)).map_err(store_err)?;
        }
        tx.commit().map_err(store_err)?;
        Ok(Self { db })
    }
}

impl Store for RedbStore {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>> {
        let tx = self.db.begin_read().map_err(store_err)?;
        let t = tx.open_table(def(table)).map_err(store_err)?;
        Ok(t.get(key).map_err(store_err)?.map(|v| v.value().to_vec()))
    }

    fn scan_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let tx = self.db.begin_read().map_err(store_err)?;
        let t = tx.open_table(def(table)).map_err(store_err)?;
        let mut out = Vec::new();
        for entry in t.range(prefix..).map_err(store_err)? {
            let (k, v) = entry.map_err(store_err)?;
            let key = k.value();
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_owned(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn count_prefix(&self, table: Table, prefix: &str) -> Result<usize> {
        let tx = self.db.begin_read().map_err(store_err)?;
        let t = tx.open_table(def(table)).map_err(store_err)?;
        let mut n = 0;
        for entry in t.range(prefix..).map_err(store_err)? {
            let (k, _) = entry.map_err(store_err)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    fn commit(&self, ops: Vec<Op>) -> Result<()> {
        let tx = self.db.begin_write().map_err(store_err)?;
        for op in ops {
            match op {
                Op::Put { table, key, value } => {
                    let mut t = tx.open_table(def(table)).map_err(store_err)?;
                    t.insert(key.as_str(), value.as_slice())
                        .map_err(store_err)?;
                }
                Op::Delete { table, key } => {
                    let mut t = tx.open_table(def(table)).map_err(store_err)?;
                    t.remove(key.as_str()).map_err(store_err)?;
                }
                Op::DeletePrefix { table, prefix } => {
                    let mut t = tx.open_table(def(table)).map_err(store_err)?;
                    let keys: Vec<String> = {
                        let mut keys = Vec::new();
                        for entry in t.range(prefix.as_str()..).map_err(store_err)? {
                            let (k, _) = entry.map_err(store_err)?;
                            if !k.value().starts_with(&prefix) {
                                break;
                            }
                            keys.push(k.value().to_owned());
                        }
                        keys
                    };
                    for k in keys {
                        t.remove(k.as_str()).map_err(store_err)?;
                    }
                }
            }
        }
        // Default durability is Immediate: the commit is fsynced before we acknowledge.
        tx.commit().map_err(store_err)
    }

    fn snapshot(&self, tables: &[Table]) -> Result<Box<dyn Snapshot>> {
        Ok(Box::new(RedbSnapshot {
            tx: self.db.begin_read().map_err(store_err)?,
            tables: tables.to_vec(),
        }))
    }
}

/// A redb read transaction: it sees the last commit before it began, and redb does not reuse
/// the pages it reads until it is dropped.
struct RedbSnapshot {
    tx: ReadTransaction,
    tables: Vec<Table>,
}

impl Snapshot for RedbSnapshot {
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>> {
        if !self.tables.contains(&table) {
            return Err(not_in_snapshot(table));
        }
        let t = self.tx.open_table(def(table)).map_err(store_err)?;
        Ok(t.get(key).map_err(store_err)?.map(|v| v.value().to_vec()))
    }
}
