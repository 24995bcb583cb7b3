//! Capturing the harness's log lines in a test.

use std::sync::{Arc, Mutex, OnceLock};

/// The log lines written while a capture is active, as text.
///
/// ```
/// let (logs, _guard) = e2e::capture_logs();
/// tracing::info!("hello from a test");
/// assert!(logs.text().contains("hello from a test"));
/// ```
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn subscriber(logs: &Logs) -> impl tracing::Subscriber + Send + Sync {
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .finish()
}

/// Captures the INFO-and-above lines logged on this thread until the guard is dropped (for
/// `current_thread` tests, where the harness's tasks run on the test's thread).
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let guard = tracing::subscriber::set_default(subscriber(&logs));
    (logs, guard)
}

/// The log lines of every test in this binary, from any thread (one global subscriber);
/// assertions should look for lines naming something of their own test, e.g. its port.
///
/// ```
/// let logs = e2e::global_logs(); // install before anything logs
/// tracing::warn!("a line with marker 7f3a");
/// assert!(logs.text().contains("marker 7f3a"));
/// ```
pub fn global_logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        tracing::subscriber::set_global_default(subscriber(&logs))
            .expect("the only global subscriber of this test binary");
        logs
    })
}
