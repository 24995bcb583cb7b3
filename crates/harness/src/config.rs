//! Reading WAGI's `modules.toml` / `wagi.toml`, plus this harness's own tables.
//!
//! ```toml
//! [[module]]
//! route = "/hello"
//! module = "hello.wasm"              # relative to this file
//! environment = { GREETING = "hi" }
//! allowed_hosts = ["http://127.0.0.1:10000"]
//! http_max_concurrency = 4
//! identity = { scopes = ["https://storage.azure.com/.default"] }   # Entra ID tokens for guests
//!
//! [cache]                            # compiled-code cache (wasmtime cache table keys)
//! enabled = true
//! directory = ".cache/modules"
//!
//! [identity]                         # optional: the token broker's credential
//! credential = "managed-identity"    # or "workload-identity", "azure-cli"
//!
//! [limits]                           # optional; defaults shown
//! request_timeout_secs = 30
//! memory_mib = 256
//! block_private_networks = true      # outbound: loopback/private only via an exact entry
//! max_hops = 8                       # inbound azure-wasi-hops above this: 508
//! reserved_instances = 16            # slots nested requests may not take
//! outbound_connect_timeout_secs = 10
//! outbound_max_idle_per_host = 16
//! outbound_idle_timeout_secs = 30
//! shutdown_grace_secs = 10           # SIGTERM/Ctrl-C: in-flight requests may finish this long
//! ```
//!
//! Every `[limits]` key is listed in the crate README.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::{AllowList, Error, Limits, ModuleConfig, Result};

/// Where compiled modules are cached across restarts.
///
/// ```
/// let cache = harness::CacheConfig::default();
/// assert!(cache.enabled);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Whether to cache compiled code at all.
    pub enabled: bool,
    /// The folder; `None` means the user's cache folder.
    pub directory: Option<PathBuf>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            directory: None,
        }
    }
}

/// A whole config file, read and checked.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("wagi.toml");
/// std::fs::write(dir.path().join("hello.wasm"), b"")?; // checked to exist, compiled later
/// std::fs::write(&file, "[[module]]\nroute = \"/hello\"\nmodule = \"hello.wasm\"\n")?;
/// let config = harness::HarnessConfig::from_file(&file)?;
/// assert_eq!(config.modules.len(), 1);
/// assert_eq!(config.modules[0].module, dir.path().join("hello.wasm"));
/// assert_eq!(config.limits, harness::Limits::default());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct HarnessConfig {
    /// The routed modules, paths resolved against the file's folder.
    pub modules: Vec<ModuleConfig>,
    /// Compiled-code cache.
    pub cache: CacheConfig,
    /// Limits.
    pub limits: Limits,
    /// The `[dashboard]` table: the dashboard page and `/metrics` (on, loopback only, by
    /// default).
    pub dashboard: crate::DashboardConfig,
    /// The `[emulators]` table: accounts, keys, topics and subscriptions of the embedded
    /// emulators that `harness serve --emulators` starts (feature `emulators`).
    #[cfg(feature = "emulators")]
    pub emulators: Option<emulator::EmulatorsConfig>,
    /// The `[identity]` table: the credential of the token broker (none: no broker).
    pub identity: Option<crate::identity::IdentityConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    module: Vec<RawModule>,
    cache: Option<RawCache>,
    limits: Option<RawLimits>,
    dashboard: Option<crate::DashboardConfig>,
    emulators: Option<toml::Table>,
    identity: Option<crate::identity::IdentityConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    route: String,
    module: String,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    http_max_concurrency: Option<u32>,
    entrypoint: Option<String>,
    argv: Option<String>,
    #[serde(default)]
    volumes: BTreeMap<String, String>,
    identity: Option<RawModuleIdentity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModuleIdentity {
    scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCache {
    #[serde(default = "yes")]
    enabled: bool,
    directory: Option<String>,
    // Keys of wasmtime's cache file format that only tune its cleanup: accepted, not used.
    #[allow(dead_code)]
    cleanup_interval: Option<String>,
    #[allow(dead_code)]
    optimized_compression_level: Option<i64>,
    #[allow(dead_code)]
    optimized_compression_usage_counter_threshold: Option<i64>,
    #[allow(dead_code)]
    baseline_compression_level: Option<i64>,
    #[allow(dead_code)]
    files_total_size_soft_limit: Option<String>,
    #[allow(dead_code)]
    file_count_soft_limit: Option<i64>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    request_timeout_secs: Option<f64>,
    memory_mib: Option<usize>,
    outbound_timeout_secs: Option<f64>,
    max_outbound_body_mib: Option<u64>,
    max_response_mib: Option<usize>,
    max_request_body_mib: Option<usize>,
    max_instances: Option<u32>,
    header_read_timeout_secs: Option<f64>,
    body_read_timeout_secs: Option<f64>,
    max_connections: Option<usize>,
    block_private_networks: Option<bool>,
    outbound_connect_timeout_secs: Option<f64>,
    outbound_max_idle_per_host: Option<usize>,
    outbound_idle_timeout_secs: Option<f64>,
    max_hops: Option<u32>,
    reserved_instances: Option<u32>,
    shutdown_grace_secs: Option<f64>,
}

impl HarnessConfig {
    /// Reads and checks a config file. Relative paths in it are relative to its folder.
    ///
    /// ```
    /// let err = harness::HarnessConfig::from_file("missing.toml".as_ref()).unwrap_err();
    /// assert!(err.to_string().contains("missing.toml"));
    /// ```
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::from_toml(&text, &base).map_err(|message| Error::Config {
            file: path.to_path_buf(),
            message,
        })
    }

    /// Parses config text; relative paths resolve against `base`. The error says what to fix.
    ///
    /// ```
    /// let cfg = harness::HarnessConfig::from_toml(
    ///     "[[module]]\nroute = \"/x\"\nmodule = \"x.wasm\"\n",
    ///     ".".as_ref(),
    /// );
    /// // x.wasm does not exist here, so the check names it.
    /// assert!(cfg.unwrap_err().contains("x.wasm"));
    /// ```
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            format!("{e}\nfix the entry above; valid module keys are route, module, environment, allowed_hosts, http_max_concurrency, entrypoint, argv, volumes, identity")
        })?;
        if raw.module.is_empty() && raw.emulators.is_none() {
            return Err("no [[module]] table: add one with `route` and `module`".into());
        }
        let mut modules = Vec::with_capacity(raw.module.len());
        let mut seen = BTreeMap::new();
        for (index, m) in raw.module.into_iter().enumerate() {
            let label = format!("[[module]] #{} (route {:?})", index + 1, m.route);
            let module = check_module(m, base).map_err(|e| format!("{label}: {e}"))?;
            if let Some(first) = seen.insert(module.route.clone(), index + 1) {
                return Err(format!(
                    "{label}: route already used by [[module]] #{first}; give each module its own route"
                ));
            }
            modules.push(module);
        }
        let cache = match raw.cache {
            None => CacheConfig::default(),
            Some(c) => CacheConfig {
                enabled: c.enabled,
                directory: c.directory.map(|d| resolve(base, &d)),
            },
        };
        let limits = raw.limits.map(to_limits).transpose()?.unwrap_or_default();
        let dashboard = raw.dashboard.unwrap_or_default();
        dashboard.validate()?;
        #[cfg(feature = "emulators")]
        let emulators = raw.emulators.map(|t| to_emulators(t, base)).transpose()?;
        #[cfg(not(feature = "emulators"))]
        if raw.emulators.is_some() {
            return Err("[emulators]: this harness was built without the `emulators` feature; enable it (the `harness` binary has it) or remove the table".into());
        }
        Ok(Self {
            modules,
            cache,
            limits,
            dashboard,
            #[cfg(feature = "emulators")]
            emulators,
            identity: raw.identity,
        })
    }
}

fn check_module(m: RawModule, base: &Path) -> Result<ModuleConfig, String> {
    crate::routes::Route::parse(&m.route)?;
    if m.module.contains(':') && !m.module.starts_with('/') && !m.module.starts_with("file:") {
        return Err(format!(
            "module {:?}: only local files are supported (no bindle or OCI references); give a path to a .wasm file",
            m.module
        ));
    }
    let path = resolve(base, m.module.trim_start_matches("file://"));
    if !path.is_file() {
        return Err(format!(
            "module file {} does not exist; build it (cargo xtask build) or fix the path (relative paths start at the config file's folder)",
            path.display()
        ));
    }
    AllowList::parse(&m.allowed_hosts)?;
    if m.http_max_concurrency == Some(0) {
        return Err("http_max_concurrency must be at least 1".into());
    }
    for (name, _) in m.environment.iter() {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(format!("environment variable name {name:?} is not valid"));
        }
    }
    let scopes = m.identity.map(|i| i.scopes).unwrap_or_default();
    for scope in &scopes {
        crate::identity::ModuleIdentity::check_scope(scope)?;
    }
    let mut volumes = BTreeMap::new();
    for (guest, host) in m.volumes {
        let host = resolve(base, &host);
        if !host.is_dir() {
            return Err(format!(
                "volume {guest:?}: host folder {} does not exist; create it or fix the path",
                host.display()
            ));
        }
        volumes.insert(guest, host);
    }
    Ok(ModuleConfig {
        route: m.route,
        module: path,
        environment: m.environment,
        allowed_hosts: m.allowed_hosts,
        http_max_concurrency: m.http_max_concurrency,
        entrypoint: m.entrypoint,
        argv: m.argv,
        volumes,
        identity: crate::identity::ModuleIdentity {
            scopes,
            broker: None,
        },
    })
}

fn to_limits(raw: RawLimits) -> Result<Limits, String> {
    let d = Limits::default();
    let secs = |v: Option<f64>, name: &str, default: Duration| match v {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s < 86_400.0 => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(format!(
            "[limits] {name} = {s} is out of range; use a number of seconds above 0 and below 86400"
        )),
    };
    let mib = |v: Option<usize>, name: &str, default: usize| match v {
        None => Ok(default),
        Some(m) if (1..=65_536).contains(&m) => Ok(m << 20),
        Some(m) => Err(format!(
            "[limits] {name} = {m} is out of range; use MiB between 1 and 65536"
        )),
    };
    Ok(Limits {
        request_timeout: secs(
            raw.request_timeout_secs,
            "request_timeout_secs",
            d.request_timeout,
        )?,
        memory_bytes: mib(raw.memory_mib, "memory_mib", d.memory_bytes)?,
        outbound_timeout: secs(
            raw.outbound_timeout_secs,
            "outbound_timeout_secs",
            d.outbound_timeout,
        )?,
        max_outbound_body_bytes: mib(
            raw.max_outbound_body_mib.map(|v| v as usize),
            "max_outbound_body_mib",
            d.max_outbound_body_bytes as usize,
        )? as u64,
        max_response_bytes: mib(
            raw.max_response_mib,
            "max_response_mib",
            d.max_response_bytes,
        )?,
        max_request_body_bytes: mib(
            raw.max_request_body_mib,
            "max_request_body_mib",
            d.max_request_body_bytes,
        )?,
        max_instances: match raw.max_instances {
            None => d.max_instances,
            Some(n) if (1..=10_000).contains(&n) => n,
            Some(n) => {
                return Err(format!(
                    "[limits] max_instances = {n} is out of range; use 1 to 10000"
                ))
            }
        },
        default_http_max_concurrency: d.default_http_max_concurrency,
        header_read_timeout: secs(
            raw.header_read_timeout_secs,
            "header_read_timeout_secs",
            d.header_read_timeout,
        )?,
        body_read_timeout: secs(
            raw.body_read_timeout_secs,
            "body_read_timeout_secs",
            d.body_read_timeout,
        )?,
        max_connections: match raw.max_connections {
            None => d.max_connections,
            Some(n) if (1..=100_000).contains(&n) => n,
            Some(n) => {
                return Err(format!(
                    "[limits] max_connections = {n} is out of range; use 1 to 100000"
                ))
            }
        },
        block_private_networks: raw
            .block_private_networks
            .unwrap_or(d.block_private_networks),
        outbound_connect_timeout: secs(
            raw.outbound_connect_timeout_secs,
            "outbound_connect_timeout_secs",
            d.outbound_connect_timeout,
        )?,
        outbound_max_idle_per_host: match raw.outbound_max_idle_per_host {
            None => d.outbound_max_idle_per_host,
            Some(n) if n <= 10_000 => n,
            Some(n) => {
                return Err(format!(
                    "[limits] outbound_max_idle_per_host = {n} is out of range; use 0 to 10000"
                ))
            }
        },
        outbound_idle_timeout: secs(
            raw.outbound_idle_timeout_secs,
            "outbound_idle_timeout_secs",
            d.outbound_idle_timeout,
        )?,
        max_hops: match raw.max_hops {
            None => d.max_hops,
            Some(n) if n <= 1_000 => n,
            Some(n) => {
                return Err(format!(
                    "[limits] max_hops = {n} is out of range; use 0 to 1000"
                ))
            }
        },
        reserved_instances: match raw.reserved_instances {
            None => d.reserved_instances,
            Some(n) if n <= 10_000 => n,
            Some(n) => {
                return Err(format!(
                    "[limits] reserved_instances = {n} is out of range; use 0 to 10000"
                ))
            }
        },
        shutdown_grace: match raw.shutdown_grace_secs {
            None => d.shutdown_grace,
            Some(s) if s.is_finite() && (0.0..86_400.0).contains(&s) => Duration::from_secs_f64(s),
            Some(s) => {
                return Err(format!(
                    "[limits] shutdown_grace_secs = {s} is out of range; use a number of seconds from 0 (cut at once) to below 86400"
                ))
            }
        },
    })
}

#[cfg(feature = "emulators")]
fn to_emulators(table: toml::Table, base: &Path) -> Result<emulator::EmulatorsConfig, String> {
    let mut config: emulator::EmulatorsConfig = table
        .try_into()
        .map_err(|e| format!("[emulators]: {e}; see crates/emulator/README.md for the keys"))?;
    if let Some(dir) = config.data_dir.take() {
        config.data_dir = Some(if dir.is_absolute() {
            dir
        } else {
            base.join(dir)
        });
    }
    config.validate().map_err(|e| format!("[emulators]: {e}"))?;
    Ok(config)
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with_wasm() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.wasm"), b"\0asm\x01\0\0\0").unwrap();
        dir
    }

    #[test]
    fn reads_a_wagi_file() {
        let dir = dir_with_wasm();
        let cfg = HarnessConfig::from_toml(
            r#"
            [[module]]
            route = "/a/..."
            module = "m.wasm"
            environment = { K = "V" }
            allowed_hosts = ["http://127.0.0.1:1"]
            http_max_concurrency = 3
            [limits]
            request_timeout_secs = 2.5
            memory_mib = 64
            block_private_networks = false
            outbound_connect_timeout_secs = 2
            outbound_max_idle_per_host = 3
            outbound_idle_timeout_secs = 5
            max_hops = 4
            reserved_instances = 7
            shutdown_grace_secs = 0.5
            "#,
            dir.path(),
        )
        .unwrap();
        assert_eq!(cfg.modules[0].module, dir.path().join("m.wasm"));
        assert_eq!(cfg.modules[0].environment["K"], "V");
        assert_eq!(cfg.limits.request_timeout, Duration::from_millis(2500));
        assert_eq!(cfg.limits.memory_bytes, 64 << 20);
        assert!(!cfg.limits.block_private_networks);
        assert_eq!(cfg.limits.outbound_connect_timeout, Duration::from_secs(2));
        assert_eq!(cfg.limits.outbound_max_idle_per_host, 3);
        assert_eq!(cfg.limits.outbound_idle_timeout, Duration::from_secs(5));
        assert_eq!(cfg.limits.max_hops, 4);
        assert_eq!(cfg.limits.reserved_instances, 7);
        assert_eq!(cfg.limits.shutdown_grace, Duration::from_millis(500));
    }

    #[test]
    fn a_typo_names_the_key_and_the_fix() {
        let dir = dir_with_wasm();
        let err = HarnessConfig::from_toml(
            "[[module]]\nroute = \"/a\"\nmodul = \"m.wasm\"\n",
            dir.path(),
        )
        .unwrap_err();
        assert!(err.contains("modul"), "{err}");
        assert!(err.contains("valid module keys"), "{err}");
    }

    #[test]
    fn bad_values_name_the_module() {
        let dir = dir_with_wasm();
        let cases = [
            ("route = \"a\"\nmodule = \"m.wasm\"", "must start with '/'"),
            ("route = \"/a\"\nmodule = \"none.wasm\"", "does not exist"),
            (
                "route = \"/a\"\nmodule = \"m.wasm\"\nallowed_hosts = [\"x.com\"]",
                "no scheme",
            ),
            (
                "route = \"/a\"\nmodule = \"m.wasm\"\nvolumes = { \"/d\" = \"nope\" }",
                "does not exist",
            ),
        ];
        for (body, expected) in cases {
            let err =
                HarnessConfig::from_toml(&format!("[[module]]\n{body}\n"), dir.path()).unwrap_err();
            assert!(err.contains("[[module]] #1"), "{err}");
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn dashboard_table_is_read_and_checked() {
        let dir = dir_with_wasm();
        let m = "[[module]]\nroute = \"/a\"\nmodule = \"m.wasm\"\n";
        let cfg = HarnessConfig::from_toml(m, dir.path()).unwrap();
        assert_eq!(cfg.dashboard, crate::DashboardConfig::default());
        let text = format!("{m}[dashboard]\nmetrics_path = \"/prom\"\nallow_remote = true\n");
        let cfg = HarnessConfig::from_toml(&text, dir.path()).unwrap();
        assert_eq!(cfg.dashboard.metrics_path, "/prom");
        assert!(cfg.dashboard.allow_remote && cfg.dashboard.enabled);
        let typo = format!("{m}[dashboard]\nenable = false\n");
        let err = HarnessConfig::from_toml(&typo, dir.path()).unwrap_err();
        assert!(err.contains("enable"), "{err}");
        let bad = format!("{m}[dashboard]\npath = \"x\"\n");
        let err = HarnessConfig::from_toml(&bad, dir.path()).unwrap_err();
        assert!(err.contains("[dashboard] path"), "{err}");
    }

    #[cfg(feature = "emulators")]
    #[test]
    fn emulators_table_is_checked() {
        let dir = dir_with_wasm();
        let m = "[[module]]\nroute = \"/a\"\nmodule = \"m.wasm\"\n";
        let cfg = HarnessConfig::from_toml(
            &format!("{m}[emulators]\ndata_dir = \"data\"\n[emulators.blob]\nport = 0\n"),
            dir.path(),
        )
        .unwrap();
        let emus = cfg.emulators.unwrap();
        assert_eq!(emus.data_dir, Some(dir.path().join("data")));
        assert_eq!(emus.blob.port, 0);
        let err = HarnessConfig::from_toml(&format!("{m}[emulators.blob]\nprot = 1\n"), dir.path())
            .unwrap_err();
        assert!(err.contains("[emulators]") && err.contains("prot"), "{err}");
    }

    #[test]
    fn duplicate_routes_and_bad_limits_are_rejected() {
        let dir = dir_with_wasm();
        let m = "[[module]]\nroute = \"/a\"\nmodule = \"m.wasm\"\n";
        let err = HarnessConfig::from_toml(&format!("{m}{m}"), dir.path()).unwrap_err();
        assert!(err.contains("already used"), "{err}");
        let err = HarnessConfig::from_toml(
            &format!("{m}[limits]\nrequest_timeout_secs = -1\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        let err = HarnessConfig::from_toml(
            &format!("{m}[limits]\nshutdown_grace_secs = -1\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(err.contains("shutdown_grace_secs"), "{err}");
        let cfg = HarnessConfig::from_toml(
            &format!("{m}[limits]\nshutdown_grace_secs = 0\n"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(cfg.limits.shutdown_grace, Duration::ZERO);
    }
}
