//! Inbound protections shared by the three emulator servers: timeouts and a connection cap.

use std::time::Duration;

use serde::Deserialize;

use crate::{Error, Result};

/// Limits of one emulator's HTTP server (`[emulators.blob.limits]`, `[emulators.eventgrid.limits]`,
/// `[emulators.cosmos.settings.limits]`). Every key is optional.
///
/// - `header_read_timeout_ms`: a request head (request line and headers) must arrive within this
///   time, counted from when the server is ready for it, so it also closes a kept-alive
///   connection that sends nothing.
/// - `idle_timeout_ms`: a connection on which no byte moves in either direction while no request
///   is being handled is closed after this long (this also frees a client that never reads its
///   response).
/// - `body_read_timeout_ms`: a request body must arrive completely within this time, else 408.
/// - `max_connections`: open connections; a few more get a 503 and are closed, the rest are
///   closed at once.
///
/// ```
/// let l: emulator::ServerLimits = toml::from_str("max_connections = 8").unwrap();
/// assert_eq!(l.max_connections, 8);
/// assert_eq!(l.header_read_timeout(), std::time::Duration::from_secs(10));
/// assert!(toml::from_str::<emulator::ServerLimits>("max_conections = 8").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    /// Open connections served normally (at least 1).
    pub max_connections: usize,
    /// Time allowed for a request head, in milliseconds.
    pub header_read_timeout_ms: u64,
    /// Time a connection may sit with no traffic and no request in progress, in milliseconds.
    pub idle_timeout_ms: u64,
    /// Time allowed for a whole request body, in milliseconds.
    pub body_read_timeout_ms: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            body_read_timeout_ms: 60_000,
        }
    }
}

impl ServerLimits {
    /// [`ServerLimits::header_read_timeout_ms`] as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// [`ServerLimits::idle_timeout_ms`] as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// [`ServerLimits::body_read_timeout_ms`] as a duration.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    /// Every value must be positive; `section` names the table in the message.
    ///
    /// ```
    /// let zero = emulator::ServerLimits { max_connections: 0, ..Default::default() };
    /// let err = zero.validate("blob.limits").unwrap_err();
    /// assert!(err.to_string().contains("blob.limits.max_connections"));
    /// ```
    pub fn validate(&self, section: &str) -> Result<()> {
        let zero = [
            ("max_connections", self.max_connections == 0),
            ("header_read_timeout_ms", self.header_read_timeout_ms == 0),
            ("idle_timeout_ms", self.idle_timeout_ms == 0),
            ("body_read_timeout_ms", self.body_read_timeout_ms == 0),
        ];
        match zero.iter().find(|(_, is_zero)| *is_zero) {
            Some((name, _)) => Err(Error::Config(format!(
                "{section}.{name} must be greater than 0"
            ))),
            None => Ok(()),
        }
    }
}
