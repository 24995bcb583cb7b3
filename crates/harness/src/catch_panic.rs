//! A guest polled on the connection's own task: a panic in host code while it runs (a harness
//! bug) becomes an answer for that request instead of unwinding the whole connection.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls `F` (a pinned future: `CatchPanic(std::pin::pin!(fut))` costs no allocation); a panic
/// while polling ends it with the panic's message. It is not polled again after a panic.
pub(crate) struct CatchPanic<F>(pub(crate) F);

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = Pin::new(&mut self.0);
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(message(payload.as_ref()))),
        }
    }
}

/// The message a panic was raised with.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(s), _) => (*s).to_string(),
        (None, Some(s)) => s.clone(),
        (None, None) => "a panic without a message".to_string(),
    }
}

/// The detail of the outcome for a request whose run panicked (logged, not sent).
pub(crate) fn panicked(message: &str) -> String {
    format!("the host panicked while the guest ran (a harness bug): {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_while_polling_becomes_its_message() {
        let boom = CatchPanic(std::pin::pin!(async {
            tokio::task::yield_now().await;
            panic!("boom {}", 7);
        }));
        assert_eq!(boom.await, Err::<(), _>("boom 7".to_string()));
    }

    #[tokio::test]
    async fn a_future_that_ends_gives_its_output() {
        assert_eq!(CatchPanic(std::pin::pin!(async { 5 })).await, Ok(5));
    }
}
