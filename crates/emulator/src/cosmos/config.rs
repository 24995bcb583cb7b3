//! Emulator configuration (the `[cosmos]` table of the harness config file).

use std::path::PathBuf;

use serde::Deserialize;

use crate::limits::ServerLimits;

/// The public, documented key of Microsoft's Cosmos DB emulator. Anyone may use it; it only
/// protects local emulators.
pub const EMULATOR_MASTER_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

/// Configuration of the Cosmos DB emulator.
///
/// Every field has a default, so an empty TOML table is valid:
///
/// ```
/// let cfg: emulator::cosmos::CosmosConfig = toml::from_str(r#"
///     account_name = "localcosmos"
///     master_key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
///     data_dir = "/tmp/cosmos-data"
///     max_clock_skew_secs = 900
/// "#).unwrap();
/// assert_eq!(cfg.account_name, "localcosmos");
/// ```
///
/// `Debug` shows the keys as `<redacted>`:
///
/// ```
/// let cfg = emulator::cosmos::CosmosConfig { secondary_key: Some("c2Vjb25k".into()), ..Default::default() };
/// let shown = format!("{cfg:?}");
/// assert!(!shown.contains(emulator::cosmos::EMULATOR_MASTER_KEY) && !shown.contains("c2Vjb25k"));
/// assert!(shown.contains("<redacted>") && shown.contains("localhost"));
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CosmosConfig {
    /// Account name reported by `GET /` (the database account `id`).
    pub account_name: String,
    /// Primary master key (base64). Defaults to [`EMULATOR_MASTER_KEY`].
    pub master_key: String,
    /// Optional secondary master key (base64), also accepted for every request.
    pub secondary_key: Option<String>,
    /// Directory for the redb data file; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// How far `x-ms-date` may lie in the past or future, in seconds (Azure uses 15 minutes).
    pub max_clock_skew_secs: u64,
    /// Timeouts and connection cap of the server (`[emulators.cosmos.settings.limits]`).
    pub limits: ServerLimits,
    /// The issuer whose `type=aad` tokens are accepted (set by [`crate::Emulators::start`] from
    /// `[identity]`; `None` refuses them).
    #[serde(skip)]
    pub trusted_issuer: Option<crate::identity::TrustedIssuer>,
}

impl std::fmt::Debug for CosmosConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosmosConfig")
            .field("account_name", &self.account_name)
            .field("master_key", &"<redacted>")
            .field(
                "secondary_key",
                &self.secondary_key.as_ref().map(|_| "<redacted>"),
            )
            .field("data_dir", &self.data_dir)
            .field("max_clock_skew_secs", &self.max_clock_skew_secs)
            .field("limits", &self.limits)
            .field("trusted_issuer", &self.trusted_issuer)
            .finish()
    }
}

impl Default for CosmosConfig {
    fn default() -> Self {
        CosmosConfig {
            account_name: "localhost".to_string(),
            master_key: EMULATOR_MASTER_KEY.to_string(),
            secondary_key: None,
            data_dir: None,
            max_clock_skew_secs: 15 * 60,
            limits: ServerLimits::default(),
            trusted_issuer: None,
        }
    }
}
