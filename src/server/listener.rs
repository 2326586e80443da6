//! A listening service over a socket bound before start (so `--port 0` reports its port).

use std::sync::Arc;

use async_trait::async_trait;
use pingora_core::apps::ServerApp;
use pingora_core::server::{ListenFds, ShutdownWatch};
use pingora_core::services::Service;
use pingora_proxy::HttpProxy;

use super::conn::Conn;
use crate::proxy::Gateway;

pub struct GatewayService {
    listener: Option<std::net::TcpListener>,
    app: Arc<HttpProxy<Gateway>>,
    threads: usize,
}

impl GatewayService {
    pub fn new(listener: std::net::TcpListener, app: HttpProxy<Gateway>, threads: usize) -> Self {
        GatewayService {
            listener: Some(listener),
            app: Arc::new(app),
            threads,
        }
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
                    if super::draining() {
                        break;
                    }
                }
                accepted = listener.accept() => {
                    let (tcp, _) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            log::error!("accept failed: {e}");
                            continue;
                        }
                    };
                    if let Err(e) = tcp.set_nodelay(true) {
                        log::debug!("set_nodelay: {e}");
                    }
                    let app = self.app.clone();
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        let mut next = app.process_new(Box::new(Conn::new(tcp)), &shutdown).await;
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
