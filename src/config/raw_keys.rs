//! The raw key-generation keys of `litellm_settings`: `upperbound_key_generate_params`,
//! `default_key_generate_params` and `default_internal_user_params`, as LiteLLM writes them.

use serde::{Deserialize, Serialize};

use super::raw::{lenient, none, Rest};

/// `upperbound_key_generate_params` (LiteLLM's six fields).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeyBounds {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_budget: Option<f64>,
    #[serde(skip_serializing_if = "none")]
    pub budget_duration: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub duration: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_parallel_requests: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub tpm_limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub rpm_limit: Option<u64>,
}

/// `default_key_generate_params`: the fields LiteLLM fills in.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeyDefaults {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_budget: Option<f64>,
    #[serde(skip_serializing_if = "none")]
    pub budget_duration: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub duration: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_parallel_requests: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub tpm_limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub rpm_limit: Option<u64>,
    #[serde(skip_serializing_if = "none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub team_id: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub models: Option<Vec<String>>,
    #[serde(skip_serializing_if = "none")]
    pub metadata: Option<serde_yaml::Mapping>,
}

/// `default_internal_user_params`; other keys LiteLLM reads (`available_teams`, ...) load
/// with a warning.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawInternalUserParams {
    #[serde(skip_serializing_if = "none")]
    pub user_role: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_budget: Option<f64>,
    #[serde(skip_serializing_if = "none")]
    pub budget_duration: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub models: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub tpm_limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub rpm_limit: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_parallel_requests: Option<u64>,
    #[serde(flatten)]
    pub rest: Rest,
}
