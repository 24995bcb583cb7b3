//! EventGrid emulator: topics with keys, publish (EventGrid schema and CloudEvents 1.0), webhook
//! subscriptions with the validation handshakes, retries with back-off and dead letters.

mod allowed_hosts;
pub mod auth;
mod delivered;
mod delivery;
mod pending;
pub(crate) use delivered::{Delivered, DeliveredLog};
pub(crate) use pending::Pending;
mod router;
mod schema;

pub use allowed_hosts::endpoint_allowed;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::config::{EventGridConfig, RetryConfig, SubscriptionConfig, TopicConfig};
use crate::server::{serve, ServeOptions, ServerTask};
use crate::store::{Op, StoreHandle, Table};
use crate::{Error, Result};

pub(crate) use schema::{Event, InputSchema};

/// An event that could not be delivered.
///
/// ```
/// let d: emulator::DeadLetter = serde_json::from_str(r#"{"topic":"t","subscription":"s","event":{},
///   "reason":"x","delivery_attempts":1,"last_http_status":500,"dead_lettered_at":"2024-01-01T00:00:00Z"}"#).unwrap();
/// assert_eq!(d.last_http_status, Some(500));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeadLetter {
    /// Topic name.
    pub topic: String,
    /// Subscription name.
    pub subscription: String,
    /// The event as it would have been delivered.
    pub event: Value,
    /// Why delivery stopped.
    pub reason: String,
    /// Attempts made.
    pub delivery_attempts: u32,
    /// Status of the last response, if any.
    pub last_http_status: Option<u16>,
    /// When it was dead-lettered (RFC 3339).
    pub dead_lettered_at: String,
}

/// A subscription at runtime.
pub(crate) struct Subscription {
    pub cfg: SubscriptionConfig,
    /// Handshake done (guards the handshake so only one runs at a time).
    pub validated: tokio::sync::Mutex<bool>,
    /// Code sent in the validation event; a GET on the validation URL with it validates too.
    pub validation_code: String,
    pub manually_validated: std::sync::atomic::AtomicBool,
}

impl Subscription {
    fn new(cfg: SubscriptionConfig) -> Self {
        Self {
            cfg,
            validated: tokio::sync::Mutex::new(false),
            validation_code: crate::util::new_id(),
            manually_validated: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn matches(&self, ev: &Event) -> bool {
        let c = &self.cfg;
        let type_ok = c.included_event_types.is_empty()
            || c.included_event_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&ev.event_type));
        let subj = ev.subject.to_ascii_lowercase();
        let begins_ok = c
            .subject_begins_with
            .as_ref()
            .is_none_or(|p| subj.starts_with(&p.to_ascii_lowercase()));
        let ends_ok = c
            .subject_ends_with
            .as_ref()
            .is_none_or(|p| subj.ends_with(&p.to_ascii_lowercase()));
        type_ok && begins_ok && ends_ok
    }
}

pub(crate) struct Core {
    pub topics: HashMap<String, TopicConfig>,
    pub default_topic: String,
    pub retry: RetryConfig,
    pub timeout: Duration,
    pub subs: RwLock<Vec<Arc<Subscription>>>,
    pub store: StoreHandle,
    pub client: Client<HttpConnector, Full<Bytes>>,
    pub base_url: OnceLock<String>,
    pub stop: watch::Receiver<bool>,
    pub egcfg: EventGridConfig,
    /// One clone per running delivery task, so that shutdown can wait for them.
    pub in_flight: Arc<()>,
    /// The last deliveries, for [`crate::Inspector`].
    pub delivered: DeliveredLog,
}

impl Core {
    /// The ARM-style id put into the `topic` field of events.
    pub fn topic_id(name: &str) -> String {
        format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.EventGrid/topics/{name}")
    }

    pub fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }

    pub(crate) fn subs_snapshot(&self) -> Vec<Arc<Subscription>> {
        match self.subs.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Fan accepted events out to matching subscriptions: every (event, subscription) pair is
    /// stored as pending in one commit, then delivered in the background. `Err`: nothing was
    /// stored and nothing will be delivered.
    pub async fn dispatch(self: &Arc<Self>, topic: &str, events: Vec<Event>) -> Result<()> {
        let subs: Vec<_> = self
            .subs_snapshot()
            .into_iter()
            .filter(|s| s.cfg.topic == topic)
            .collect();
        let mut jobs = Vec::new();
        for ev in events {
            for s in subs.iter().filter(|s| s.matches(&ev)) {
                let (key, rec) = pending::Pending::new(topic, &s.cfg.name, ev.clone());
                jobs.push((s.clone(), key, rec));
            }
        }
        self.store
            .commit(jobs.iter().map(|(_, key, rec)| rec.put(key)).collect())
            .await?;
        for (s, key, rec) in jobs {
            self.spawn_delivery(s, key, rec);
        }
        Ok(())
    }

    fn spawn_delivery(
        self: &Arc<Self>,
        sub: Arc<Subscription>,
        key: String,
        rec: pending::Pending,
    ) {
        let token = self.in_flight.clone();
        let core = self.clone();
        tokio::spawn(async move {
            delivery::deliver(core, sub, key, rec).await;
            drop(token);
        });
    }

    /// Restart the deliveries a previous run left pending. A record whose subscription is gone
    /// becomes a dead letter.
    async fn resume_pending(self: &Arc<Self>) -> Result<()> {
        let rows = self.store.scan_prefix(Table::PendingDeliveries, "").await?;
        let subs = self.subs_snapshot();
        let mut resumed = 0usize;
        for (key, value) in rows {
            let rec: pending::Pending = match serde_json::from_slice(&value) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, key, "damaged pending delivery dropped");
                    self.store
                        .commit(vec![pending::Pending::done(&key)])
                        .await?;
                    continue;
                }
            };
            match subs
                .iter()
                .find(|s| s.cfg.topic == rec.topic && s.cfg.name == rec.subscription)
            {
                Some(s) => {
                    resumed += 1;
                    self.spawn_delivery(s.clone(), key, rec);
                }
                None => {
                    let failure = delivery::Failure {
                        status: None,
                        reason: format!(
                            "the subscription `{}` no longer exists (the event was pending when the emulator stopped)",
                            rec.subscription
                        ),
                        fatal: true,
                    };
                    let event = rec.event.value.clone();
                    delivery::dead_letter(
                        self,
                        &rec.subscription,
                        &rec.topic,
                        event,
                        failure,
                        rec.attempts,
                        &key,
                    )
                    .await;
                }
            }
        }
        if resumed > 0 {
            tracing::info!(count = resumed, "pending EventGrid deliveries resumed");
        }
        Ok(())
    }

    pub async fn add_subscription(&self, cfg: SubscriptionConfig, persist: bool) -> Result<()> {
        cfg.validate(&self.egcfg)?;
        if persist {
            let value = serde_json::to_vec(&cfg).map_err(|e| Error::Store(e.to_string()))?;
            self.store
                .commit(vec![Op::Put {
                    table: Table::Subscriptions,
                    key: format!("{}/{}", cfg.topic, cfg.name),
                    value,
                }])
                .await?;
        }
        let mut g = self
            .subs
            .write()
            .map_err(|_| Error::Store("subscription lock poisoned".into()))?;
        g.retain(|s| !(s.cfg.topic == cfg.topic && s.cfg.name == cfg.name));
        g.push(Arc::new(Subscription::new(cfg)));
        Ok(())
    }

    pub async fn remove_subscription(&self, topic: &str, name: &str) -> Result<bool> {
        self.store
            .commit(vec![Op::Delete {
                table: Table::Subscriptions,
                key: format!("{topic}/{name}"),
            }])
            .await?;
        let mut g = self
            .subs
            .write()
            .map_err(|_| Error::Store("subscription lock poisoned".into()))?;
        let before = g.len();
        g.retain(|s| !(s.cfg.topic == topic && s.cfg.name == name));
        Ok(g.len() != before)
    }

    pub async fn dead_letters(&self, topic: &str) -> Result<Vec<DeadLetter>> {
        let rows = self
            .store
            .scan_prefix(Table::DeadLetters, &format!("{topic}/"))
            .await?;
        rows.into_iter()
            .map(|(_, v)| {
                serde_json::from_slice(&v)
                    .map_err(|e| Error::Store(format!("damaged dead letter: {e}")))
            })
            .collect()
    }
}

/// Publishes events to a topic from inside the process (the Blob emulator's system topic);
/// obtained from [`EventGridEmulator::publisher`]. `tests/umbrella.rs` follows a BlobCreated
/// event from a Put Blob to a webhook.
#[derive(Clone)]
pub struct EventPublisher {
    core: Arc<Core>,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventPublisher")
    }
}

impl EventPublisher {
    /// Deliver EventGrid-schema events (trusted, not validated) to `topic`'s subscriptions;
    /// they are stored as pending before this returns. Unknown topics are ignored with a
    /// warning, as is a store failure.
    pub async fn publish_system(&self, topic: &str, events: Vec<Value>) {
        if !self.core.topics.contains_key(topic) {
            tracing::warn!(topic, "system events for an unknown topic dropped");
            return;
        }
        let evs = events
            .into_iter()
            .map(|v| Event {
                schema: InputSchema::EventGrid,
                event_type: v
                    .get("eventType")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                subject: v
                    .get("subject")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                value: v,
            })
            .collect();
        if let Err(e) = self.core.dispatch(topic, evs).await {
            tracing::error!(topic, error = %e, "system events could not be stored and were dropped");
        }
    }
}

/// A running EventGrid emulator.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let eg = emulator::eventgrid::EventGridEmulator::start(
///     emulator::EventGridConfig { port: 0, ..Default::default() },
///     emulator::store::StoreHandle::memory(),
/// ).await?;
/// assert_eq!(eg.topic_endpoint("default"), format!("{}/api/events", eg.url()));
/// assert_eq!(eg.topic_endpoint("storage"), format!("{}/storage/api/events", eg.url()));
/// // Publish one event with the topic key.
/// let body = r#"[{"id":"1","subject":"/s","eventType":"A.B","eventTime":"2024-01-01T00:00:00Z","dataVersion":"1","data":{}}]"#;
/// let request = format!(
///     "POST /api/events?api-version=2018-01-01 HTTP/1.1\r\nhost: x\r\nconnection: close\r\naeg-sas-key: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
///     emulator::DEV_TOPIC_KEY, body.len());
/// let mut conn = tokio::net::TcpStream::connect(eg.addr()).await?;
/// conn.write_all(request.as_bytes()).await?;
/// let mut reply = String::new();
/// conn.read_to_string(&mut reply).await?;
/// assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
/// eg.shutdown().await;
/// # Ok(()) }
/// ```
pub struct EventGridEmulator {
    core: Arc<Core>,
    server: ServerTask,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for EventGridEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventGridEmulator")
            .field("addr", &self.server.addr)
            .finish()
    }
}

impl EventGridEmulator {
    /// Start on `127.0.0.1:<cfg.port>`, with the configured subscriptions plus those added at
    /// runtime earlier and kept in `store`; deliveries a previous run left pending are resumed.
    ///
    /// ```
    /// use emulator::{eventgrid::EventGridEmulator, store::StoreHandle, EventGridConfig, SubscriptionConfig};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let cfg = EventGridConfig { port: 0, ..Default::default() };
    /// let eg = EventGridEmulator::start(cfg.clone(), StoreHandle::open_dir(dir.path())?).await?;
    /// eg.add_subscription(SubscriptionConfig::new("hook", "default", "http://127.0.0.1:3000/hook")).await?;
    /// eg.shutdown().await;
    /// // Started again on the same data directory: the subscription is back.
    /// let eg = EventGridEmulator::start(cfg, StoreHandle::open_dir(dir.path())?).await?;
    /// assert_eq!(eg.subscriptions()[0].name, "hook");
    /// eg.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(cfg: EventGridConfig, store: StoreHandle) -> Result<Self> {
        let mut checked = cfg.clone();
        checked.enabled = true;
        checked.validate()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let client = Client::builder(TokioExecutor::new()).build_http();
        let core = Arc::new(Core {
            topics: cfg
                .topics
                .iter()
                .map(|t| (t.name.clone(), t.clone()))
                .collect(),
            default_topic: cfg.default_topic.clone(),
            retry: cfg.retry.clone(),
            timeout: Duration::from_millis(cfg.delivery_timeout_ms.max(1)),
            subs: RwLock::new(Vec::new()),
            store: store.clone(),
            client,
            base_url: OnceLock::new(),
            stop: stop_rx,
            egcfg: cfg.clone(),
            in_flight: Arc::new(()),
            delivered: DeliveredLog::default(),
        });
        for s in &cfg.subscriptions {
            core.add_subscription(s.clone(), false).await?;
        }
        for (_, v) in store.scan_prefix(Table::Subscriptions, "").await? {
            match serde_json::from_slice::<SubscriptionConfig>(&v) {
                Ok(s) => {
                    if let Err(e) = core.add_subscription(s, false).await {
                        tracing::warn!(error = %e, "stored subscription skipped");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "damaged stored subscription skipped"),
            }
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], cfg.port));
        let hc = core.clone();
        let options = ServeOptions {
            limits: cfg.limits.clone(),
            busy: router::server_busy,
        };
        let server = serve("eventgrid", addr, options, move |req, _peer| {
            router::handle(hc.clone(), req)
        })
        .await?;
        let _ = core.base_url.set(format!("http://{}", server.addr));
        core.resume_pending().await?;
        Ok(Self {
            core,
            server,
            stop: stop_tx,
        })
    }

    /// The bound address (127.0.0.1 and the configured or picked port).
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The publish URL of a topic: `/api/events` for the default topic, else `/<topic>/api/events`
    /// (see the example of [`EventGridEmulator`]).
    pub fn topic_endpoint(&self, topic: &str) -> String {
        if topic == self.core.default_topic {
            format!("{}/api/events", self.url())
        } else {
            format!("{}/{topic}/api/events", self.url())
        }
    }

    /// The in-process publisher (used by the Blob emulator for system events).
    pub fn publisher(&self) -> EventPublisher {
        EventPublisher {
            core: self.core.clone(),
        }
    }

    /// Add (or replace, by topic and name) a subscription; it is kept in the store. The endpoint
    /// must pass `delivery_allowed_hosts` (loopback by default; never link-local).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let eg = emulator::eventgrid::EventGridEmulator::start(
    ///     emulator::EventGridConfig { port: 0, ..Default::default() },
    ///     emulator::store::StoreHandle::memory()).await?;
    /// eg.add_subscription(emulator::SubscriptionConfig::new("hook", "default", "http://127.0.0.1:3000/hook")).await?;
    /// let metadata = emulator::SubscriptionConfig::new("m", "default", "http://169.254.169.254/");
    /// assert!(eg.add_subscription(metadata).await.is_err());
    /// assert_eq!(eg.subscriptions().len(), 1);
    /// eg.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn add_subscription(&self, cfg: SubscriptionConfig) -> Result<()> {
        self.core.add_subscription(cfg, true).await
    }

    /// Remove a subscription; `Ok(false)` when there was none.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let eg = emulator::eventgrid::EventGridEmulator::start(
    ///     emulator::EventGridConfig { port: 0, ..Default::default() },
    ///     emulator::store::StoreHandle::memory()).await?;
    /// eg.add_subscription(emulator::SubscriptionConfig::new("hook", "default", "http://127.0.0.1:3000/hook")).await?;
    /// assert!(eg.remove_subscription("default", "hook").await?);
    /// assert!(!eg.remove_subscription("default", "hook").await?);
    /// assert!(eg.subscriptions().is_empty());
    /// eg.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn remove_subscription(&self, topic: &str, name: &str) -> Result<bool> {
        self.core.remove_subscription(topic, name).await
    }

    /// The shared state, for [`crate::Inspector`].
    pub(crate) fn core(&self) -> Arc<Core> {
        self.core.clone()
    }

    /// The current subscriptions: configured, added at runtime, and kept from earlier runs.
    pub fn subscriptions(&self) -> Vec<SubscriptionConfig> {
        self.core
            .subs_snapshot()
            .iter()
            .map(|s| s.cfg.clone())
            .collect()
    }

    /// Dead letters of a topic, oldest first (produced in `tests/eventgrid.rs`).
    pub async fn dead_letters(&self, topic: &str) -> Result<Vec<DeadLetter>> {
        self.core.dead_letters(topic).await
    }

    /// Stop serving and stop deliveries; with a data directory, undelivered events stay pending
    /// and the next start resumes them (`tests/hardening.rs`).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.server.shutdown().await;
        // Delivery tasks stop at the signal; wait (bounded) so that the store is released and
        // the same data directory can be opened again. Pending records stay for the next start.
        for _ in 0..500 {
            if Arc::strong_count(&self.core.in_flight) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
