//! How a run ended, and the response each ending becomes: one place for both worlds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::bodies::{full, OutBody};
use crate::parse_cgi_output;

/// How a run ended.
pub(crate) enum Outcome {
    /// A WAGI module finished (returned or `proc_exit(0)`); this is its CGI output.
    Finished(Bytes),
    /// The handler's response head is ready and its body streams to the client; whatever
    /// happens to the guest from here on ends or cuts that body.
    Streaming(Response<OutBody>),
    /// The handler's answer is unusable (a 502); the reason is safe to show the client.
    Invalid(String),
    /// It exited with a non-zero code.
    Exited(i32),
    /// It trapped.
    Trapped(String),
    /// It ran past the wall-clock limit.
    TimedOut,
    /// No instance slot was free.
    Busy,
    /// It could not start.
    Failed(String),
}

impl Outcome {
    /// How the run ended, in a few words for a log line.
    pub(crate) fn describe(&self) -> String {
        match self {
            Outcome::Finished(_) | Outcome::Streaming(_) => "the handler finished".into(),
            Outcome::Invalid(reason) => reason.clone(),
            Outcome::Exited(code) => format!("the handler exited with code {code}"),
            Outcome::Trapped(detail) => format!("the handler trapped: {detail}"),
            Outcome::TimedOut => "the handler ran past request_timeout and was stopped".into(),
            Outcome::Busy => "no instance slot was free".into(),
            Outcome::Failed(detail) => format!("the handler could not start: {detail}"),
        }
    }
}

/// Logs a request's stderr (already capped) as `harness::guest_stderr` lines.
pub(crate) fn log_guest_stderr(route: &str, stderr: &[u8]) {
    for line in crate::GuestLog::log_lines(stderr) {
        tracing::info!(target: "harness::guest_stderr", route = %route, "{line}");
    }
}

/// Timings of one run. When the response streams, `run` ends when the response head is ready
/// (the time to first byte), not when the guest stops.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timings {
    pub(crate) instantiate: Duration,
    pub(crate) run: Duration,
}

impl Timings {
    /// The `server-timing` header value: milliseconds with three decimals (microseconds
    /// rounded and formatted as integers: this is on every response).
    pub(crate) fn header(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(48);
        for (i, (name, d)) in [("instantiate", self.instantiate), ("run", self.run)]
            .into_iter()
            .enumerate()
        {
            // Whole microseconds, rounded, in u64 arithmetic (u128's division and formatting
            // cost more than the rest of this function).
            let us = d
                .as_secs()
                .saturating_mul(1_000_000)
                .saturating_add(u64::from((d.subsec_nanos() + 500) / 1000));
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(out, "{sep}{name};dur={}.{:03}", us / 1000, us % 1000);
        }
        out
    }
}

/// Measures one run: started now, instantiated when [`RunClock::instantiated`] is called.
#[derive(Clone, Debug)]
pub(crate) struct RunClock {
    started: Instant,
    instantiated_nanos: Arc<AtomicU64>,
}

impl RunClock {
    /// A clock started now.
    pub(crate) fn start() -> Self {
        Self {
            started: Instant::now(),
            instantiated_nanos: Arc::default(),
        }
    }

    /// When the run started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// Records that the instance is ready.
    pub(crate) fn instantiated(&self) {
        let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.instantiated_nanos.store(nanos, Ordering::Relaxed);
    }

    /// The timings so far: instantiation, and the rest up to now.
    pub(crate) fn timings(&self) -> Timings {
        let instantiate = Duration::from_nanos(self.instantiated_nanos.load(Ordering::Relaxed));
        Timings {
            instantiate,
            run: self.started.elapsed().saturating_sub(instantiate),
        }
    }
}

/// The response for `outcome` of a module on `route` with wall-clock limit `timeout`; every
/// failure is logged once here.
pub(crate) fn response_for(outcome: Outcome, route: &str, timeout: Duration) -> Response<OutBody> {
    match outcome {
        Outcome::Finished(out) => match parse_cgi_output(out) {
            Ok(r) => r.map(full),
            Err(reason) => {
                tracing::warn!(route = %route, "invalid CGI output: {reason}");
                text(StatusCode::BAD_GATEWAY, &reason).map(full)
            }
        },
        Outcome::Streaming(response) => response,
        other => failure(other, route, timeout).map(full),
    }
}

/// The plain-text response for an outcome that is not a response.
fn failure(outcome: Outcome, route: &str, timeout: Duration) -> Response<Bytes> {
    match outcome {
        Outcome::Finished(_) | Outcome::Streaming(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the handler's response was lost; see the server log",
        ),
        Outcome::Invalid(reason) => {
            tracing::warn!(route = %route, "invalid response: {reason}");
            text(StatusCode::BAD_GATEWAY, &reason)
        }
        Outcome::Exited(code) => {
            tracing::warn!(route = %route, "module exited with code {code}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the handler exited with code {code}; see the server log"),
            )
        }
        Outcome::Trapped(detail) => {
            tracing::warn!(route = %route, "module trapped: {detail}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the handler crashed (a WebAssembly trap); see the server log",
            )
        }
        Outcome::TimedOut => {
            tracing::warn!(route = %route, "module exceeded the time limit of {timeout:?}");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("the handler did not finish within {timeout:?}; it was stopped"),
            )
        }
        Outcome::Busy => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many requests are running; try again shortly",
        ),
        Outcome::Failed(detail) => {
            tracing::warn!(route = %route, "module failed to start: {detail}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the handler could not start; see the server log",
            )
        }
    }
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(format!("{body}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The 404 for a path no module is routed at.
pub(crate) fn no_route(path: &str) -> Response<Bytes> {
    text(
        StatusCode::NOT_FOUND,
        &format!("no route matches {path}; add a [[module]] with this route"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_gives_milliseconds_with_three_decimals() {
        let t = Timings {
            instantiate: Duration::from_nanos(4_600),
            run: Duration::from_micros(12_345_678),
        };
        assert_eq!(t.header(), "instantiate;dur=0.005, run;dur=12345.678");
        assert_eq!(
            Timings::default().header(),
            "instantiate;dur=0.000, run;dur=0.000"
        );
        let carry = Timings {
            instantiate: Duration::new(2, 999_999_500),
            run: Duration::MAX,
        };
        assert_eq!(
            carry.header(),
            format!(
                "instantiate;dur=3000.000, run;dur={}.{:03}",
                u64::MAX / 1000,
                u64::MAX % 1000
            )
        );
    }
}
