//! Waiting on the upstream within bounds: deadlines that saturate instead of panicking, and
//! a future that also ends when the client leaves.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pingora_proxy::Session;

/// `start + limit`, never a panic: a limit too far to represent (a config's `timeout: 1e19`)
/// becomes a deadline a day away.
pub(crate) fn deadline_after(start: Instant, limit: Duration) -> Instant {
    start
        .checked_add(limit)
        .or_else(|| start.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(start)
}

/// Wait for `fut` unless the client leaves or the deadline passes: `None` when the client
/// left, `Some(Err(()))` at the deadline.
pub(crate) fn guarded<'s, F: Future>(
    session: &'s mut Session,
    deadline: Instant,
    fut: F,
) -> Guarded<impl Future + 's, F> {
    Guarded {
        idle: session.as_downstream_mut().read_body_or_idle(true),
        sleep: tokio::time::sleep_until(deadline.into()),
        fut,
    }
}

pin_project_lite::pin_project! {
    /// [`guarded`]'s future. A plain struct rather than an `async fn` around `select!`, which
    /// would hold `fut` twice (as its argument, then inside the select) and so make every
    /// future that awaits it as much larger.
    pub(crate) struct Guarded<I, F> {
        #[pin]
        idle: I,
        #[pin]
        sleep: tokio::time::Sleep,
        #[pin]
        fut: F,
    }
}

impl<I: Future, F: Future> Future for Guarded<I, F> {
    type Output = Option<Result<F::Output, ()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // In this order: a client that left, then the deadline, then the work.
        if this.idle.poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        if this.sleep.poll(cx).is_ready() {
            return Poll::Ready(Some(Err(())));
        }
        this.fut.poll(cx).map(|v| Some(Ok(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_saturate_instead_of_panicking() {
        let now = Instant::now();
        let five = Duration::from_secs(5);
        assert_eq!(deadline_after(now, five), now + five);
        assert!(deadline_after(now, Duration::MAX) > now);
        assert!(deadline_after(now, Duration::from_secs_f64(1e19)) > now);
    }
}
