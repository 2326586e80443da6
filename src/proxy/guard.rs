//! Panic containment for a request task: the in-flight gauge is a drop guard, and a panic in
//! the handler becomes a 500 (when nothing was sent yet) instead of a dropped connection.
//!
//! Pingora does not catch panics: one in `request_filter` unwinds the connection task, so
//! `logging` never runs. With [`contain`] it does (the ticket is settled there as usual); and
//! should a panic escape anyway, dropping the `Ctx` still releases [`InFlight`] and the
//! governance `Ticket` (whose own `Drop` releases its reservation).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use pingora_proxy::Session;

use crate::core::error::{ApiError, ErrorKind};
use crate::metrics::metrics;

/// One request counted in `litellm_in_flight_requests` until released or dropped.
pub struct InFlight(());

impl InFlight {
    pub fn start() -> InFlight {
        metrics().in_flight.inc();
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics().in_flight.dec();
    }
}

/// Run `fut`, turning a panic inside it into `Err` with the panic's message. Pass a large
/// future boxed: it is moved into the wrapper.
pub fn contain<F: Future + Unpin>(fut: F) -> impl Future<Output = Result<F::Output, String>> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .map(|r| r.map_err(|p| panic_message(p.as_ref())))
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// After a contained panic: the connection is not reused, and the client gets a 500 if no
/// response header went out yet (`None` when one did: the answer is cut short instead).
pub fn answer_panic(session: &mut Session, message: &str) -> Option<ApiError> {
    log::error!(
        "request handler panicked ({} {}): {message}",
        session.req_header().method,
        session.req_header().uri.path()
    );
    session.set_keepalive(None);
    if session.response_written().is_some() {
        return None;
    }
    Some(ApiError::new(
        500,
        ErrorKind::ApiError,
        "Internal error: the gateway failed while handling this request.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_contained_and_the_gauge_released() {
        let before = metrics().in_flight.get();
        let guard = InFlight::start();
        let r = contain(Box::pin(async move {
            let _held = guard;
            if before > -1 {
                panic!("boom");
            }
            1
        }))
        .await;
        assert_eq!(r, Err("boom".to_string()));
        assert_eq!(metrics().in_flight.get(), before);
        assert_eq!(contain(Box::pin(async { 2 })).await, Ok(2));
        let formatted = contain(Box::pin(async { panic!("{}", 3) })).await;
        assert_eq!(formatted, Err::<(), _>("3".to_string()));
    }
}
