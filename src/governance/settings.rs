//! What virtual keys, budgets and spend logging take from the config (built by `config`).

use std::time::Duration;

/// What virtual keys, budgets and spend logging need from the config.
#[derive(Clone, Debug)]
pub struct GovSettings {
    /// `litellm_settings.max_budget` in nano-USD and its `budget_duration`.
    pub global_budget: Option<i64>,
    pub global_period: Option<super::period::Period>,
    /// Seconds east of UTC that budget periods are counted in.
    pub tz_offset: i64,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    pub allow_requests_on_db_unavailable: bool,
    pub batch_write: Duration,
    pub spend_logs: bool,
    /// `general_settings.store_prompts_in_spend_logs`: spend rows keep the prompt and answer.
    pub store_prompts: bool,
    pub budget_fail_open: bool,
    /// `general_settings.reject_unpriced_models`: refuse budgeted requests to models
    /// without a price (default false: they are served and cost 0).
    pub reject_unpriced_models: bool,
    /// `general_settings.disable_auto_add_proxy_admin_to_teams`: a team's `proxy_admin`
    /// creator is not made an admin member of it.
    pub disable_auto_add_proxy_admin_to_teams: bool,
    /// Key and user creation: upper bounds and defaults from `litellm_settings`.
    pub minting: super::minting::MintingPolicy,
    /// Per-key Prometheus series: the most keys with labels of their own (`None`: off; on
    /// when `prometheus` is a callback, capped by `prometheus_max_key_series`).
    pub key_series: Option<usize>,
    /// `litellm_settings.store_audit_logs`: management writes are recorded in the store.
    pub audit_logs: bool,
    /// `general_settings.maximum_spend_logs_retention_period` and `_interval`: spend rows
    /// older than the period are deleted that often (`None`: kept forever).
    pub retention: Option<Retention>,
    /// Where budget and store alerts go (off unless `general_settings.alerting` is set; the
    /// server hands it in once alerting runs).
    pub alerts: crate::core::alert::AlertTx,
}

/// The spend-log retention job's schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Rows whose end time is older than this are deleted.
    pub period: Duration,
    /// How often a pass runs (LiteLLM's default: a day).
    pub interval: Duration,
}
