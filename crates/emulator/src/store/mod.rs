//! Key-value storage shared by the emulators (Blob, EventGrid and Cosmos DB): memory by
//! default, redb with a data directory.
//!
//! The emulators keep all their state as `(table, key) -> bytes`. Every mutation is a list of
//! [`Op`]s committed atomically by [`Store::commit`], so the service logic is the same for both
//! back-ends and a multi-step change (say, committing a block list and dropping the staged
//! blocks) is all-or-nothing. A [`Snapshot`] reads tables as they were when it was taken, so a
//! long read (a Get Blob streaming a large blob part by part) sees one consistent state while
//! writes go on.

mod memory;
mod redb_store;

pub use memory::MemoryStore;
pub use redb_store::RedbStore;

use std::sync::Arc;

use crate::{Error, Result};

/// The tables the emulators use.
///
/// ```
/// assert_eq!(emulator::store::Table::Blobs.name(), "blobs");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Blob containers, key `account/container`.
    Containers,
    /// Blob properties, key `account/container/blob`.
    Blobs,
    /// Blob contents, key `account/container/blob`.
    BlobData,
    /// Staged (uncommitted) blocks, key `account/container/blob\0blockid`.
    Blocks,
    /// EventGrid subscriptions added at runtime, key `topic/name`.
    Subscriptions,
    /// EventGrid dead letters, key `topic/sequence`.
    DeadLetters,
    /// EventGrid events accepted but not yet delivered or dead-lettered, key
    /// `topic/subscription/sequence`.
    PendingDeliveries,
    /// Cosmos DB databases, containers and items (keys chosen by `crate::cosmos`).
    Cosmos,
}

impl Table {
    /// All tables.
    ///
    /// ```
    /// assert_eq!(emulator::store::Table::ALL.len(), 8);
    /// ```
    pub const ALL: [Table; 8] = [
        Table::Containers,
        Table::Blobs,
        Table::BlobData,
        Table::Blocks,
        Table::Subscriptions,
        Table::DeadLetters,
        Table::PendingDeliveries,
        Table::Cosmos,
    ];

    /// The table's stable name (also the redb table name).
    ///
    /// ```
    /// assert_eq!(emulator::store::Table::DeadLetters.name(), "dead_letters");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Table::Containers => "containers",
            Table::Blobs => "blobs",
            Table::BlobData => "blob_data",
            Table::Blocks => "blocks",
            Table::Subscriptions => "subscriptions",
            Table::DeadLetters => "dead_letters",
            Table::PendingDeliveries => "pending_deliveries",
            Table::Cosmos => "cosmos_kv",
        }
    }
}

/// One change inside an atomic commit.
///
/// ```
/// use emulator::store::{Op, Table};
/// let op = Op::Put { table: Table::Blobs, key: "a/c/b".into(), value: b"{}".to_vec() };
/// assert!(matches!(op, Op::Put { .. }));
/// ```
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert or replace a value.
    Put {
        /// Table.
        table: Table,
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
    },
    /// Remove a key (no error when missing).
    Delete {
        /// Table.
        table: Table,
        /// Key.
        key: String,
    },
    /// Remove every key that starts with `prefix`.
    DeletePrefix {
        /// Table.
        table: Table,
        /// Prefix.
        prefix: String,
    },
}

/// A transactional key-value store.
///
/// ```
/// use emulator::store::{MemoryStore, Op, Store, Table};
/// let s = MemoryStore::new();
/// s.commit(vec![Op::Put { table: Table::Blobs, key: "k".into(), value: vec![1] }]).unwrap();
/// assert_eq!(s.get(Table::Blobs, "k").unwrap(), Some(vec![1]));
/// ```
pub trait Store: Send + Sync + 'static {
    /// Read one value.
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>>;
    /// All entries whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;
    /// How many keys start with `prefix` (the default reads them all; the built-in stores
    /// count without copying values).
    fn count_prefix(&self, table: Table, prefix: &str) -> Result<usize> {
        Ok(self.scan_prefix(table, prefix)?.len())
    }
    /// Apply all `ops` atomically and durably (for a persistent store, on disk before returning).
    fn commit(&self, ops: Vec<Op>) -> Result<()>;
    /// A consistent read-only view of `tables` as they are now: commits made later do not change
    /// what it reads. Reading a table not listed is an error. While a snapshot lives, the store
    /// keeps what it sees: redb does not reuse the pages of its read transaction, the memory
    /// store keeps the listed tables' values (a commit to one of those tables then copies that
    /// table's keys, never its values).
    ///
    /// ```
    /// use emulator::store::{MemoryStore, Op, Store, Table};
    /// let s = MemoryStore::new();
    /// let put = |v: u8| Op::Put { table: Table::BlobData, key: "k".into(), value: vec![v] };
    /// s.commit(vec![put(1)]).unwrap();
    /// let snap = s.snapshot(&[Table::BlobData]).unwrap();
    /// s.commit(vec![put(2)]).unwrap();
    /// assert_eq!(snap.get(Table::BlobData, "k").unwrap(), Some(vec![1]), "as it was");
    /// assert_eq!(s.get(Table::BlobData, "k").unwrap(), Some(vec![2]));
    /// assert!(snap.get(Table::Blobs, "k").is_err(), "not a table of the snapshot");
    /// ```
    fn snapshot(&self, tables: &[Table]) -> Result<Box<dyn Snapshot>>;

    /// Whether every call only touches memory (no disk, no lock held across I/O): then
    /// [`StoreHandle`] makes the calls that copy no blob bytes on the request's own task
    /// instead of tokio's blocking pool, which saves a thread hand-off per call. The default,
    /// `false`, is the safe answer.
    ///
    /// ```
    /// use emulator::store::{MemoryStore, Store};
    /// assert!(MemoryStore::new().in_memory());
    /// ```
    fn in_memory(&self) -> bool {
        false
    }
}

/// A consistent read-only view of some tables of a [`Store`], as they were when
/// [`Store::snapshot`] took it.
///
/// ```
/// use emulator::store::{Op, RedbStore, Snapshot, Store, Table};
/// let dir = tempfile::tempdir().unwrap();
/// let s = RedbStore::open_dir(dir.path()).unwrap();
/// s.commit(vec![Op::Put { table: Table::Blobs, key: "b".into(), value: b"old".to_vec() }]).unwrap();
/// let snap: Box<dyn Snapshot> = s.snapshot(&[Table::Blobs]).unwrap();
/// s.commit(vec![Op::Delete { table: Table::Blobs, key: "b".into() }]).unwrap();
/// assert_eq!(snap.get(Table::Blobs, "b").unwrap(), Some(b"old".to_vec()));
/// assert_eq!(s.get(Table::Blobs, "b").unwrap(), None);
/// ```
pub trait Snapshot: Send + Sync + 'static {
    /// Read one value as it was when the snapshot was taken.
    fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>>;
}

/// The error of reading a table a snapshot was not taken of.
fn not_in_snapshot(table: Table) -> Error {
    Error::Store(format!(
        "table `{}` is not part of this snapshot",
        table.name()
    ))
}

/// Async access to a [`Store`]: calls run on tokio's blocking pool so disk I/O never stalls
/// the servers.
///
/// ```
/// # #[tokio::main] async fn main() -> emulator::Result<()> {
/// let s = emulator::store::StoreHandle::memory();
/// assert_eq!(s.get(emulator::store::Table::Blobs, "nope").await?, None);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StoreHandle(Arc<dyn Store>);

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreHandle")
    }
}

impl StoreHandle {
    /// Wrap a store.
    ///
    /// ```
    /// use emulator::store::{MemoryStore, Op, Store, StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> emulator::Result<()> {
    /// let store = std::sync::Arc::new(MemoryStore::new());
    /// let handle = StoreHandle::new(store.clone());
    /// handle.commit(vec![Op::Put { table: Table::Containers, key: "a/c".into(), value: vec![] }]).await?;
    /// // The handle and the store share the data.
    /// assert_eq!(store.get(Table::Containers, "a/c")?, Some(vec![]));
    /// # Ok(()) }
    /// ```
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self(store)
    }

    /// A fresh in-memory store, empty, lost when the last handle is dropped (see [`StoreHandle`]).
    pub fn memory() -> Self {
        Self(Arc::new(MemoryStore::new()))
    }

    /// Open (or create) `<dir>/emulator.redb`.
    ///
    /// ```
    /// use emulator::store::{Op, StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let put = Op::Put { table: Table::Blobs, key: "a/c/b".into(), value: b"v".to_vec() };
    /// StoreHandle::open_dir(dir.path())?.commit(vec![put]).await?;
    /// // Reopened: the committed value is still there.
    /// let reopened = StoreHandle::open_dir(dir.path())?;
    /// assert_eq!(reopened.get(Table::Blobs, "a/c/b").await?, Some(b"v".to_vec()));
    /// # Ok(()) }
    /// ```
    pub fn open_dir(dir: &std::path::Path) -> Result<Self> {
        Ok(Self(Arc::new(RedbStore::open_dir(dir)?)))
    }

    /// Runs `f` on tokio's blocking pool, or on this task when the store only touches memory
    /// and the call is `small` (no blob bytes to copy: a part can be hundreds of MiB, and
    /// copying it must not hold up the other requests of this worker).
    async fn blocking<T, F>(&self, small: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    {
        if small && self.0.in_memory() {
            return f(self.0.as_ref());
        }
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| Error::Store(format!("store task failed: {e}")))?
    }

    /// See [`Store::get`].
    ///
    /// ```
    /// use emulator::store::{Op, StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> emulator::Result<()> {
    /// let s = StoreHandle::memory();
    /// s.commit(vec![Op::Put { table: Table::Blobs, key: "k".into(), value: vec![7] }]).await?;
    /// assert_eq!(s.get(Table::Blobs, "k").await?, Some(vec![7]));
    /// assert_eq!(s.get(Table::BlobData, "k").await?, None); // tables are separate
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_owned();
        self.blocking(table != Table::BlobData, move |s| s.get(table, &key))
            .await
    }

    /// See [`Store::scan_prefix`].
    ///
    /// ```
    /// use emulator::store::{Op, StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> emulator::Result<()> {
    /// let s = StoreHandle::memory();
    /// let put = |key: &str| Op::Put { table: Table::Blobs, key: key.into(), value: vec![] };
    /// s.commit(vec![put("a/2"), put("b/1"), put("a/1")]).await?;
    /// let keys: Vec<String> = s.scan_prefix(Table::Blobs, "a/").await?.into_iter().map(|(k, _)| k).collect();
    /// assert_eq!(keys, ["a/1", "a/2"]);
    /// # Ok(()) }
    /// ```
    pub async fn scan_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let prefix = prefix.to_owned();
        self.blocking(table != Table::BlobData, move |s| {
            s.scan_prefix(table, &prefix)
        })
        .await
    }

    /// See [`Store::count_prefix`].
    ///
    /// ```
    /// use emulator::store::{Op, StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> emulator::Result<()> {
    /// let s = StoreHandle::memory();
    /// let put = |key: &str| Op::Put { table: Table::Blocks, key: key.into(), value: vec![0; 8] };
    /// s.commit(vec![put("b\u{0}1"), put("b\u{0}2"), put("c\u{0}1")]).await?;
    /// assert_eq!(s.count_prefix(Table::Blocks, "b\u{0}").await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn count_prefix(&self, table: Table, prefix: &str) -> Result<usize> {
        let prefix = prefix.to_owned();
        self.blocking(true, move |s| s.count_prefix(table, &prefix))
            .await
    }

    /// See [`Store::commit`].
    ///
    /// ```
    /// use emulator::store::{Op, StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> emulator::Result<()> {
    /// let s = StoreHandle::memory();
    /// s.commit(vec![
    ///     Op::Put { table: Table::Blobs, key: "c/x".into(), value: vec![1] },
    ///     Op::Put { table: Table::Blobs, key: "c/y".into(), value: vec![2] },
    /// ]).await?;
    /// s.commit(vec![Op::DeletePrefix { table: Table::Blobs, prefix: "c/".into() }]).await?;
    /// assert!(s.scan_prefix(Table::Blobs, "c/").await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn commit(&self, ops: Vec<Op>) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let small = ops.iter().all(|op| match op {
            Op::Put { value, .. } => value.len() <= INLINE_VALUE_BYTES,
            _ => true,
        });
        self.blocking(small, move |s| s.commit(ops)).await
    }

    /// See [`Store::snapshot`]; the snapshot's reads run on the blocking pool too.
    ///
    /// ```
    /// use emulator::store::{Op, StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> emulator::Result<()> {
    /// let s = StoreHandle::memory();
    /// s.commit(vec![Op::Put { table: Table::BlobData, key: "p".into(), value: vec![1; 4] }]).await?;
    /// let snap = s.snapshot(&[Table::BlobData]).await?;
    /// s.commit(vec![Op::Delete { table: Table::BlobData, key: "p".into() }]).await?;
    /// assert_eq!(snap.get(Table::BlobData, "p").await?, Some(vec![1; 4]));
    /// assert_eq!(s.get(Table::BlobData, "p").await?, None);
    /// # Ok(()) }
    /// ```
    pub async fn snapshot(&self, tables: &[Table]) -> Result<SnapshotHandle> {
        let tables = tables.to_vec();
        let snap = self.blocking(true, move |s| s.snapshot(&tables)).await?;
        Ok(SnapshotHandle(Arc::from(snap), self.0.in_memory()))
    }
}

/// Largest value a commit may write on the request's own task (memory store only).
const INLINE_VALUE_BYTES: usize = 64 * 1024;

/// Async access to a [`Snapshot`] (from [`StoreHandle::snapshot`]); clones share it, and the
/// store keeps what it sees until the last clone is dropped.
///
/// ```
/// use emulator::store::{Op, StoreHandle, Table};
/// # #[tokio::main] async fn main() -> emulator::Result<()> {
/// let s = StoreHandle::memory();
/// let put = |v: &[u8]| Op::Put { table: Table::Blobs, key: "b".into(), value: v.to_vec() };
/// s.commit(vec![put(b"v1")]).await?;
/// let snap = s.snapshot(&[Table::Blobs]).await?;
/// let same = snap.clone();
/// s.commit(vec![put(b"v2")]).await?;
/// drop(snap);
/// assert_eq!(same.get(Table::Blobs, "b").await?, Some(b"v1".to_vec()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SnapshotHandle(Arc<dyn Snapshot>, bool);

impl std::fmt::Debug for SnapshotHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapshotHandle")
    }
}

impl SnapshotHandle {
    /// See [`Snapshot::get`].
    ///
    /// ```
    /// use emulator::store::{StoreHandle, Table};
    /// # #[tokio::main] async fn main() -> emulator::Result<()> {
    /// let snap = StoreHandle::memory().snapshot(&[Table::Blobs]).await?;
    /// assert_eq!(snap.get(Table::Blobs, "nope").await?, None);
    /// let err = snap.get(Table::Containers, "a/c").await.unwrap_err();
    /// assert!(err.to_string().contains("not part of this snapshot"), "{err}");
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>> {
        if self.1 && table != Table::BlobData {
            // A snapshot of a store that only touches memory, and no blob bytes to copy.
            return self.0.get(table, key);
        }
        let snap = self.0.clone();
        let key = key.to_owned();
        tokio::task::spawn_blocking(move || snap.get(table, &key))
            .await
            .map_err(|e| Error::Store(format!("store task failed: {e}")))?
    }
}
