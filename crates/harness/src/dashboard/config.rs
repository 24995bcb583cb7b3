//! The `[dashboard]` table: where the dashboard and `/metrics` are served, and to whom.

use serde::Deserialize;

/// Where the dashboard page (with its JSON and live endpoints) and the Prometheus metrics are
/// served. Both answer only on a loopback listen address unless `allow_remote` is set; on any
/// other they are 404, as an unrouted path.
///
/// ```
/// let cfg: harness::DashboardConfig =
///     toml::from_str("path = \"/_dev/\"\nallow_remote = true\nguest_cpu = true")?;
/// assert_eq!(cfg.path, "/_dev/");
/// assert!(cfg.guest_cpu);
/// assert_eq!(cfg.metrics_path, "/metrics");
/// assert!(cfg.enabled && cfg.allow_remote);
/// assert!(cfg.validate().is_ok());
/// let bad = harness::DashboardConfig { path: "/_dev".into(), ..Default::default() };
/// assert!(bad.validate().unwrap_err().contains("end with"));
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardConfig {
    /// Serve the dashboard and `/metrics` at all (on by default). Off, requests are not
    /// recorded either.
    pub enabled: bool,
    /// The dashboard's prefix (default `/_harness/`): starts and ends with `/`.
    pub path: String,
    /// The Prometheus endpoint (default `/metrics`).
    pub metrics_path: String,
    /// Also serve them when the harness listens on a non-loopback address.
    pub allow_remote: bool,
    /// Requests kept for the page's list (default 200, at most 10,000).
    pub recent_requests: usize,
    /// Also measure the CPU time each module spends in guest code, served as
    /// `harness_guest_cpu_seconds_total` (off by default: it reads the thread's CPU clock twice
    /// per host call, a few percent of a small handler's cost).
    pub guest_cpu: bool,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: "/_harness/".into(),
            metrics_path: "/metrics".into(),
            allow_remote: false,
            recent_requests: 200,
            guest_cpu: false,
        }
    }
}

/// Most records a config may ask to keep.
const MAX_RECENT: usize = 10_000;

impl DashboardConfig {
    /// Checks the paths and the record count; the error names the key and the fix.
    ///
    /// ```
    /// let many = harness::DashboardConfig { recent_requests: 1_000_000, ..Default::default() };
    /// assert!(many.validate().unwrap_err().contains("recent_requests"));
    /// let hidden = harness::DashboardConfig { enabled: false, guest_cpu: true, ..Default::default() };
    /// assert!(hidden.validate().unwrap_err().contains("guest_cpu"));
    /// assert!(harness::DashboardConfig::default().validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        if !self.path.starts_with('/') || !self.path.ends_with('/') || self.path.len() < 3 {
            return Err(format!(
                "[dashboard] path = {:?}: it must start and end with `/` and name a folder, like \"/_harness/\"",
                self.path
            ));
        }
        if !self.metrics_path.starts_with('/') || self.metrics_path.len() < 2 {
            return Err(format!(
                "[dashboard] metrics_path = {:?}: it must start with `/`, like \"/metrics\"",
                self.metrics_path
            ));
        }
        if self.guest_cpu && !self.enabled {
            return Err(
                "[dashboard] guest_cpu = true needs enabled = true: the figure is served on /metrics"
                    .into(),
            );
        }
        if self.recent_requests > MAX_RECENT {
            return Err(format!(
                "[dashboard] recent_requests = {}: at most {MAX_RECENT}",
                self.recent_requests
            ));
        }
        Ok(())
    }

    /// Whether a module routed at `route` would be hidden by the dashboard's paths.
    pub(crate) fn hides(&self, route: &str) -> bool {
        self.enabled && (route == self.metrics_path || route.starts_with(&self.path))
    }
}
