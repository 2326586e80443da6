//! A listening service over a socket bound before start (so `--port 0` reports its port),
//! with a cap on open client connections (`general_settings.max_client_connections`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::apps::ServerApp;
use pingora_core::server::{ListenFds, ShutdownWatch};
use pingora_core::services::Service;
use pingora_proxy::HttpProxy;

use crate::config::Runtime;
use crate::core::error::{ApiError, ErrorKind};
use crate::core::lifecycle::Lifecycle;
use crate::proxy::conn::Conn;
use crate::proxy::Gateway;

pub struct GatewayService {
    listener: Option<std::net::TcpListener>,
    app: Arc<HttpProxy<Gateway>>,
    threads: usize,
    /// The live config: the cap and the header timeout are read at each accept.
    runtime: Arc<ArcSwap<Runtime>>,
    lifecycle: Lifecycle,
    open: Arc<AtomicUsize>,
    refused: AtomicU64,
    refusal_logged_at: AtomicU64,
}

impl GatewayService {
    pub fn new(
        listener: std::net::TcpListener,
        app: HttpProxy<Gateway>,
        threads: usize,
        runtime: Arc<ArcSwap<Runtime>>,
        lifecycle: Lifecycle,
    ) -> Self {
        GatewayService {
            listener: Some(listener),
            app: Arc::new(app),
            threads,
            runtime,
            lifecycle,
            open: Arc::new(AtomicUsize::new(0)),
            refused: AtomicU64::new(0),
            refusal_logged_at: AtomicU64::new(0),
        }
    }
}

/// One open client connection, counted against the cap until dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(open: &Arc<AtomicUsize>, cap: usize) -> Option<Slot> {
        let was = open.fetch_add(1, Ordering::AcqRel);
        if was >= cap {
            open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot(open.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Turn away a connection over the cap: a 503 if the socket takes it at once, then close.
/// Refusals are logged at most once a second, however many come (the cap is hit in a flood).
fn refuse(tcp: tokio::net::TcpStream, cap: usize, refused: &AtomicU64, last_logged: &AtomicU64) {
    let total = refused.fetch_add(1, Ordering::Relaxed) + 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if last_logged.swap(now, Ordering::Relaxed) != now {
        log::warn!(
            "refusing client connections: {cap} are open (general_settings.max_client_connections); {total} refused so far"
        );
    }
    let body = ApiError::new(
        503,
        ErrorKind::ServiceUnavailable,
        "Too many open connections to the gateway; try again.",
    )
    .body();
    let mut answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    if let Err(e) = tcp.try_write(&answer) {
        log::debug!("could not tell the refused client: {e}");
    }
}

#[async_trait]
impl Service for GatewayService {
    async fn start_service(
        &mut self,
        _fds: Option<ListenFds>,
        mut shutdown: ShutdownWatch,
        _per_fd: usize,
    ) {
        let Some(std_listener) = self.listener.take() else {
            return;
        };
        let listener = match tokio::net::TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                log::error!("cannot start listener: {e}");
                return;
            }
        };
        let mut drain_tick = tokio::time::interval(std::time::Duration::from_millis(50));
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = drain_tick.tick() => {
                    if self.lifecycle.draining() {
                        break;
                    }
                }
                accepted = listener.accept() => {
                    let (tcp, _) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            log::error!("accept failed: {e}");
                            // Out of descriptors or memory: let connections finish first.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let (cap, header_timeout) = {
                        let rt = self.runtime.load();
                        (rt.settings.max_client_connections, rt.settings.client_header_timeout)
                    };
                    let Some(slot) = Slot::take(&self.open, cap) else {
                        refuse(tcp, cap, &self.refused, &self.refusal_logged_at);
                        continue;
                    };
                    if let Err(e) = tcp.set_nodelay(true) {
                        log::debug!("set_nodelay: {e}");
                    }
                    let app = self.app.clone();
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        let _slot = slot;
                        let conn = Conn::new(tcp, header_timeout);
                        let mut next = app.process_new(Box::new(conn), &shutdown).await;
                        while let Some(stream) = next {
                            next = app.process_new(stream, &shutdown).await;
                        }
                    });
                }
            }
        }
        drop(listener);
        // Keep the service (and its runtime) alive until the server shuts down.
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
        self.app.cleanup().await;
    }

    fn name(&self) -> &str {
        "switchyard"
    }

    fn threads(&self) -> Option<usize> {
        Some(self.threads)
    }
}
