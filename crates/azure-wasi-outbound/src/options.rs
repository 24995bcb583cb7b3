//! Per-request options: the timeouts a caller asks the host for.

use std::time::Duration;

/// Timeouts for one outbound request.
///
/// On `wasm32-wasip2` they travel with the request as wasi:http `request-options`; the host may
/// lower them to its own limits. On `wasm32-wasip1` the host's own timeout applies (the
/// `wasi_experimental_http` ABI has no way to ask for one).
///
/// ```
/// use std::time::Duration;
/// let options = azure_wasi_outbound::Options::default()
///     .with_connect_timeout(Duration::from_secs(5))
///     .with_first_byte_timeout(Duration::from_secs(30));
/// assert_eq!(options.connect_timeout, Some(Duration::from_secs(5)));
/// assert_eq!(options.between_bytes_timeout, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Longest wait for the connection to open.
    pub connect_timeout: Option<Duration>,
    /// Longest wait, after the request is sent, for the first byte of the response.
    pub first_byte_timeout: Option<Duration>,
    /// Longest pause between two chunks of the response body.
    pub between_bytes_timeout: Option<Duration>,
}

impl Options {
    /// Sets the connect timeout.
    ///
    /// ```
    /// let o = azure_wasi_outbound::Options::default().with_connect_timeout(std::time::Duration::from_secs(1));
    /// assert!(o.connect_timeout.is_some());
    /// ```
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sets the first-byte timeout.
    ///
    /// ```
    /// let o = azure_wasi_outbound::Options::default().with_first_byte_timeout(std::time::Duration::from_secs(1));
    /// assert!(o.first_byte_timeout.is_some());
    /// ```
    pub fn with_first_byte_timeout(mut self, timeout: Duration) -> Self {
        self.first_byte_timeout = Some(timeout);
        self
    }

    /// Sets the between-bytes timeout.
    ///
    /// ```
    /// let o = azure_wasi_outbound::Options::default().with_between_bytes_timeout(std::time::Duration::from_secs(1));
    /// assert!(o.between_bytes_timeout.is_some());
    /// ```
    pub fn with_between_bytes_timeout(mut self, timeout: Duration) -> Self {
        self.between_bytes_timeout = Some(timeout);
        self
    }
}
