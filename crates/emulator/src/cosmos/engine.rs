//! Resource logic (databases, containers, items) on top of a [`Storage`].

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::cosmos::api_error::ApiError;
use crate::cosmos::partition::{pk_key, PartitionKeyDef};
use crate::cosmos::store::{Storage, Write};

const SEP: char = '\x1f';
const SEQ_KEY: &str = "m\x1fseq";

fn db_key(db: &str) -> String {
    format!("d{SEP}{db}")
}
fn coll_prefix(db: &str) -> String {
    format!("c{SEP}{db}{SEP}")
}
fn coll_key(db: &str, coll: &str) -> String {
    format!("c{SEP}{db}{SEP}{coll}")
}
fn doc_prefix(db: &str, coll: &str) -> String {
    format!("i{SEP}{db}{SEP}{coll}{SEP}")
}
fn doc_key(db: &str, coll: &str, pk: &str, id: &str) -> String {
    format!("i{SEP}{db}{SEP}{coll}{SEP}{pk}{SEP}{id}")
}

/// Result of a write: the stored resource and the session LSN it got.
#[derive(Debug)]
pub(crate) struct Written {
    pub resource: Value,
    pub lsn: u64,
    pub created: bool,
}

/// A container as the request handlers need it.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub rid: String,
    pub pk: PartitionKeyDef,
    pub resource: Value,
}

/// The resource engine. Writes are serialised by one lock; each is one atomic storage batch.
pub(crate) struct Engine {
    store: Storage,
    write_lock: Mutex<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Cosmos resource ids are base64 with `/` replaced by `-`.
fn rid(bytes: &[u8]) -> String {
    B64.encode(bytes).replace('/', "-")
}

fn rid_bytes(rid: &str) -> Vec<u8> {
    B64.decode(rid.replace('-', "/")).unwrap_or_default()
}

fn etag(seq: u64) -> String {
    format!(
        "\"{:08x}-0000-0000-0000-{:012x}\"",
        (seq >> 48) as u32,
        seq & 0xffff_ffff_ffff
    )
}

fn decode(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::from(crate::cosmos::Error::Corrupt(e.to_string())))
}

fn encode(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Checks a database, container or item id.
pub(crate) fn validate_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.chars().count() > 255 {
        return Err(ApiError::bad_request(
            "The id must be between 1 and 255 characters long.",
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| matches!(c, '/' | '\\' | '?' | '#') || c.is_control())
    {
        return Err(ApiError::bad_request(format!(
            "The id contains the invalid character {c:?}; ids cannot contain '/', '\\', '?', '#' or control characters."
        )));
    }
    if id.ends_with(' ') {
        return Err(ApiError::bad_request("The id cannot end with a space."));
    }
    Ok(())
}

fn body_id(body: &Value) -> Result<String, ApiError> {
    match body.get("id") {
        Some(Value::String(s)) => {
            validate_id(s)?;
            Ok(s.clone())
        }
        Some(_) => Err(ApiError::bad_request("The 'id' property must be a string.")),
        None => Err(ApiError::bad_request(
            "The input content is invalid because the required properties - 'id; ' - are missing.",
        )),
    }
}

fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        )),
    }
}

fn strip_system(m: &mut Map<String, Value>) {
    for k in ["_rid", "_self", "_etag", "_ts", "_attachments"] {
        m.remove(k);
    }
}

/// Whether an `If-Match` / `If-None-Match` value matches `etag` (`*` matches anything).
pub(crate) fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|h| h == "*" || h == etag || h.trim_matches('"') == etag.trim_matches('"'))
}

impl Engine {
    pub(crate) fn new(store: Storage) -> Engine {
        Engine {
            store,
            write_lock: Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.write_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Current sequence number (the global LSN).
    pub(crate) fn lsn(&self) -> Result<u64, ApiError> {
        Ok(self
            .store
            .get(SEQ_KEY)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0))
    }

    /// Next sequence number plus the write that persists it.
    fn next_seq(&self) -> Result<(u64, Write), ApiError> {
        let n = self.lsn()? + 1;
        Ok((n, Write::Put(SEQ_KEY.to_string(), n.to_le_bytes().to_vec())))
    }

    // ---------------------------------------------------------------- databases

    pub(crate) fn create_database(&self, body: Value) -> Result<Written, ApiError> {
        let mut m = object(body)?;
        let id = body_id(&Value::Object(m.clone()))?;
        let _g = self.lock();
        if self.store.get(&db_key(&id))?.is_some() {
            return Err(ApiError::conflict(&format!("database '{id}'")));
        }
        let (seq, seq_write) = self.next_seq()?;
        let r = rid(&(seq as u32).to_le_bytes());
        strip_system(&mut m);
        m.insert("_rid".into(), json!(r));
        m.insert("_self".into(), json!(format!("dbs/{r}/")));
        m.insert("_etag".into(), json!(etag(seq)));
        m.insert("_colls".into(), json!("colls/"));
        m.insert("_users".into(), json!("users/"));
        m.insert("_ts".into(), json!(now_secs()));
        let v = Value::Object(m);
        self.store
            .commit(vec![seq_write, Write::Put(db_key(&id), encode(&v))])?;
        Ok(Written {
            resource: v,
            lsn: seq,
            created: true,
        })
    }

    pub(crate) fn get_database(&self, db: &str) -> Result<Value, ApiError> {
        match self.store.get(&db_key(db))? {
            Some(b) => decode(&b),
            None => Err(ApiError::not_found(&format!("database '{db}'"))),
        }
    }

    fn require_database(&self, db: &str) -> Result<Value, ApiError> {
        match self.store.get(&db_key(db))? {
            Some(b) => decode(&b),
            None => Err(ApiError::owner_not_found(&format!("database '{db}'"))),
        }
    }

    pub(crate) fn list_databases(&self) -> Result<Vec<Value>, ApiError> {
        self.store
            .scan(&format!("d{SEP}"))?
            .iter()
            .map(|(_, v)| decode(v))
            .collect()
    }

    pub(crate) fn delete_database(&self, db: &str) -> Result<u64, ApiError> {
        let _g = self.lock();
        self.get_database(db)?;
        let (seq, seq_write) = self.next_seq()?;
        let mut writes = vec![seq_write, Write::Delete(db_key(db))];
        for (k, _) in self.store.scan(&coll_prefix(db))? {
            writes.push(Write::Delete(k));
        }
        for (k, _) in self.store.scan(&format!("i{SEP}{db}{SEP}"))? {
            writes.push(Write::Delete(k));
        }
        self.store.commit(writes)?;
        Ok(seq)
    }

    // ---------------------------------------------------------------- containers

    pub(crate) fn create_collection(&self, db: &str, body: Value) -> Result<Written, ApiError> {
        let mut m = object(body)?;
        let id = body_id(&Value::Object(m.clone()))?;
        let pk = PartitionKeyDef::from_resource(m.get("partitionKey"))?;
        let _g = self.lock();
        let dbv = self.require_database(db)?;
        if self.store.get(&coll_key(db, &id))?.is_some() {
            return Err(ApiError::conflict(&format!("container '{id}'")));
        }
        let (seq, seq_write) = self.next_seq()?;
        let db_rid = dbv.get("_rid").and_then(Value::as_str).unwrap_or_default();
        let mut bytes = rid_bytes(db_rid);
        bytes.truncate(4);
        // The top bit of the fifth byte marks a collection in real rids; keep it clear of zero.
        bytes.extend_from_slice(&((seq as u32) | 0x8000_0000).to_be_bytes());
        let r = rid(&bytes);
        strip_system(&mut m);
        m.entry("indexingPolicy").or_insert_with(|| {
            json!({
                "indexingMode": "consistent",
                "automatic": true,
                "includedPaths": [{"path": "/*"}],
                "excludedPaths": [{"path": "/\"_etag\"/?"}]
            })
        });
        if let Some(def) = pk.resource() {
            m.insert("partitionKey".into(), def);
        }
        m.entry("conflictResolutionPolicy").or_insert_with(|| {
            json!({"mode": "LastWriterWins", "conflictResolutionPath": "/_ts", "conflictResolutionProcedure": ""})
        });
        m.entry("geospatialConfig")
            .or_insert_with(|| json!({"type": "Geography"}));
        m.insert("_rid".into(), json!(r));
        m.insert("_self".into(), json!(format!("dbs/{db_rid}/colls/{r}/")));
        m.insert("_etag".into(), json!(etag(seq)));
        m.insert("_ts".into(), json!(now_secs()));
        for (k, v) in [
            ("_docs", "docs/"),
            ("_sprocs", "sprocs/"),
            ("_triggers", "triggers/"),
            ("_udfs", "udfs/"),
            ("_conflicts", "conflicts/"),
        ] {
            m.insert(k.into(), json!(v));
        }
        let v = Value::Object(m);
        self.store
            .commit(vec![seq_write, Write::Put(coll_key(db, &id), encode(&v))])?;
        Ok(Written {
            resource: v,
            lsn: seq,
            created: true,
        })
    }

    pub(crate) fn get_collection(&self, db: &str, coll: &str) -> Result<Value, ApiError> {
        self.require_database(db)?;
        match self.store.get(&coll_key(db, coll))? {
            Some(b) => decode(&b),
            None => Err(ApiError::not_found(&format!("container '{coll}'"))),
        }
    }

    /// The container that owns items (404 with substatus 1003 if it does not exist).
    pub(crate) fn container(&self, db: &str, coll: &str) -> Result<Container, ApiError> {
        let v = self.get_collection(db, coll).map_err(|mut e| {
            if e.status == http::StatusCode::NOT_FOUND {
                e.substatus = Some(1003);
            }
            e
        })?;
        Ok(Container {
            rid: v
                .get("_rid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            pk: PartitionKeyDef::from_resource(v.get("partitionKey"))?,
            resource: v,
        })
    }

    pub(crate) fn list_collections(&self, db: &str) -> Result<Vec<Value>, ApiError> {
        self.require_database(db)?;
        self.store
            .scan(&coll_prefix(db))?
            .iter()
            .map(|(_, v)| decode(v))
            .collect()
    }

    pub(crate) fn delete_collection(&self, db: &str, coll: &str) -> Result<u64, ApiError> {
        let _g = self.lock();
        self.get_collection(db, coll)?;
        let (seq, seq_write) = self.next_seq()?;
        let mut writes = vec![seq_write, Write::Delete(coll_key(db, coll))];
        for (k, _) in self.store.scan(&doc_prefix(db, coll))? {
            writes.push(Write::Delete(k));
        }
        self.store.commit(writes)?;
        Ok(seq)
    }

    // ---------------------------------------------------------------- items

    /// Resolves the partition key of a write: from the document, checked against the header.
    fn write_pk(c: &Container, doc: &Value, header: Option<&[Value]>) -> Result<String, ApiError> {
        let from_doc = c.pk.extract(doc);
        if let Some(h) = header {
            if !c.pk.is_empty() && pk_key(&c.pk.normalize_header(h)) != pk_key(&from_doc) {
                return Err(ApiError::bad_request(
                    "PartitionKey extracted from document doesn't match the one specified in the header.",
                )
                .with_substatus(1001));
            }
        }
        Ok(pk_key(&from_doc))
    }

    /// Resolves the partition key of a point operation from the header.
    fn point_pk(c: &Container, header: Option<&[Value]>) -> Result<String, ApiError> {
        if c.pk.is_empty() {
            return Ok(pk_key(&[]));
        }
        let Some(h) = header else {
            return Err(ApiError::bad_request(
                "PartitionKey value must be supplied for this operation: set the x-ms-documentdb-partitionkey header to a JSON array such as [\"value\"].",
            ));
        };
        let h = c.pk.normalize_header(h);
        if h.len() != c.pk.len() {
            return Err(ApiError::bad_request(format!(
                "The partition key has {} components but the container defines {}.",
                h.len(),
                c.pk.len()
            ))
            .with_substatus(1001));
        }
        Ok(pk_key(&h))
    }

    fn stamp(c: &Container, mut m: Map<String, Value>, seq: u64, doc_rid: &str) -> Value {
        strip_system(&mut m);
        let coll_rid_bytes = rid_bytes(&c.rid);
        let db_rid = rid(&coll_rid_bytes[..coll_rid_bytes.len().min(4)]);
        m.insert("_rid".into(), json!(doc_rid));
        m.insert(
            "_self".into(),
            json!(format!("dbs/{db_rid}/colls/{}/docs/{doc_rid}/", c.rid)),
        );
        m.insert("_etag".into(), json!(etag(seq)));
        m.insert("_attachments".into(), json!("attachments/"));
        m.insert("_ts".into(), json!(now_secs()));
        Value::Object(m)
    }

    fn new_doc_rid(c: &Container, seq: u64) -> String {
        let mut bytes = rid_bytes(&c.rid);
        bytes.truncate(8);
        bytes.extend_from_slice(&seq.to_le_bytes());
        rid(&bytes)
    }

    /// Create (or, with `upsert`, create-or-replace) an item.
    pub(crate) fn create_doc(
        &self,
        db: &str,
        coll: &str,
        body: Value,
        pk_header: Option<&[Value]>,
        upsert: bool,
        if_match: Option<&str>,
    ) -> Result<Written, ApiError> {
        let c = self.container(db, coll)?;
        let m = object(body)?;
        let doc = Value::Object(m.clone());
        let id = body_id(&doc)?;
        let pk = Self::write_pk(&c, &doc, pk_header)?;
        let key = doc_key(db, coll, &pk, &id);
        let _g = self.lock();
        let existing = match self.store.get(&key)? {
            Some(b) => Some(decode(&b)?),
            None => None,
        };
        let doc_rid = match &existing {
            Some(old) if upsert => {
                if let Some(h) = if_match {
                    let old_etag = old.get("_etag").and_then(Value::as_str).unwrap_or_default();
                    if !etag_matches(h, old_etag) {
                        return Err(ApiError::precondition_failed());
                    }
                }
                old.get("_rid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            }
            Some(_) => return Err(ApiError::conflict(&format!("item '{id}'"))),
            None => String::new(),
        };
        let (seq, seq_write) = self.next_seq()?;
        let doc_rid = if doc_rid.is_empty() {
            Self::new_doc_rid(&c, seq)
        } else {
            doc_rid
        };
        let v = Self::stamp(&c, m, seq, &doc_rid);
        self.store
            .commit(vec![seq_write, Write::Put(key, encode(&v))])?;
        Ok(Written {
            resource: v,
            lsn: seq,
            created: existing.is_none(),
        })
    }

    pub(crate) fn read_doc(
        &self,
        db: &str,
        coll: &str,
        id: &str,
        pk_header: Option<&[Value]>,
    ) -> Result<Value, ApiError> {
        let c = self.container(db, coll)?;
        let pk = Self::point_pk(&c, pk_header)?;
        match self.store.get(&doc_key(db, coll, &pk, id))? {
            Some(b) => decode(&b),
            None => Err(ApiError::not_found(&format!("item '{id}'"))),
        }
    }

    pub(crate) fn replace_doc(
        &self,
        db: &str,
        coll: &str,
        id: &str,
        body: Value,
        pk_header: Option<&[Value]>,
        if_match: Option<&str>,
    ) -> Result<Written, ApiError> {
        let c = self.container(db, coll)?;
        let m = object(body)?;
        let doc = Value::Object(m.clone());
        let body_id = body_id(&doc)?;
        if body_id != id {
            return Err(ApiError::bad_request(format!(
                "The id in the body ('{body_id}') must match the id in the URL ('{id}')."
            )));
        }
        let pk = Self::point_pk(&c, pk_header)?;
        if Self::write_pk(&c, &doc, None)? != pk {
            return Err(ApiError::bad_request(
                "PartitionKey extracted from document doesn't match the one specified in the header.",
            )
            .with_substatus(1001));
        }
        let key = doc_key(db, coll, &pk, id);
        let _g = self.lock();
        let Some(old) = self.store.get(&key)? else {
            return Err(ApiError::not_found(&format!("item '{id}'")));
        };
        let old = decode(&old)?;
        if let Some(h) = if_match {
            let old_etag = old.get("_etag").and_then(Value::as_str).unwrap_or_default();
            if !etag_matches(h, old_etag) {
                return Err(ApiError::precondition_failed());
            }
        }
        let (seq, seq_write) = self.next_seq()?;
        let doc_rid = old.get("_rid").and_then(Value::as_str).unwrap_or_default();
        let v = Self::stamp(&c, m, seq, doc_rid);
        self.store
            .commit(vec![seq_write, Write::Put(key, encode(&v))])?;
        Ok(Written {
            resource: v,
            lsn: seq,
            created: false,
        })
    }

    pub(crate) fn delete_doc(
        &self,
        db: &str,
        coll: &str,
        id: &str,
        pk_header: Option<&[Value]>,
        if_match: Option<&str>,
    ) -> Result<u64, ApiError> {
        let c = self.container(db, coll)?;
        let pk = Self::point_pk(&c, pk_header)?;
        let key = doc_key(db, coll, &pk, id);
        let _g = self.lock();
        let Some(old) = self.store.get(&key)? else {
            return Err(ApiError::not_found(&format!("item '{id}'")));
        };
        if let Some(h) = if_match {
            let old = decode(&old)?;
            let old_etag = old.get("_etag").and_then(Value::as_str).unwrap_or_default();
            if !etag_matches(h, old_etag) {
                return Err(ApiError::precondition_failed());
            }
        }
        let (seq, seq_write) = self.next_seq()?;
        self.store.commit(vec![seq_write, Write::Delete(key)])?;
        Ok(seq)
    }

    /// Every item of a container, optionally only those whose partition key starts with
    /// `pk_prefix`, in storage order.
    pub(crate) fn docs(
        &self,
        db: &str,
        coll: &str,
        c: &Container,
        pk_prefix: Option<&[Value]>,
    ) -> Result<Vec<Value>, ApiError> {
        let normalized = match pk_prefix {
            Some(p) if !c.pk.is_empty() => Some(c.pk.normalize_header(p)),
            _ => None,
        };
        let pk_prefix = normalized.as_deref();
        let prefix = match pk_prefix {
            Some(p) if p.len() == c.pk.len() && !p.is_empty() => {
                format!("{}{}{SEP}", doc_prefix(db, coll), pk_key(p))
            }
            _ => doc_prefix(db, coll),
        };
        let mut out = Vec::new();
        for (_, v) in self.store.scan(&prefix)? {
            let doc = decode(&v)?;
            if let Some(p) = pk_prefix {
                if p.len() < c.pk.len() {
                    let full = c.pk.extract(&doc);
                    if pk_key(&full[..p.len()]) != pk_key(p) {
                        continue;
                    }
                }
            }
            out.push(doc);
        }
        Ok(out)
    }
}
