//! The umbrella: start Blob, EventGrid and Cosmos DB together.

use crate::blob::BlobEmulator;
use crate::config::EmulatorsConfig;
use crate::cosmos::{self, CosmosHandle};
use crate::eventgrid::EventGridEmulator;
use crate::identity::{IdentityEmulator, TrustedIssuer};
use crate::store::StoreHandle;
use crate::{DeadLetter, Result, SubscriptionConfig};

/// The running emulators.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
/// let cfg: emulator::EmulatorsConfig = toml::from_str("[blob]\nport = 0\n[eventgrid]\nport = 0\n[cosmos]\nenabled = false\n").unwrap();
/// let emus = emulator::Emulators::start(cfg).await?;
/// assert!(emus.cosmos().is_none());
/// emus.add_subscription(emulator::SubscriptionConfig::new("hook", "storage", "http://127.0.0.1:3000/hook")).await?;
/// let subs = emus.eventgrid().expect("enabled").subscriptions();
/// assert_eq!(subs[0].endpoint, "http://127.0.0.1:3000/hook");
/// emus.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Emulators {
    blob: Option<BlobEmulator>,
    eventgrid: Option<EventGridEmulator>,
    cosmos: Option<CosmosHandle>,
    identity: Option<IdentityEmulator>,
    config: EmulatorsConfig,
    store: StoreHandle,
}

impl Emulators {
    /// Validate `config` and start every enabled emulator on 127.0.0.1. With `data_dir`, Blob and
    /// EventGrid keep their state in `<data_dir>/emulator.redb` (Cosmos gets `<data_dir>/cosmos`
    /// unless its settings name a directory). An invalid configuration is refused before
    /// anything is bound:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mut cfg = emulator::EmulatorsConfig::default().with_free_ports();
    /// cfg.eventgrid.subscriptions.push(emulator::SubscriptionConfig::new("s", "nope", "http://127.0.0.1:1/x"));
    /// let err = emulator::Emulators::start(cfg).await.unwrap_err();
    /// assert!(err.to_string().contains("topic `nope`"), "{err}");
    /// # }
    /// ```
    pub async fn start(config: EmulatorsConfig) -> Result<Self> {
        config.validate()?;
        let store = match &config.data_dir {
            Some(dir) => StoreHandle::open_dir(dir)?,
            None => StoreHandle::memory(),
        };
        let trust = TrustedIssuer::from_config(&config.identity);
        let identity = if config.identity.enabled {
            Some(IdentityEmulator::start(config.identity.clone()).await?)
        } else {
            None
        };
        let eventgrid = if config.eventgrid.enabled {
            let mut ecfg = config.eventgrid.clone();
            ecfg.trusted_issuer = ecfg.trusted_issuer.or_else(|| trust.clone());
            Some(EventGridEmulator::start(ecfg, store.clone()).await?)
        } else {
            None
        };
        let blob = if config.blob.enabled {
            let publisher = eventgrid.as_ref().map(EventGridEmulator::publisher);
            let mut bcfg = config.blob.clone();
            bcfg.trusted_issuer = bcfg.trusted_issuer.or_else(|| trust.clone());
            if publisher.is_none() {
                bcfg.events = None;
            }
            Some(BlobEmulator::start(bcfg, store.clone(), publisher).await?)
        } else {
            None
        };
        let cosmos = if config.cosmos.enabled {
            let mut ccfg = config.cosmos.clone();
            ccfg.settings.trusted_issuer = ccfg.settings.trusted_issuer.or_else(|| trust.clone());
            Some(cosmos::start(&ccfg, config.data_dir.as_deref()).await?)
        } else {
            None
        };
        Ok(Self {
            blob,
            eventgrid,
            cosmos,
            identity,
            config,
            store,
        })
    }

    /// A read-only view of what the emulators hold (see [`crate::Inspector`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let mut cfg = emulator::EmulatorsConfig::default().with_free_ports();
    /// cfg.cosmos.enabled = false;
    /// let emus = emulator::Emulators::start(cfg).await?;
    /// let snapshot = emus.inspector().snapshot().await;
    /// assert!(snapshot.cosmos.is_none(), "Cosmos DB is off");
    /// assert!(snapshot.eventgrid.unwrap().topics.contains(&"default".to_string()));
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn inspector(&self) -> crate::Inspector {
        let blob = self.blob.as_ref().map(|b| crate::inspect::BlobAccess {
            url: b.url(),
            keys: (self.config.blob.accounts.iter())
                .map(|a| (a.name.clone(), a.key.clone()))
                .collect(),
        });
        let eventgrid = self.eventgrid.as_ref().map(|g| {
            let topics = self
                .config
                .eventgrid
                .topics
                .iter()
                .map(|t| t.name.clone())
                .collect();
            (g.core(), topics)
        });
        let cosmos = self.cosmos.as_ref().and_then(|c| c.inner().state());
        crate::Inspector::new(self.store.clone(), blob, eventgrid, cosmos)
    }

    /// The Blob emulator, if enabled (`blob.enabled`).
    pub fn blob(&self) -> Option<&BlobEmulator> {
        self.blob.as_ref()
    }

    /// The EventGrid emulator, if enabled (`eventgrid.enabled`).
    pub fn eventgrid(&self) -> Option<&EventGridEmulator> {
        self.eventgrid.as_ref()
    }

    /// The Cosmos DB emulator, if enabled (`cosmos.enabled`).
    pub fn cosmos(&self) -> Option<&CosmosHandle> {
        self.cosmos.as_ref()
    }

    /// The managed-identity endpoint, if enabled (`identity.enabled`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let mut cfg = emulator::EmulatorsConfig::default().with_free_ports();
    /// cfg.identity.enabled = true;
    /// let emus = emulator::Emulators::start(cfg).await?;
    /// let id = emus.identity().expect("enabled");
    /// assert!(id.endpoint().ends_with("/msi/token"));
    /// assert!(emus.connection_strings().iter().any(|l| l.contains(&id.endpoint())));
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn identity(&self) -> Option<&IdentityEmulator> {
        self.identity.as_ref()
    }

    /// What a client needs to reach each running emulator, one line each, as Azurite prints
    /// them: a Storage connection string per account (with its Blob endpoint), the Cosmos DB
    /// endpoint and key, and each EventGrid topic's endpoint and key.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
    /// let lines = emus.connection_strings();
    /// let blob = emus.blob().unwrap().url();
    /// assert!(lines.iter().any(|l| l.contains(&format!(
    ///     "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};BlobEndpoint={blob}/devstoreaccount1;",
    ///     emulator::DEV_ACCOUNT_KEY
    /// ))));
    /// let cosmos = emus.cosmos().unwrap().url();
    /// assert!(lines.iter().any(|l| l.contains(&format!("AccountEndpoint={cosmos}/;AccountKey="))));
    /// let events = emus.eventgrid().unwrap().topic_endpoint("storage");
    /// assert!(lines.iter().any(|l| l.contains(&events) && l.contains(emulator::DEV_TOPIC_KEY)));
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn connection_strings(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(b) = &self.blob {
            for a in &self.config.blob.accounts {
                lines.push(format!(
                    "Blob Storage on {}, account {}: {}",
                    b.addr(),
                    a.name,
                    b.connection_string(&a.name, &a.key)
                ));
            }
        }
        if let Some(c) = &self.cosmos {
            lines.push(format!(
                "Cosmos DB on {}: AccountEndpoint={}/;AccountKey={};",
                c.addr(),
                c.url(),
                self.config.cosmos.settings.master_key
            ));
        }
        if let Some(g) = &self.eventgrid {
            for t in &self.config.eventgrid.topics {
                lines.push(format!(
                    "EventGrid on {}, topic {}: endpoint {} key {}",
                    g.addr(),
                    t.name,
                    g.topic_endpoint(&t.name),
                    t.key
                ));
            }
        }
        if let Some(i) = &self.identity {
            lines.push(format!(
                "Managed identity on {}: IDENTITY_ENDPOINT={} IDENTITY_HEADER={}",
                i.addr(),
                i.endpoint(),
                i.identity_header()
            ));
        }
        lines
    }

    /// Add a webhook subscription at runtime (EventGrid must be enabled); its endpoint must
    /// pass `eventgrid.delivery_allowed_hosts` (loopback by default).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
    /// emus.add_subscription(emulator::SubscriptionConfig::new("hook", "default", "http://127.0.0.1:3000/hook")).await?;
    /// let outside = emulator::SubscriptionConfig::new("scan", "default", "http://10.1.2.3:22/");
    /// assert!(emus.add_subscription(outside).await.is_err());
    /// emus.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn add_subscription(&self, sub: SubscriptionConfig) -> Result<()> {
        self.require_eventgrid()?.add_subscription(sub).await
    }

    /// Dead letters of an EventGrid topic, oldest first (`tests/eventgrid.rs` and
    /// `tests/umbrella.rs` produce some).
    pub async fn dead_letters(&self, topic: &str) -> Result<Vec<DeadLetter>> {
        self.require_eventgrid()?.dead_letters(topic).await
    }

    fn require_eventgrid(&self) -> Result<&EventGridEmulator> {
        self.eventgrid.as_ref().ok_or_else(|| {
            crate::Error::Config(
                "the EventGrid emulator is not enabled; set eventgrid.enabled = true".into(),
            )
        })
    }

    /// Stop everything; the ports are closed when this returns.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> emulator::Result<()> {
    /// let emus = emulator::Emulators::start(emulator::EmulatorsConfig::default().with_free_ports()).await?;
    /// let addr = emus.blob().expect("enabled").addr();
    /// emus.shutdown().await;
    /// assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(self) {
        if let Some(b) = self.blob {
            b.shutdown().await;
        }
        if let Some(g) = self.eventgrid {
            g.shutdown().await;
        }
        if let Some(c) = self.cosmos {
            c.shutdown().await;
        }
        if let Some(i) = self.identity {
            i.shutdown().await;
        }
    }
}
