//! A read-only view of what the running emulators hold, for the harness's dashboard: Blob
//! containers and blobs (names, sizes, content types), Cosmos DB databases, containers and
//! documents, EventGrid topics, subscriptions, pending deliveries and dead letters.
//!
//! It never shows a key or a signature: account and topic keys are left out, and a
//! subscription endpoint is shown without its query (where webhook tokens go). Each list is
//! capped so a large store cannot make a huge answer.

mod download;

use std::sync::Arc;

pub(crate) use download::BlobAccess;
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::Value;

use crate::blob::model::{BlobRecord, ContainerRecord};
use crate::cosmos::CosmosState;
use crate::eventgrid::{Core, Pending};
use crate::store::{StoreHandle, Table};

/// Containers listed per account.
pub const MAX_CONTAINERS: usize = 100;
/// Blobs listed per container.
pub const MAX_BLOBS: usize = 200;
/// Documents shown per Cosmos container.
pub const MAX_DOCUMENTS: usize = 50;
/// Pending deliveries and dead letters shown.
pub const MAX_EVENTS: usize = 100;

/// Reads the emulators' state; cheap to clone. Get one from [`crate::Emulators::inspector`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
/// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
/// let snapshot = emus.inspector().snapshot().await;
/// let blob = snapshot.blob.expect("Blob Storage is enabled by default");
/// assert_eq!(blob.accounts[0].name, emulator::DEV_ACCOUNT);
/// assert!(blob.accounts[0].containers.is_empty());
/// let json = serde_json::to_string(&emus.inspector().snapshot().await).unwrap();
/// assert!(!json.contains(emulator::DEV_ACCOUNT_KEY), "no key is shown");
/// emus.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Inspector {
    store: StoreHandle,
    blob: Option<BlobAccess>,
    eventgrid: Option<(Arc<Core>, Vec<String>)>,
    cosmos: Option<Arc<CosmosState>>,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector").finish_non_exhaustive()
    }
}

/// Everything the emulators hold, as far as the caps allow; a disabled emulator is `None`.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Blob Storage.
    pub blob: Option<BlobView>,
    /// Cosmos DB.
    pub cosmos: Option<CosmosView>,
    /// EventGrid.
    pub eventgrid: Option<EventGridView>,
    /// Reading failed for these parts (the message says which and why).
    pub errors: Vec<String>,
}

/// Blob Storage accounts.
#[derive(Debug, Clone, Serialize)]
pub struct BlobView {
    /// Each configured account.
    pub accounts: Vec<AccountView>,
}

/// One storage account's containers.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    /// The account name.
    pub name: String,
    /// Its containers, by name (at most [`MAX_CONTAINERS`]).
    pub containers: Vec<ContainerView>,
}

/// One container and its blobs.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerView {
    /// The container name.
    pub name: String,
    /// Its blobs, by name (at most [`MAX_BLOBS`]).
    pub blobs: Vec<BlobItem>,
    /// Blobs past the cap.
    pub blobs_not_shown: usize,
}

/// One blob's properties.
#[derive(Debug, Clone, Serialize)]
pub struct BlobItem {
    /// The blob name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its content type.
    pub content_type: String,
    /// Last modified, seconds since the Unix epoch.
    pub last_modified: i64,
}

/// Cosmos DB databases.
#[derive(Debug, Clone, Serialize)]
pub struct CosmosView {
    /// Each database with its containers.
    pub databases: Vec<DatabaseView>,
}

/// One Cosmos database.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseView {
    /// The database id.
    pub id: String,
    /// Its containers.
    pub containers: Vec<CollectionView>,
}

/// One Cosmos container and its first documents.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionView {
    /// The container id.
    pub id: String,
    /// The first documents in storage order (at most [`MAX_DOCUMENTS`]).
    pub documents: Vec<Value>,
    /// Documents past the cap.
    pub documents_not_shown: usize,
}

/// EventGrid topics, subscriptions and events.
#[derive(Debug, Clone, Serialize)]
pub struct EventGridView {
    /// Topic names (never their keys).
    pub topics: Vec<String>,
    /// Subscriptions.
    pub subscriptions: Vec<SubscriptionView>,
    /// The last events webhooks accepted (at most 100, kept in memory), oldest first.
    pub delivered: Vec<EventItem>,
    /// Events waiting for (another) delivery attempt, oldest first.
    pub pending: Vec<EventItem>,
    /// Events given up on, oldest first.
    pub dead_letters: Vec<EventItem>,
}

/// One subscription.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionView {
    /// Its name.
    pub name: String,
    /// The topic it listens to.
    pub topic: String,
    /// The webhook, without its query.
    pub endpoint: String,
}

/// One event in delivery or dead-lettered.
#[derive(Debug, Clone, Serialize)]
pub struct EventItem {
    /// The topic.
    pub topic: String,
    /// The subscription.
    pub subscription: String,
    /// Attempts so far (for a delivered event: the attempt that succeeded).
    pub attempts: u32,
    /// Why it was dead-lettered (dead letters only).
    pub reason: Option<String>,
    /// The event as published.
    pub event: Value,
}

impl Inspector {
    pub(crate) fn new(
        store: StoreHandle,
        blob: Option<BlobAccess>,
        eventgrid: Option<(Arc<Core>, Vec<String>)>,
        cosmos: Option<Arc<CosmosState>>,
    ) -> Self {
        Self {
            store,
            blob,
            eventgrid,
            cosmos,
        }
    }

    /// A blob's content as the Blob emulator's Get Blob answers it (status, headers, streamed
    /// body), for a download link; `Ok(None)` when the Blob emulator is off or has no such
    /// account. The request is signed here: the key and signature never reach the caller.
    /// The body streams: the emulator loads a part (4 MiB for Put Blob, a block for Put Block
    /// List) only when the caller has taken the ones before, so a download of any size holds
    /// about two parts; a caller that stops reading holds the connection until the Blob
    /// emulator's `idle_timeout_ms` closes it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
    /// let inspector = emus.inspector();
    /// let missing = inspector.download_blob(emulator::DEV_ACCOUNT, "none", "x.txt").await.unwrap();
    /// assert_eq!(missing.expect("the account exists").status(), 404);
    /// assert!(inspector.download_blob("nobody", "c", "b").await.unwrap().is_none());
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn download_blob(
        &self,
        account: &str,
        container: &str,
        blob: &str,
    ) -> Result<Option<http::Response<Incoming>>, String> {
        match &self.blob {
            Some(access) => access.get(account, container, blob).await,
            None => Ok(None),
        }
    }

    /// What the emulators hold now (`tests/inspect.rs` fills every part and checks it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
    /// let snapshot = emus.inspector().snapshot().await;
    /// assert!(snapshot.errors.is_empty());
    /// assert!(snapshot.cosmos.expect("enabled by default").databases.is_empty());
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn snapshot(&self) -> Snapshot {
        let mut errors = Vec::new();
        let blob = match &self.blob {
            Some(access) => match self.blob(access).await {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(format!("blob: {e}"));
                    None
                }
            },
            None => None,
        };
        let cosmos = self
            .cosmos
            .as_ref()
            .map(|state| cosmos_view(state, &mut errors));
        let eventgrid = match &self.eventgrid {
            Some((core, topics)) => match eventgrid_view(&self.store, core, topics).await {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(format!("eventgrid: {e}"));
                    None
                }
            },
            None => None,
        };
        Snapshot {
            blob,
            cosmos,
            eventgrid,
            errors,
        }
    }

    /// Appends the emulators' request counts (`emulator_requests_total`) in the Prometheus
    /// text format.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
    /// let mut out = String::new();
    /// emus.inspector().render_metrics(&mut out);
    /// assert!(out.contains("# TYPE emulator_requests_total counter"));
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn render_metrics(&self, out: &mut String) {
        crate::server::ops::render_operation_counts(out);
    }

    async fn blob(&self, access: &BlobAccess) -> crate::Result<BlobView> {
        let mut views = Vec::with_capacity(access.keys.len());
        for (account, _) in &access.keys {
            let rows = self
                .store
                .scan_prefix(Table::Containers, &format!("{account}/"))
                .await?;
            let mut containers = Vec::new();
            for (_, value) in rows.into_iter().take(MAX_CONTAINERS) {
                let Ok(c) = serde_json::from_slice::<ContainerRecord>(&value) else {
                    continue;
                };
                let base = format!("{account}/{}/", c.name);
                let blobs = self.store.scan_prefix(Table::Blobs, &base).await?;
                let total = blobs.len();
                let items: Vec<BlobItem> = blobs
                    .into_iter()
                    .take(MAX_BLOBS)
                    .filter_map(|(_, v)| serde_json::from_slice::<BlobRecord>(&v).ok())
                    .map(|b| BlobItem {
                        name: b.name,
                        size: b.size,
                        content_type: b.content_type,
                        last_modified: b.last_modified,
                    })
                    .collect();
                containers.push(ContainerView {
                    name: c.name,
                    blobs_not_shown: total.saturating_sub(MAX_BLOBS),
                    blobs: items,
                });
            }
            views.push(AccountView {
                name: account.clone(),
                containers,
            });
        }
        Ok(BlobView { accounts: views })
    }
}

fn cosmos_view(state: &CosmosState, errors: &mut Vec<String>) -> CosmosView {
    let engine = &state.engine;
    let mut databases = Vec::new();
    let dbs = engine.list_databases().unwrap_or_else(|e| {
        errors.push(format!("cosmos: {e:?}"));
        Vec::new()
    });
    for db in dbs {
        let Some(db_id) = db.get("id").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        let mut containers = Vec::new();
        for coll in engine.list_collections(&db_id).unwrap_or_default() {
            let Some(id) = coll.get("id").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            let docs = engine
                .container(&db_id, &id)
                .and_then(|c| engine.docs(&db_id, &id, &c, None))
                .unwrap_or_default();
            let total = docs.len();
            containers.push(CollectionView {
                id,
                documents: docs.into_iter().take(MAX_DOCUMENTS).collect(),
                documents_not_shown: total.saturating_sub(MAX_DOCUMENTS),
            });
        }
        databases.push(DatabaseView {
            id: db_id,
            containers,
        });
    }
    CosmosView { databases }
}

async fn eventgrid_view(
    store: &StoreHandle,
    core: &Core,
    topics: &[String],
) -> crate::Result<EventGridView> {
    let subscriptions = core
        .subs_snapshot()
        .iter()
        .map(|s| SubscriptionView {
            name: s.cfg.name.clone(),
            topic: s.cfg.topic.clone(),
            endpoint: without_query(&s.cfg.endpoint),
        })
        .collect();
    let pending = store
        .scan_prefix(Table::PendingDeliveries, "")
        .await?
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Pending>(&v).ok())
        .take(MAX_EVENTS)
        .map(|p| EventItem {
            topic: p.topic,
            subscription: p.subscription,
            attempts: p.attempts,
            reason: None,
            event: p.event.value,
        })
        .collect();
    let mut dead_letters = Vec::new();
    for topic in topics {
        for d in core.dead_letters(topic).await? {
            if dead_letters.len() == MAX_EVENTS {
                break;
            }
            dead_letters.push(EventItem {
                topic: d.topic,
                subscription: d.subscription,
                attempts: d.delivery_attempts,
                reason: Some(d.reason),
                event: d.event,
            });
        }
    }
    let delivered = (core.delivered.snapshot().into_iter())
        .map(|d| EventItem {
            topic: d.topic,
            subscription: d.subscription,
            attempts: d.attempt,
            reason: None,
            event: d.event,
        })
        .collect();
    Ok(EventGridView {
        topics: topics.to_vec(),
        subscriptions,
        delivered,
        pending,
        dead_letters,
    })
}

/// `url` without its query and fragment.
fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_shown_without_its_query() {
        assert_eq!(
            without_query("http://127.0.0.1:3000/hook?code=secret#x"),
            "http://127.0.0.1:3000/hook"
        );
    }
}
