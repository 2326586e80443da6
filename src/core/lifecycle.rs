//! The process's lifecycle as a value handed down from `server` to the layers that answer
//! differently while the gateway drains (the proxy's keep-alive, readiness, the listener).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared by the listener, the signal handler and the gateway; clones see the same state.
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    draining: Arc<AtomicBool>,
}

impl Lifecycle {
    /// True once SIGTERM was received: new connections are refused, keep-alive ends.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Start draining (SIGTERM, SIGQUIT).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
}
