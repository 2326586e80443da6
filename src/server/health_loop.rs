//! Background health checks: probe every deployment each `health_check_interval` when
//! `general_settings.background_health_checks` is on (read from the live config each tick).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora_core::connectors::http::Connector;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;

use crate::config::Runtime;
use crate::upstream::replicas;

pub struct HealthLoop {
    pub runtime: Arc<ArcSwap<Runtime>>,
    pub connector: Arc<Connector>,
}

#[async_trait]
impl BackgroundService for HealthLoop {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        // A reload may switch checks on or change the interval: look again every second.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last: Option<Instant> = None;
        let mut last_replicas: Option<Instant> = None;
        let mut checked: Option<Arc<Runtime>> = None;
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {}
            }
            let rt = self.runtime.load_full();
            if last_replicas.is_none_or(|t| t.elapsed() >= replicas::CHECK_EVERY) {
                last_replicas = Some(Instant::now());
                let mut pools = 0;
                for pool in rt.router.replica_pools() {
                    pool.check().await;
                    pools += 1;
                }
                // Say so once per config snapshot (every CHECK_EVERY would flood the log).
                if pools > 0 && !checked.as_ref().is_some_and(|c| Arc::ptr_eq(c, &rt)) {
                    log::info!("replica health checked: {pools} pools");
                    checked = Some(rt.clone());
                }
            }
            let Some(every) = rt.settings.health_check_interval else {
                continue;
            };
            if last.is_some_and(|t| t.elapsed() < every) {
                continue;
            }
            last = Some(Instant::now());
            let report = crate::admin::health::check(&self.connector, &rt).await;
            log::info!(
                "background health check: {} healthy, {} unhealthy",
                report["healthy_count"],
                report["unhealthy_count"]
            );
        }
    }
}
