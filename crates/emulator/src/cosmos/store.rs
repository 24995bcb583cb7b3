//! Cosmos DB's view of the shared store ([`crate::store`]): its records live in one table,
//! [`Table::Cosmos`], so the memory and redb back ends, atomic commits and durability are the
//! same code as Blob's and EventGrid's.

use std::sync::Arc;

use crate::cosmos::Error;
use crate::store::{Op, Store, Table};

/// One change inside an atomic batch.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// Insert or overwrite a key.
    Put(String, Vec<u8>),
    /// Remove a key (no error if absent).
    Delete(String),
}

/// The Cosmos table of a shared [`Store`].
#[derive(Clone)]
pub(crate) struct Storage(Arc<dyn Store>);

fn storage_error(e: crate::Error) -> Error {
    Error::Storage(e.to_string())
}

impl Storage {
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self(store)
    }

    /// Reads one key.
    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.0.get(Table::Cosmos, key).map_err(storage_error)
    }

    /// Every key starting with `prefix`, in key order.
    pub(crate) fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, Error> {
        self.0
            .scan_prefix(Table::Cosmos, prefix)
            .map_err(storage_error)
    }

    /// Applies all writes or none; durable when this returns `Ok` (for a persistent store).
    pub(crate) fn commit(&self, writes: Vec<Write>) -> Result<(), Error> {
        let ops = writes
            .into_iter()
            .map(|w| match w {
                Write::Put(key, value) => Op::Put {
                    table: Table::Cosmos,
                    key,
                    value,
                },
                Write::Delete(key) => Op::Delete {
                    table: Table::Cosmos,
                    key,
                },
            })
            .collect();
        self.0.commit(ops).map_err(storage_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn cosmos_records_live_in_their_own_table() {
        let shared: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let s = Storage::new(shared.clone());
        s.commit(vec![
            Write::Put("a\x1fb".into(), b"1".to_vec()),
            Write::Put("a\x1fa".into(), b"2".to_vec()),
            Write::Put("b".into(), b"3".to_vec()),
        ])
        .expect("commit");
        let keys: Vec<String> = s
            .scan("a\x1f")
            .expect("scan")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["a\x1fa", "a\x1fb"]);
        s.commit(vec![Write::Delete("b".into())]).expect("delete");
        assert_eq!(s.get("b").expect("get"), None);
        assert!(shared.scan_prefix(Table::Blobs, "").unwrap().is_empty());
        assert_eq!(shared.scan_prefix(Table::Cosmos, "").unwrap().len(), 2);
    }
}
