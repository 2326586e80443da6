//! The raw logging-callback keys: `litellm_settings.{callbacks, success_callback,
//! failure_callback}` and the top-level `callback_settings`, and
//! `general_settings.alerting_args`, as LiteLLM writes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::raw::none;

/// A callback list: names, or one name as a string (LiteLLM accepts both).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Names::One(s) => (Some(s.as_str()), &[][..]),
            Names::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().map(String::as_str))
    }
}

/// One `callback_settings.<name>` entry.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawCallback {
    /// `generic_api` (the only type this build runs).
    #[serde(skip_serializing_if = "none")]
    pub callback_type: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// `llm_api_success`, `llm_api_failure` (default: both).
    #[serde(skip_serializing_if = "none")]
    pub event_types: Option<Vec<String>>,
    /// `json_array` (default) or `ndjson`.
    #[serde(skip_serializing_if = "none")]
    pub log_format: Option<String>,
    /// Records per POST (default 512).
    #[serde(skip_serializing_if = "none")]
    pub batch_size: Option<usize>,
    /// Seconds a partial batch waits (default 5).
    #[serde(skip_serializing_if = "none")]
    pub flush_interval: Option<f64>,
    /// Records waiting for delivery before new ones are dropped (default 10,000).
    #[serde(skip_serializing_if = "none")]
    pub max_queue_size: Option<usize>,
    /// Keys of other callback types (`otel: {message_logging: false}`).
    #[serde(flatten)]
    pub rest: super::raw::Rest,
}

/// `litellm_settings.s3_callback_params`, as LiteLLM names them.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawS3Params {
    #[serde(skip_serializing_if = "none")]
    pub s3_bucket_name: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub s3_region_name: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub s3_endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub s3_aws_access_key_id: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub s3_aws_secret_access_key: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub s3_aws_session_token: Option<String>,
    /// The prefix of every object.
    #[serde(skip_serializing_if = "none")]
    pub s3_path: Option<String>,
    /// Seconds a partial batch waits (default 10, as LiteLLM).
    #[serde(skip_serializing_if = "none")]
    pub s3_flush_interval: Option<f64>,
    /// Records per object (default 512).
    #[serde(skip_serializing_if = "none")]
    pub s3_batch_size: Option<usize>,
    /// Keys LiteLLM reads that this build does not (`s3_use_team_prefix`, ...).
    #[serde(flatten)]
    pub rest: super::raw::Rest,
}

/// `general_settings.alerting_args` (seconds).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawAlertingArgs {
    /// Seconds between daily spend reports (default 43200).
    #[serde(skip_serializing_if = "none")]
    pub daily_report_frequency: Option<f64>,
    /// Seconds between checks whether a report is due (default 3600).
    #[serde(skip_serializing_if = "none")]
    pub report_check_interval: Option<f64>,
    /// Seconds one budget alert holds back its repeats (default 86400).
    #[serde(skip_serializing_if = "none")]
    pub budget_alert_ttl: Option<f64>,
    /// Seconds one slow/hanging alert per deployment holds back its repeats (default 60).
    #[serde(skip_serializing_if = "none")]
    pub outage_alert_ttl: Option<f64>,
    /// LiteLLM's other arguments (`region_outage_alert_ttl`, outage thresholds, ...).
    #[serde(flatten)]
    pub rest: super::raw::Rest,
}
