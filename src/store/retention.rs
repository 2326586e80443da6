//! Spend-log retention: delete rows older than a cutoff in bounded batches, and the lease
//! (`sy_meta.retention_at`) that lets one replica of many run each pass.

use super::{Store, StoreError};

impl Store {
    /// Claim the pass due at `now_ms` for this replica: `true` for exactly one caller among
    /// replicas sharing the database while no pass began within `min_gap_ms` (one atomic
    /// conditional update, on SQLite and Postgres alike).
    pub async fn claim_retention_pass(
        &self,
        now_ms: i64,
        min_gap_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sy_meta SET retention_at = $1 WHERE retention_at <= $2")
            .bind(now_ms)
            .bind(now_ms.saturating_sub(min_gap_ms))
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError(format!("retention lease: {e}")))?;
        Ok(done.rows_affected() == 1)
    }

    /// Delete up to `batch` spend rows that started before `cutoff_ms`; how many went.
    pub async fn delete_spend_before(&self, cutoff_ms: i64, batch: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sy_spend_logs WHERE request_id IN \
             (SELECT request_id FROM sy_spend_logs WHERE start_time < $1 LIMIT $2)",
        )
        .bind(cutoff_ms)
        .bind(batch.max(1))
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError(format!("retention: delete spend rows: {e}")))?;
        Ok(done.rows_affected())
    }

    /// Delete every spend row that started before `cutoff_ms`, `batch` rows per statement (each
    /// its own short transaction, so writers are never held up long); how many went.
    pub async fn purge_spend_before(&self, cutoff_ms: i64, batch: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let n = self.delete_spend_before(cutoff_ms, batch).await?;
            total += n;
            if n < u64::try_from(batch.max(1)).unwrap_or(u64::MAX) {
                return Ok(total);
            }
            // Let the spend writer's commits in between batches.
            tokio::task::yield_now().await;
        }
    }
}
