//! The daily spend report alerting sends: total spend and the top keys and models by spend
//! over a window, read from the ledger (off the request path, on the alert task).

use std::time::Duration;

use super::entities::from_nano;
use super::tables::unhex;
use super::Governance;
use crate::store::SpendGroup;

/// Keys and models listed.
const TOP: i64 = 5;

impl Governance {
    /// The report over the `window` up to now, as Slack text.
    pub async fn spend_report(&self, window: Duration) -> Result<String, String> {
        let end = self.clock().now_ms();
        let start = end.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
        let store = self.store();
        let keys = store
            .spend_by(SpendGroup::ApiKey, Some(start), Some(end), TOP)
            .await
            .map_err(|e| e.to_string())?;
        let models = store
            .spend_by(SpendGroup::Model, Some(start), Some(end), TOP)
            .await
            .map_err(|e| e.to_string())?;
        let days = store
            .spend_by(SpendGroup::Day, Some(start), Some(end), 1000)
            .await
            .map_err(|e| e.to_string())?;
        let total: i64 = days.iter().map(|d| d.spend_nano).sum();
        let requests: i64 = days.iter().map(|d| d.requests).sum();
        let hours = window.as_secs_f64() / 3600.0;
        let mut text = format!(
            "*💸 Spend Report*: last {hours:.0}h\nTotal Spend: `${:.6}` over {requests} requests\n",
            from_nano(total)
        );
        let tables = self.tables();
        text.push_str("\n*Top keys by spend*\n");
        for (i, k) in keys.iter().enumerate() {
            let alias = unhex(&k.group)
                .and_then(|h| tables.keys.get(&h))
                .and_then(|v| v.doc.key_alias.clone());
            let short = k.group.get(..12).unwrap_or(&k.group);
            let name = alias.map_or_else(|| format!("{short}…"), |a| format!("{a} ({short}…)"));
            text.push_str(&format!(
                "{}. Key `{name}`: `${:.6}` ({} requests)\n",
                i + 1,
                from_nano(k.spend_nano),
                k.requests
            ));
        }
        text.push_str("\n*Top models by spend*\n");
        for (i, m) in models.iter().enumerate() {
            text.push_str(&format!(
                "{}. Model `{}`: `${:.6}` ({} requests, {} tokens)\n",
                i + 1,
                m.group,
                from_nano(m.spend_nano),
                m.requests,
                m.total_tokens
            ));
        }
        Ok(text)
    }
}
