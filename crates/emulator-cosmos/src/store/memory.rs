//! In-memory storage (the default).

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{Storage, Write};
use crate::Error;

/// A `BTreeMap` behind a lock.
#[derive(Debug, Default)]
pub(crate) struct MemoryStore {
    map: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl Storage for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(key).cloned())
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), Error> {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        for w in writes {
            match w {
                Write::Put(k, v) => {
                    map.insert(k, v);
                }
                Write::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_is_prefix_bounded_and_ordered() {
        let s = MemoryStore::default();
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
        assert_eq!(keys, vec!["a\x1fa".to_string(), "a\x1fb".to_string()]);
        s.commit(vec![Write::Delete("b".into())]).expect("delete");
        assert_eq!(s.get("b").expect("get"), None);
    }
}
