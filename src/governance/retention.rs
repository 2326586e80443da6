//! The spend-log retention job (`general_settings.maximum_spend_logs_retention_period`):
//! every `interval`, one replica (the one that claims the store's lease) deletes the spend
//! rows older than the period, in bounded batches, off the request path.

use std::sync::Arc;
use std::time::Duration;

use super::{Governance, Retention};

/// Rows per delete statement.
const BATCH: i64 = 1000;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Run passes every `r.interval`, the first at once, until governance is dropped.
pub(super) fn spawn(gov: &Arc<Governance>, r: Retention) {
    let weak = Arc::downgrade(gov);
    gov.runtime.spawn(async move {
        let mut tick = tokio::time::interval(r.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(gov) = weak.upgrade() else { return };
            match gov.retention_pass(r).await {
                Ok(Some(n)) => log::info!(
                    "spend-log retention: deleted {n} rows older than {:?}",
                    r.period
                ),
                Ok(None) => log::debug!("spend-log retention: another replica ran this pass"),
                Err(e) => log::warn!("spend-log retention: {e}"),
            }
        }
    });
}

impl Governance {
    /// One retention pass: `None` when another replica claimed it (a pass began within the
    /// last nine tenths of an interval), else the rows deleted.
    pub async fn retention_pass(&self, r: Retention) -> Result<Option<u64>, String> {
        let now = self.clock.now_ms();
        let gap = ms(r.interval) / 10 * 9;
        if !self
            .store
            .claim_retention_pass(now, gap)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(None);
        }
        let cutoff = now.saturating_sub(ms(r.period));
        self.store
            .purge_spend_before(cutoff, BATCH)
            .await
            .map(Some)
            .map_err(|e| e.to_string())
    }
}
