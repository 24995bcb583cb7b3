//! Configuration of the emulators: the `[emulators]` table of the harness's TOML file.
//!
//! Every struct rejects unknown fields, so a typo is reported with the list of valid names.

use std::path::PathBuf;

use serde::Deserialize;

use crate::limits::ServerLimits;
use crate::{Error, Result};

/// The name of the documented development storage account.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
/// The documented key of [`DEV_ACCOUNT`] (public; the same in Azurite and the Azure Storage Emulator).
pub const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Key of the default EventGrid topics (public, for local use only).
pub const DEV_TOPIC_KEY: &str = "ZW11bGF0b3ItZXZlbnRncmlkLWRldi1rZXktMDAwMDAwMDA=";

/// Everything the umbrella starts.
///
/// ```
/// let cfg: emulator::EmulatorsConfig = toml::from_str(r#"
///     [blob]
///     port = 0
///     [eventgrid]
///     port = 0
/// "#).unwrap();
/// assert_eq!(cfg.blob.accounts[0].name, "devstoreaccount1");
/// assert!(toml::from_str::<emulator::EmulatorsConfig>("blobb = {}").is_err());
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorsConfig {
    /// Keep state in `<data_dir>` (redb) instead of memory.
    pub data_dir: Option<PathBuf>,
    /// Blob Storage emulator.
    pub blob: BlobConfig,
    /// EventGrid emulator.
    pub eventgrid: EventGridConfig,
    /// Cosmos DB emulator.
    pub cosmos: CosmosSection,
    /// The test identity: the issuer whose `Bearer` tokens every emulator accepts, and its
    /// managed-identity endpoint (off unless `identity.enabled = true`).
    pub identity: crate::identity::IdentityConfig,
}

impl EmulatorsConfig {
    /// The same configuration with every port set to 0 (a free port each), for tests.
    ///
    /// ```
    /// let c = emulator::EmulatorsConfig::default().with_free_ports();
    /// assert_eq!(c.blob.port, 0);
    /// ```
    pub fn with_free_ports(mut self) -> Self {
        self.blob.port = 0;
        self.eventgrid.port = 0;
        self.cosmos.port = 0;
        self.identity.port = 0;
        self
    }

    /// Check cross references (topics named by subscriptions and blob events exist, keys decode).
    ///
    /// ```
    /// assert!(emulator::EmulatorsConfig::default().validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<()> {
        self.blob.validate()?;
        self.eventgrid.validate()?;
        self.identity.validate()?;
        if let Some(ev) = &self.blob.events {
            if !self.eventgrid.enabled {
                return Err(Error::Config(format!(
                    "blob.events.topic = `{}` needs the EventGrid emulator; set eventgrid.enabled = true or remove [blob.events]",
                    ev.topic
                )));
            }
            if self.eventgrid.topic(&ev.topic).is_none() {
                return Err(Error::Config(format!(
                    "blob.events.topic = `{}` is not one of eventgrid.topics; add a [[eventgrid.topics]] entry with that name",
                    ev.topic
                )));
            }
        }
        Ok(())
    }
}

/// Blob Storage emulator settings.
///
/// ```
/// let b = emulator::BlobConfig::default();
/// assert_eq!(b.port, 10000);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobConfig {
    /// Start it.
    pub enabled: bool,
    /// Loopback port (0 = any free port).
    pub port: u16,
    /// Storage accounts and their base64 keys.
    pub accounts: Vec<StorageAccount>,
    /// Publish BlobCreated/BlobDeleted to an EventGrid topic.
    pub events: Option<BlobEventsConfig>,
    /// Largest accepted difference between `x-ms-date`/`Date` and the clock, in seconds.
    pub max_clock_skew_secs: u64,
    /// Largest accepted request body in bytes (also the largest block of Put Block).
    pub max_body_bytes: usize,
    /// Largest blob Put Block List may commit, in bytes (checked before anything is copied).
    pub max_blob_bytes: u64,
    /// Timeouts and connection cap of the server.
    pub limits: ServerLimits,
    /// The issuer whose `Authorization: Bearer` tokens are accepted (set by
    /// [`crate::Emulators::start`] from `[identity]`; `None` refuses bearer tokens).
    #[serde(skip)]
    pub trusted_issuer: Option<crate::identity::TrustedIssuer>,
}

impl Default for BlobConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 10000,
            accounts: vec![StorageAccount {
                name: DEV_ACCOUNT.into(),
                key: DEV_ACCOUNT_KEY.into(),
            }],
            events: Some(BlobEventsConfig {
                topic: "storage".into(),
            }),
            max_clock_skew_secs: 15 * 60,
            max_body_bytes: 256 * 1024 * 1024,
            max_blob_bytes: 4 * 1024 * 1024 * 1024,
            limits: ServerLimits::default(),
            trusted_issuer: None,
        }
    }
}

impl BlobConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        self.limits.validate("blob.limits")?;
        if self.accounts.is_empty() {
            return Err(Error::Config(
                "blob.accounts is empty; add at least one { name, key } account".into(),
            ));
        }
        for a in &self.accounts {
            if a.name.is_empty()
                || !a
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                return Err(Error::Config(format!(
                    "blob account name `{}` must be lower-case letters and digits",
                    a.name
                )));
            }
            crate::util::decode_key(&a.key).map_err(|_| {
                Error::Config(format!(
                    "the key of blob account `{}` is not valid base64",
                    a.name
                ))
            })?;
        }
        Ok(())
    }
}

/// A storage account.
///
/// ```
/// let a = emulator::StorageAccount { name: "acct".into(), key: "a2V5".into() };
/// assert_eq!(a.name, "acct");
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageAccount {
    /// Account name (the first path segment).
    pub name: String,
    /// Base64 account key.
    pub key: String,
}

impl std::fmt::Debug for StorageAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageAccount")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Where the Blob emulator publishes its system events.
///
/// ```
/// let e = emulator::BlobEventsConfig { topic: "storage".into() };
/// assert_eq!(e.topic, "storage");
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobEventsConfig {
    /// EventGrid topic name (must be in `eventgrid.topics`).
    pub topic: String,
}

/// EventGrid emulator settings.
///
/// ```
/// let e = emulator::EventGridConfig::default();
/// assert_eq!(e.default_topic, "default");
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventGridConfig {
    /// Start it.
    pub enabled: bool,
    /// Loopback port (0 = any free port).
    pub port: u16,
    /// Topic served at `POST /api/events`.
    pub default_topic: String,
    /// Topics and their keys (`POST /<name>/api/events`).
    pub topics: Vec<TopicConfig>,
    /// Webhook subscriptions.
    pub subscriptions: Vec<SubscriptionConfig>,
    /// Delivery retry policy.
    pub retry: RetryConfig,
    /// Timeout of one delivery or handshake request, in milliseconds.
    pub delivery_timeout_ms: u64,
    /// Key for managing subscriptions over HTTP (`GET`/`PUT`/`DELETE /<topic>/subscriptions`),
    /// sent as `x-emulator-admin-key`. `None` (the default): those endpoints answer 403, and
    /// subscriptions come from `subscriptions` and the Rust API only. Topic keys never manage
    /// subscriptions, as in Azure.
    pub admin_key: Option<String>,
    /// Hosts webhook endpoints may name: `loopback` (any 127.0.0.0/8 or ::1 address and
    /// `localhost`, the default), a host name or IP address (`10.1.2.3`, `hooks.internal`,
    /// optionally with `:port`), or `*` for any host. Link-local addresses (the cloud metadata
    /// address 169.254.169.254) and unspecified addresses are always refused.
    pub delivery_allowed_hosts: Vec<String>,
    /// Timeouts and connection cap of the server.
    pub limits: ServerLimits,
    /// The issuer whose `Authorization: Bearer` tokens may publish (set by
    /// [`crate::Emulators::start`] from `[identity]`; `None` refuses bearer tokens).
    #[serde(skip)]
    pub trusted_issuer: Option<crate::identity::TrustedIssuer>,
}

impl std::fmt::Debug for EventGridConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventGridConfig")
            .field("enabled", &self.enabled)
            .field("port", &self.port)
            .field("default_topic", &self.default_topic)
            .field("topics", &self.topics)
            .field("subscriptions", &self.subscriptions)
            .field("retry", &self.retry)
            .field("delivery_timeout_ms", &self.delivery_timeout_ms)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("delivery_allowed_hosts", &self.delivery_allowed_hosts)
            .field("limits", &self.limits)
            .field("trusted_issuer", &self.trusted_issuer)
            .finish()
    }
}

impl Default for EventGridConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 8082,
            default_topic: "default".into(),
            topics: vec![
                TopicConfig {
                    name: "default".into(),
                    key: DEV_TOPIC_KEY.into(),
                },
                TopicConfig {
                    name: "storage".into(),
                    key: DEV_TOPIC_KEY.into(),
                },
            ],
            subscriptions: Vec::new(),
            retry: RetryConfig::default(),
            delivery_timeout_ms: 30_000,
            admin_key: None,
            delivery_allowed_hosts: vec!["loopback".into()],
            limits: ServerLimits::default(),
            trusted_issuer: None,
        }
    }
}

impl EventGridConfig {
    /// Look up a topic by name.
    ///
    /// ```
    /// assert!(emulator::EventGridConfig::default().topic("default").is_some());
    /// ```
    pub fn topic(&self, name: &str) -> Option<&TopicConfig> {
        self.topics.iter().find(|t| t.name == name)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.limits.validate("eventgrid.limits")?;
        if self
            .admin_key
            .as_deref()
            .is_some_and(|k| k.trim().is_empty())
        {
            return Err(Error::Config(
                "eventgrid.admin_key is empty; remove it (HTTP subscription management off) or set a secret".into(),
            ));
        }
        for (i, t) in self.topics.iter().enumerate() {
            if t.name.is_empty() || t.name.contains('/') || t.name == "api" {
                return Err(Error::Config(format!(
                    "eventgrid topic name `{}` is invalid; use a name without `/` other than `api`",
                    t.name
                )));
            }
            if self.topics[..i].iter().any(|o| o.name == t.name) {
                return Err(Error::Config(format!(
                    "eventgrid topic `{}` is defined twice",
                    t.name
                )));
            }
            if t.key.is_empty() {
                return Err(Error::Config(format!(
                    "eventgrid topic `{}` has an empty key",
                    t.name
                )));
            }
        }
        if self.enabled && self.topic(&self.default_topic).is_none() {
            return Err(Error::Config(format!(
                "eventgrid.default_topic = `{}` is not one of eventgrid.topics",
                self.default_topic
            )));
        }
        for s in &self.subscriptions {
            s.validate(self)?;
        }
        self.retry.validate()
    }
}

/// A topic.
///
/// ```
/// let t = emulator::TopicConfig { name: "orders".into(), key: "a2V5".into() };
/// assert_eq!(t.name, "orders");
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Topic name.
    pub name: String,
    /// Access key (`aeg-sas-key`, and base64-decoded the HMAC key of `aeg-sas-token`).
    pub key: String,
}

impl std::fmt::Debug for TopicConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicConfig")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Event schema delivered to a subscriber.
///
/// ```
/// let s: emulator::DeliverySchema = serde_json::from_str("\"cloudevents\"").unwrap();
/// assert_eq!(s, emulator::DeliverySchema::CloudEvents);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliverySchema {
    /// EventGrid schema (validation event handshake).
    #[default]
    EventGrid,
    /// CloudEvents 1.0 (OPTIONS abuse-protection handshake).
    CloudEvents,
}

/// A webhook subscription.
///
/// ```
/// let s = emulator::SubscriptionConfig::new("hook", "default", "http://127.0.0.1:3000/hook");
/// assert_eq!(s.topic, "default");
/// ```
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// Subscription name (unique per topic).
    pub name: String,
    /// Topic it listens to.
    pub topic: String,
    /// Webhook URL (plain `http://`).
    pub endpoint: String,
    /// Only these event types (empty = all).
    #[serde(default)]
    pub included_event_types: Vec<String>,
    /// Only subjects starting with this.
    #[serde(default)]
    pub subject_begins_with: Option<String>,
    /// Only subjects ending with this.
    #[serde(default)]
    pub subject_ends_with: Option<String>,
    /// Schema delivered to the webhook.
    #[serde(default)]
    pub schema: DeliverySchema,
}

impl SubscriptionConfig {
    /// A subscription to every event type in the EventGrid schema.
    ///
    /// ```
    /// let s = emulator::SubscriptionConfig::new("a", "default", "http://127.0.0.1:1/x");
    /// assert!(s.included_event_types.is_empty());
    /// ```
    pub fn new(name: &str, topic: &str, endpoint: &str) -> Self {
        Self {
            name: name.into(),
            topic: topic.into(),
            endpoint: endpoint.into(),
            included_event_types: Vec::new(),
            subject_begins_with: None,
            subject_ends_with: None,
            schema: DeliverySchema::EventGrid,
        }
    }

    /// Check the subscription against the topics and `delivery_allowed_hosts` of `eg`.
    ///
    /// ```
    /// let eg = emulator::EventGridConfig::default();
    /// let bad = emulator::SubscriptionConfig::new("a", "nope", "http://127.0.0.1:1/x");
    /// assert!(bad.validate(&eg).is_err());
    /// let metadata = emulator::SubscriptionConfig::new("a", "default", "http://169.254.169.254/latest");
    /// assert!(metadata.validate(&eg).unwrap_err().to_string().contains("link-local"));
    /// let local = emulator::SubscriptionConfig::new("a", "default", "http://localhost:3000/hook");
    /// assert!(local.validate(&eg).is_ok());
    /// ```
    pub fn validate(&self, eg: &EventGridConfig) -> Result<()> {
        if self.name.is_empty() || self.name.contains('/') {
            return Err(Error::Config(format!(
                "subscription name `{}` must be non-empty and without `/`",
                self.name
            )));
        }
        if eg.topic(&self.topic).is_none() {
            return Err(Error::Config(format!(
                "subscription `{}` names topic `{}`, which is not one of eventgrid.topics",
                self.name, self.topic
            )));
        }
        let uri = match self.endpoint.parse::<http::Uri>() {
            Ok(u) if u.scheme_str() == Some("http") && u.host().is_some() => u,
            _ => {
                return Err(Error::Config(format!(
                    "subscription `{}` endpoint `{}` must be an absolute http:// URL (the emulator delivers over plain HTTP)",
                    self.name, self.endpoint
                )))
            }
        };
        crate::eventgrid::endpoint_allowed(&uri, &eg.delivery_allowed_hosts).map_err(|why| {
            Error::Config(format!(
                "subscription `{}` endpoint `{}` is not allowed: {why}",
                self.name, self.endpoint
            ))
        })
    }
}

/// Delivery retries: attempt `n` waits `initial_backoff_ms * 2^(n-1)`, capped at `max_backoff_ms`.
///
/// ```
/// let r = emulator::RetryConfig::default();
/// assert_eq!(r.max_attempts, 10);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts before an event is dead-lettered (at least 1).
    pub max_attempts: u32,
    /// First back-off.
    pub initial_backoff_ms: u64,
    /// Largest back-off.
    pub max_backoff_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
        }
    }
}

impl RetryConfig {
    /// Back-off before attempt `attempt + 1` (after `attempt` failures, counting from 1).
    ///
    /// ```
    /// let r = emulator::RetryConfig { max_attempts: 5, initial_backoff_ms: 10, max_backoff_ms: 30 };
    /// assert_eq!(r.backoff(1).as_millis(), 10);
    /// assert_eq!(r.backoff(2).as_millis(), 20);
    /// assert_eq!(r.backoff(3).as_millis(), 30);
    /// ```
    pub fn backoff(&self, attempt: u32) -> std::time::Duration {
        let factor = 1u64 << attempt.saturating_sub(1).min(30);
        std::time::Duration::from_millis(
            self.initial_backoff_ms
                .saturating_mul(factor)
                .min(self.max_backoff_ms),
        )
    }

    fn validate(&self) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::Config(
                "eventgrid.retry.max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Cosmos DB emulator section.
///
/// ```
/// assert_eq!(emulator::CosmosSection::default().port, 8081);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CosmosSection {
    /// Start it.
    pub enabled: bool,
    /// Loopback port (0 = any free port).
    pub port: u16,
    /// Settings passed to [`crate::cosmos::CosmosEmulator::start`].
    pub settings: crate::cosmos::CosmosConfig,
}

impl Default for CosmosSection {
    fn default() -> Self {
        Self {
            enabled: true,
            port: 8081,
            settings: crate::cosmos::CosmosConfig::default(),
        }
    }
}
