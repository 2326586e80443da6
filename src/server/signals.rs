//! Signals: SIGHUP reloads the config (old one kept on error), SIGTERM drains then stops.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::server::{ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{self, BuildOptions, Runtime};
use crate::metrics::metrics;

pub struct Signals {
    pub runtime: Arc<ArcSwap<Runtime>>,
    pub path: PathBuf,
    pub allow_insecure_master_key: bool,
    pub grace: Duration,
    pub gov: Option<Arc<crate::governance::Governance>>,
    pub lifecycle: crate::core::lifecycle::Lifecycle,
    /// Logging sinks, flushed before exit.
    pub observe: Option<Arc<crate::observe::Hub>>,
}

impl Signals {
    /// Re-read the file off the request path and swap the snapshot; keep the old on error.
    pub async fn reload(&self) {
        let previous = self.runtime.load_full();
        let path = self.path.clone();
        let allow = self.allow_insecure_master_key;
        let built = tokio::task::spawn_blocking(move || {
            let opts = BuildOptions {
                resolve_dns: true,
                allow_insecure_master_key: allow,
                previous: Some(&previous),
            };
            config::load(&path, &opts)
        })
        .await;
        match built {
            Ok(Ok(rt)) => {
                super::log_runtime(&rt);
                log::info!(
                    "config reloaded from {}: {} model groups, {} deployments",
                    self.path.display(),
                    rt.router.group_count(),
                    rt.router.deployment_count()
                );
                self.runtime.store(Arc::new(rt));
                metrics().reloads.with_label_values(&["ok"]).inc();
            }
            Ok(Err(e)) => {
                log::error!("config reload rejected, keeping the running config: {e}");
                metrics().reloads.with_label_values(&["error"]).inc();
            }
            Err(e) => log::error!("config reload task failed: {e}"),
        }
    }

    /// Write every spend row still queued before the process exits.
    async fn flush(&self) {
        if let Some(hub) = &self.observe {
            // Logging sinks deliver what they hold (bounded), then the ledger is flushed.
            hub.close(Duration::from_secs(5)).await;
        }
        if let Some(gov) = &self.gov {
            let left = gov.shutdown(Duration::from_secs(10)).await;
            if left > 0 {
                log::error!("{left} spend rows could not be written before exit");
            } else {
                log::info!("spend ledger flushed");
            }
        }
    }

    /// Stop accepting, then wait for in-flight requests up to the grace period.
    async fn drain(&self) {
        self.lifecycle.drain();
        log::info!("draining: new connections refused, readiness answers 503");
        let until = Instant::now() + self.grace;
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            let left = metrics().in_flight.get();
            if left <= 0 {
                log::info!("drained; shutting down");
                return;
            }
            if Instant::now() >= until {
                log::warn!("grace period over with {left} requests in flight; shutting down");
                return;
            }
        }
    }
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut hup), Ok(mut term), Ok(mut int), Ok(mut quit)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            log::error!("cannot install signal handlers; stopping");
            return ShutdownSignal::FastShutdown;
        };
        log::info!(
            "ready: SIGHUP reloads {}, SIGTERM drains (grace {:?})",
            self.path.display(),
            self.grace
        );
        loop {
            tokio::select! {
                _ = hup.recv() => self.reload().await,
                _ = term.recv() => { log::info!("SIGTERM: draining"); self.drain().await; self.flush().await; return ShutdownSignal::GracefulTerminate }
                _ = quit.recv() => { log::info!("SIGQUIT: draining"); self.drain().await; self.flush().await; return ShutdownSignal::GracefulTerminate }
                _ = int.recv() => { self.flush().await; return ShutdownSignal::FastShutdown }
            }
        }
    }
}
