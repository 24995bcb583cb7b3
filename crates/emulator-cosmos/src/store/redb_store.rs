//! Persistent storage in one redb file (`cosmos.redb` inside the data directory).
//!
//! redb is a pure-Rust, ACID, copy-on-write B-tree store: a committed write transaction is
//! fsynced before `commit` returns, and a crash (even `kill -9`) leaves the file at the last
//! committed transaction. No C toolchain or system library is needed.

use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition};

use super::{Storage, Write};
use crate::Error;

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("cosmos_kv");

/// A redb database with one key-value table.
pub(crate) struct RedbStore {
    db: Database,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbStore")
    }
}

impl RedbStore {
    /// Opens (or creates) `dir/cosmos.redb`.
    pub(crate) fn open(dir: &Path) -> Result<RedbStore, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::DataDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let db = Database::create(dir.join("cosmos.redb"))?;
        // Make sure the table exists so that readers never see "table does not exist".
        let tx = db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(RedbStore { db })
    }
}

impl Storage for RedbStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        let mut out = Vec::new();
        for entry in table.range(prefix..)? {
            let (k, v) = entry?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), Error> {
        let tx = self.db.begin_write()?;
        {
            let mut table = tx.open_table(TABLE)?;
            for w in &writes {
                match w {
                    Write::Put(k, v) => {
                        table.insert(k.as_str(), v.as_slice())?;
                    }
                    Write::Delete(k) => {
                        table.remove(k.as_str())?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let s = RedbStore::open(dir.path()).expect("open");
            s.commit(vec![
                Write::Put("k1".into(), b"v".to_vec()),
                Write::Put("k2".into(), b"w".to_vec()),
            ])
            .expect("commit");
            s.commit(vec![Write::Delete("k2".into())]).expect("delete");
        }
        let s = RedbStore::open(dir.path()).expect("reopen");
        assert_eq!(s.get("k1").expect("get"), Some(b"v".to_vec()));
        assert_eq!(s.scan("k").expect("scan").len(), 1);
    }
}
