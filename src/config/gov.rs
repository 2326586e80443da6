//! What governance takes from the config: budgets, periods, the spend writer's pool and batch,
//! failure modes, minting bounds, per-key Prometheus series and the audit log, read from
//! `litellm_settings` and `general_settings`.

use std::time::Duration;

use crate::config::runtime::secs;
use crate::core::config_error::ConfigError;
use crate::governance::GovSettings;

pub(super) fn governance_settings(
    ls: &crate::config::raw::RawLitellmSettings,
    gs: &crate::config::raw::RawGeneralSettings,
    warnings: &mut Vec<String>,
) -> Result<GovSettings, ConfigError> {
    use crate::governance::period::{parse_timezone, Period};
    let global_period = match &ls.budget_duration {
        Some(d) => Some(
            Period::parse(d)
                .map_err(|e| ConfigError::new("litellm_settings.budget_duration", e))?,
        ),
        None => None,
    };
    let tz_offset = match &ls.timezone {
        Some(t) => {
            parse_timezone(t).map_err(|e| ConfigError::new("litellm_settings.timezone", e))?
        }
        None => 0,
    };
    if let Some(b) = ls.max_budget {
        if !(b >= 0.0 && b.is_finite()) {
            return Err(ConfigError::new(
                "litellm_settings.max_budget",
                format!("expected a non-negative number of dollars, got {b}"),
            ));
        }
    }
    let batch_write = match gs.proxy_batch_write_at {
        Some(v) => secs(v, "general_settings.proxy_batch_write_at")?,
        None => Duration::from_millis(500),
    };
    Ok(GovSettings {
        global_budget: ls.max_budget.map(crate::governance::entities::to_nano),
        global_period,
        tz_offset,
        pool_size: gs.database_connection_pool_limit.unwrap_or(10).max(1),
        pool_timeout: match gs.database_connection_pool_timeout {
            Some(v) => secs(v, "general_settings.database_connection_pool_timeout")?,
            None => Duration::from_secs(5),
        },
        allow_requests_on_db_unavailable: gs.allow_requests_on_db_unavailable.unwrap_or(false),
        batch_write,
        spend_logs: !gs.disable_spend_logs.unwrap_or(false),
        store_prompts: gs.store_prompts_in_spend_logs.unwrap_or(false),
        budget_fail_open: gs.budget_fail_open.unwrap_or(false),
        reject_unpriced_models: gs.reject_unpriced_models.unwrap_or(false),
        disable_auto_add_proxy_admin_to_teams: gs
            .disable_auto_add_proxy_admin_to_teams
            .unwrap_or(false),
        minting: crate::config::minting::policy(ls, warnings)?,
        key_series: key_series(ls),
        audit_logs: ls.store_audit_logs.unwrap_or(false),
        retention: retention(gs)?,
        alerts: Default::default(),
    })
}

/// `maximum_spend_logs_retention_period` (LiteLLM's duration strings, `"30d"`) and
/// `maximum_spend_logs_retention_interval` (default `"1d"`).
fn retention(
    gs: &crate::config::raw::RawGeneralSettings,
) -> Result<Option<crate::governance::Retention>, ConfigError> {
    use crate::governance::minting::period_secs;
    use crate::governance::period::Period;
    let secs = |text: &str, key: &str| -> Result<Duration, ConfigError> {
        let path = format!("general_settings.{key}");
        let p = Period::parse(text).map_err(|e| ConfigError::new(&path, e))?;
        Ok(Duration::from_secs(period_secs(p).unsigned_abs()))
    };
    let interval = match &gs.maximum_spend_logs_retention_interval {
        Some(t) => Some(secs(t, "maximum_spend_logs_retention_interval")?),
        None => None,
    };
    let Some(period) = &gs.maximum_spend_logs_retention_period else {
        return match interval {
            Some(_) => Err(ConfigError::new(
                "general_settings.maximum_spend_logs_retention_interval",
                "has no effect without maximum_spend_logs_retention_period",
            )
            .hint(
                "set maximum_spend_logs_retention_period: \"30d\" (how old a spend row may get)",
            )),
            None => Ok(None),
        };
    };
    Ok(Some(crate::governance::Retention {
        period: secs(period, "maximum_spend_logs_retention_period")?,
        interval: interval.unwrap_or(Duration::from_secs(86_400)),
    }))
}

/// Per-key series: on when `prometheus` is named in `callbacks` or `success_callback`
/// (LiteLLM's switch for its Prometheus logger, whose series carry key labels), with at most
/// `prometheus_max_key_series` keys (default 1000; 0 turns them off).
fn key_series(ls: &crate::config::raw::RawLitellmSettings) -> Option<usize> {
    let named = [&ls.callbacks, &ls.success_callback]
        .into_iter()
        .flatten()
        .any(|n| n.iter().any(|n| n == "prometheus"));
    let limit = ls
        .prometheus_max_key_series
        .unwrap_or(crate::metrics::keys::DEFAULT_LIMIT);
    (named && limit > 0).then_some(limit)
}
