//! Waiting for a guest with a deadline, without arming a timer for a guest that is done at once.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Instant;

/// Runs `future` until `deadline`: `None` when the deadline passed first.
///
/// The first poll goes to `future` alone, so one that is ready at once (a small guest that
/// never waits for I/O) registers no timer: that saves a timer-wheel insert and removal per
/// request. Otherwise this is `tokio::time::timeout_at`, which also polls the future before it
/// looks at the clock, so a future is never cut short by a deadline it met.
pub(crate) async fn within<F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let first = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(output) => Some(output),
        Poll::Pending => tokio::time::timeout_at(deadline.into(), future).await.ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_ready_future_is_returned_even_past_its_deadline() {
        let past = Instant::now() - Duration::from_millis(5);
        assert_eq!(within(past, async { 7 }).await, Some(7));
    }

    #[tokio::test]
    async fn a_waiting_future_is_cut_at_its_deadline() {
        let deadline = Instant::now() + Duration::from_millis(20);
        let never = std::future::pending::<()>();
        assert_eq!(within(deadline, never).await, None);
        assert!(Instant::now() >= deadline);
    }

    #[tokio::test]
    async fn a_waiting_future_that_ends_in_time_gives_its_output() {
        let deadline = Instant::now() + Duration::from_secs(30);
        let later = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            "done"
        };
        assert_eq!(within(deadline, later).await, Some("done"));
    }
}
