//! One routed module: what WAGI's `[[module]]` table says, as a Rust value.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A module served on a route, with its environment and outbound permissions.
///
/// This is the in-code form of a `[[module]]` table in `modules.toml` / `wagi.toml`.
///
/// ```
/// use harness::ModuleConfig;
/// let m = ModuleConfig::new("/hello", "hello.wasm")
///     .env("GREETING", "hi")
///     .allowed_host("http://127.0.0.1:10000")
///     .http_max_concurrency(4);
/// assert_eq!(m.route, "/hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleConfig {
    /// `/path` (exact) or `/path/...` (prefix).
    pub route: String,
    /// The `.wasm` file.
    pub module: PathBuf,
    /// Extra environment variables, applied after the CGI ones.
    pub environment: BTreeMap<String, String>,
    /// Outbound URLs the module may call (see [`crate::AllowList`]).
    pub allowed_hosts: Vec<String>,
    /// Most response handles a single request may hold open at once (code 13 past it).
    pub http_max_concurrency: Option<u32>,
    /// Exported function to call; `_start` by default.
    pub entrypoint: Option<String>,
    /// argv template; `${SCRIPT_NAME}` and `${ARGS}` are replaced. Default: path, then query items.
    pub argv: Option<String>,
    /// Guest path to host directory, preopened read-write.
    pub volumes: BTreeMap<String, PathBuf>,
    /// Entra ID scopes the module's guests may get tokens for (`identity = { scopes = [...] }`).
    pub identity: crate::identity::ModuleIdentity,
}

impl ModuleConfig {
    /// A module at `module` served on `route`, with no environment and no outbound access.
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/api/...", "api.wasm");
    /// assert!(m.allowed_hosts.is_empty());
    /// ```
    pub fn new(route: impl Into<String>, module: impl Into<PathBuf>) -> Self {
        Self {
            route: route.into(),
            module: module.into(),
            environment: BTreeMap::new(),
            allowed_hosts: Vec::new(),
            http_max_concurrency: None,
            entrypoint: None,
            argv: None,
            volumes: BTreeMap::new(),
            identity: Default::default(),
        }
    }

    /// Adds an environment variable.
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/", "m.wasm").env("A", "1");
    /// assert_eq!(m.environment["A"], "1");
    /// ```
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.environment.insert(key.into(), value.into());
        self
    }

    /// Allows outbound calls to `entry` (a URL such as `http://127.0.0.1:8080`).
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/", "m.wasm").allowed_host("https://*.example.com");
    /// assert_eq!(m.allowed_hosts.len(), 1);
    /// ```
    pub fn allowed_host(mut self, entry: impl Into<String>) -> Self {
        self.allowed_hosts.push(entry.into());
        self
    }

    /// Caps the response handles one request may hold open.
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/", "m.wasm").http_max_concurrency(2);
    /// assert_eq!(m.http_max_concurrency, Some(2));
    /// ```
    pub fn http_max_concurrency(mut self, n: u32) -> Self {
        self.http_max_concurrency = Some(n);
        self
    }

    /// Calls `name` instead of `_start`.
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/", "m.wasm").entrypoint("handle");
    /// assert_eq!(m.entrypoint.as_deref(), Some("handle"));
    /// ```
    pub fn entrypoint(mut self, name: impl Into<String>) -> Self {
        self.entrypoint = Some(name.into());
        self
    }

    /// Sets the argv template (`${SCRIPT_NAME}`, `${ARGS}`).
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/", "m.wasm").argv("${SCRIPT_NAME} --verbose ${ARGS}");
    /// assert!(m.argv.is_some());
    /// ```
    pub fn argv(mut self, template: impl Into<String>) -> Self {
        self.argv = Some(template.into());
        self
    }

    /// Lets the module's guests get tokens for `scope` from the harness's broker.
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/", "m.wasm").identity_scope("https://eventgrid.azure.net/.default");
    /// assert_eq!(m.identity.scopes.len(), 1);
    /// ```
    pub fn identity_scope(mut self, scope: impl Into<String>) -> Self {
        self.identity.scopes.push(scope.into());
        self
    }

    /// Preopens host directory `host` at `guest` inside the module.
    ///
    /// ```
    /// let m = harness::ModuleConfig::new("/", "m.wasm").volume("/data", "/tmp");
    /// assert_eq!(m.volumes.len(), 1);
    /// ```
    pub fn volume(mut self, guest: impl Into<String>, host: impl Into<PathBuf>) -> Self {
        self.volumes.insert(guest.into(), host.into());
        self
    }
}
