//! Serde types that mirror LiteLLM's `config.yaml`; unknown keys are collected, not dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_yaml::Value;

/// Keys a section does not model, checked against LiteLLM's key lists after parsing.
pub type Rest = BTreeMap<String, Value>;

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_list: Vec<RawModel>,
    #[serde(default, skip_serializing_if = "unset")]
    pub litellm_settings: RawLitellmSettings,
    #[serde(default, skip_serializing_if = "unset")]
    pub router_settings: RawRouterSettings,
    #[serde(default, skip_serializing_if = "unset")]
    pub general_settings: RawGeneralSettings,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment_variables: BTreeMap<String, Value>,
    /// Named callbacks' settings (`generic_api` webhooks).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub callback_settings: BTreeMap<String, super::raw_observe::RawCallback>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct RawModel {
    pub model_name: String,
    pub litellm_params: RawLitellmParams,
    #[serde(default, skip_serializing_if = "unset")]
    pub model_info: RawModelInfo,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct RawLitellmParams {
    pub model: String,
    #[serde(skip_serializing_if = "none")]
    pub api_key: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub api_base: Option<ApiBase>,
    #[serde(skip_serializing_if = "none")]
    pub api_version: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub rpm: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub tpm: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub timeout: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub stream_timeout: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_retries: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub num_retries: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub weight: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub order: Option<u32>,
    #[serde(skip_serializing_if = "none")]
    pub mock_response: Option<Value>,
    #[serde(skip_serializing_if = "none")]
    pub extra_headers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "none")]
    pub organization: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub cooldown_time: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_parallel_requests: Option<u32>,
    /// Prices in USD (LiteLLM accepts them here and in `model_info`).
    #[serde(flatten)]
    pub prices: RawPrices,
    #[serde(skip_serializing_if = "none")]
    pub drop_params: Option<bool>,
    #[serde(skip_serializing_if = "none")]
    pub additional_drop_params: Option<Vec<String>>,
    /// This deployment's credentials serve its provider's pass-through route.
    #[serde(skip_serializing_if = "none")]
    pub use_in_pass_through: Option<bool>,
    /// Where the deployment runs (`eu`, `us`, ...): end users with an `allowed_model_region`
    /// are routed only to deployments of that region.
    #[serde(skip_serializing_if = "none")]
    pub region_name: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub aws_access_key_id: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub aws_secret_access_key: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub aws_session_token: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub aws_region_name: Option<String>,
    /// Vertex AI: the Google Cloud project (default `$VERTEXAI_PROJECT`, else the service
    /// account's `project_id`).
    #[serde(skip_serializing_if = "none")]
    pub vertex_project: Option<String>,
    /// Vertex AI: the region, or `global` (default `$VERTEXAI_LOCATION`, else `us-central1`).
    #[serde(skip_serializing_if = "none")]
    pub vertex_location: Option<String>,
    /// Vertex AI: a service-account key file's path, or its JSON (a string or a mapping);
    /// default `$GOOGLE_APPLICATION_CREDENTIALS`.
    #[serde(skip_serializing_if = "none")]
    pub vertex_credentials: Option<Value>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// `api_base`: one URL, or (Switchyard) a list of replica URLs of a self-hosted pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ApiBase {
    One(String),
    Replicas(Vec<String>),
}

impl ApiBase {
    pub fn first(&self) -> Option<&str> {
        match self {
            ApiBase::One(s) => Some(s),
            ApiBase::Replicas(v) => v.first().map(String::as_str),
        }
    }

    pub fn all(&self) -> Vec<&str> {
        match self {
            ApiBase::One(s) => vec![s.as_str()],
            ApiBase::Replicas(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The router keys LiteLLM accepts in both `router_settings` and `litellm_settings`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawRouting {
    #[serde(skip_serializing_if = "none")]
    pub fallbacks: Option<Value>,
    #[serde(skip_serializing_if = "none")]
    pub context_window_fallbacks: Option<Value>,
    #[serde(skip_serializing_if = "none")]
    pub content_policy_fallbacks: Option<Value>,
    #[serde(skip_serializing_if = "none")]
    pub default_fallbacks: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_fallbacks: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub allowed_fails: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub cooldown_time: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub disable_cooldowns: Option<bool>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub retry_after: Option<f64>,
}

/// A deployment's prices in USD, as `litellm_params` and `model_info` both accept them.
#[derive(Debug, Default, Clone, Copy, Deserialize, Serialize)]
pub struct RawPrices {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub input_cost_per_token: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub output_cost_per_token: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub cache_read_input_token_cost: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub cache_creation_input_token_cost: Option<f64>,
    /// USD per second of the call's duration, for the input side when no per-token input
    /// price is set (LiteLLM's semantics).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub input_cost_per_second: Option<f64>,
    /// USD per second of the call's duration, for the output side when no per-token
    /// output price is set.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub output_cost_per_second: Option<f64>,
}

impl RawPrices {
    pub fn usd(&self) -> crate::pricing::cost::UsdPrices {
        crate::pricing::cost::UsdPrices {
            input_per_token: self.input_cost_per_token,
            output_per_token: self.output_cost_per_token,
            cache_read_per_token: self.cache_read_input_token_cost,
            cache_write_per_token: self.cache_creation_input_token_cost,
            input_per_second: self.input_cost_per_second,
            output_per_second: self.output_cost_per_second,
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawModelInfo {
    #[serde(skip_serializing_if = "none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub mode: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_output_tokens: Option<u64>,
    /// Prices in USD (LiteLLM accepts them here and in `model_info`).
    #[serde(flatten)]
    pub prices: RawPrices,
    #[serde(skip_serializing_if = "none")]
    pub base_model: Option<String>,
    /// The model `/health` probes for this deployment (needed for wildcard deployments).
    #[serde(skip_serializing_if = "none")]
    pub health_check_model: Option<String>,
    /// `model_info` is free-form in LiteLLM (extra keys allowed); kept for `/model/info`.
    #[serde(flatten)]
    pub rest: Rest,
}

impl RawModelInfo {
    /// Every key the config gave, as JSON: LiteLLM's `/model/info` echoes a deployment's
    /// `model_info` (custom keys such as `supports_vision` included) over the computed one.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value as J;
        let mut m = serde_json::Map::new();
        let text = |v: &Option<String>| v.as_ref().map(|s| J::String(s.clone()));
        let int = |v: Option<u64>| v.map(J::from);
        let typed = [
            ("id", text(&self.id)),
            ("mode", text(&self.mode)),
            ("base_model", text(&self.base_model)),
            ("health_check_model", text(&self.health_check_model)),
            ("max_input_tokens", int(self.max_input_tokens)),
            ("max_output_tokens", int(self.max_output_tokens)),
        ];
        for (k, v) in typed {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        }
        if let Ok(J::Object(prices)) = serde_json::to_value(self.prices) {
            m.extend(prices);
        }
        for (k, v) in &self.rest {
            // A YAML value JSON cannot hold (a non-string map key) is left out.
            if let Ok(v) = serde_json::to_value(v) {
                m.insert(k.clone(), v);
            }
        }
        m
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawLitellmSettings {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub num_retries: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub request_timeout: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub require_auth_for_metrics_endpoint: Option<bool>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub set_verbose: Option<bool>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub json_logs: Option<bool>,
    /// Prompts and answers are logged as `redacted-by-litellm`.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub turn_off_message_logging: Option<bool>,
    /// Error messages are logged by class only.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub redact_messages_in_exceptions: Option<bool>,
    /// No key hash, alias, team or user in logging payloads.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub redact_user_api_key_info: Option<bool>,
    /// Where the `s3` callback writes.
    #[serde(skip_serializing_if = "none")]
    pub s3_callback_params: Option<super::raw_observe::RawS3Params>,
    /// Upstream requests carry a `traceparent` (with `otel`).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub forward_traceparent_to_llm_provider: Option<bool>,
    /// Logging callbacks for every request, successes only, failures only.
    #[serde(skip_serializing_if = "none")]
    pub callbacks: Option<super::raw_observe::Names>,
    #[serde(skip_serializing_if = "none")]
    pub success_callback: Option<super::raw_observe::Names>,
    #[serde(skip_serializing_if = "none")]
    pub failure_callback: Option<super::raw_observe::Names>,
    /// Headers of the `generic_api` callback (else `$GENERIC_LOGGER_HEADERS`).
    #[serde(skip_serializing_if = "none")]
    pub generic_logger_headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub drop_params: Option<bool>,
    /// The proxy-wide budget in USD (with `budget_duration`, per period).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_budget: Option<f64>,
    #[serde(skip_serializing_if = "none")]
    pub budget_duration: Option<String>,
    /// Budget periods' timezone: `UTC` or a fixed offset.
    #[serde(skip_serializing_if = "none")]
    pub timezone: Option<String>,
    /// LiteLLM's older alias map: requested name -> model group.
    #[serde(skip_serializing_if = "none")]
    pub model_alias_map: Option<BTreeMap<String, String>>,
    /// The most any `/key/generate` (and `/key/update`, `/key/regenerate`) may set.
    #[serde(skip_serializing_if = "none")]
    pub upperbound_key_generate_params: Option<RawKeyBounds>,
    /// What `/key/generate` fills in for fields left out.
    #[serde(skip_serializing_if = "none")]
    pub default_key_generate_params: Option<RawKeyDefaults>,
    /// The budget (USD) of an `internal_user` without its own.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_internal_user_budget: Option<f64>,
    /// The budget period of an `internal_user` without its own.
    #[serde(skip_serializing_if = "none")]
    pub internal_user_budget_duration: Option<String>,
    /// Defaults for new internal users (`/user/new`).
    #[serde(skip_serializing_if = "none")]
    pub default_internal_user_params: Option<RawInternalUserParams>,
    /// Switchyard: the most virtual keys with Prometheus series of their own (default 1000;
    /// 0: no per-key series). Per-key series are on when `prometheus` is a callback.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub prometheus_max_key_series: Option<usize>,
    /// Record every management write in the audit log (default false).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub store_audit_logs: Option<bool>,
    #[serde(flatten)]
    pub routing: RawRouting,
    #[serde(flatten)]
    pub rest: Rest,
}

pub use super::raw_keys::{RawInternalUserParams, RawKeyBounds, RawKeyDefaults};

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawRouterSettings {
    #[serde(skip_serializing_if = "none")]
    pub routing_strategy: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub num_retries: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub timeout: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub stream_timeout: Option<f64>,
    #[serde(skip_serializing_if = "none")]
    pub redis_host: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub redis_port: Option<u16>,
    #[serde(skip_serializing_if = "none")]
    pub redis_password: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub redis_url: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub routing_strategy_args: Option<RawStrategyArgs>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub default_max_parallel_requests: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub enable_health_check_routing: Option<bool>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub enable_pre_call_checks: Option<bool>,
    #[serde(skip_serializing_if = "none")]
    pub optional_pre_call_checks: Option<Vec<String>>,
    #[serde(skip_serializing_if = "none")]
    pub allowed_fails_policy: Option<RawAllowedFailsPolicy>,
    #[serde(skip_serializing_if = "none")]
    pub retry_policy: Option<RawRetryPolicy>,
    #[serde(skip_serializing_if = "none")]
    pub model_group_retry_policy: Option<BTreeMap<String, RawRetryPolicy>>,
    #[serde(skip_serializing_if = "none")]
    pub model_group_alias: Option<BTreeMap<String, RawAlias>>,
    #[serde(flatten)]
    pub routing: RawRouting,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawStrategyArgs {
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub lowest_latency_buffer: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_latency_list_size: Option<usize>,
    /// Seconds a latency sample counts.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub ttl: Option<f64>,
    #[serde(flatten)]
    pub rest: Rest,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllowedFailsPolicy {
    #[serde(rename = "RateLimitErrorAllowedFails", skip_serializing_if = "none")]
    pub rate_limit: Option<u32>,
    #[serde(rename = "TimeoutErrorAllowedFails", skip_serializing_if = "none")]
    pub timeout: Option<u32>,
    #[serde(
        rename = "AuthenticationErrorAllowedFails",
        skip_serializing_if = "none"
    )]
    pub auth: Option<u32>,
    #[serde(rename = "BadRequestErrorAllowedFails", skip_serializing_if = "none")]
    pub bad_request: Option<u32>,
    #[serde(
        rename = "ContentPolicyViolationErrorAllowedFails",
        skip_serializing_if = "none"
    )]
    pub content_policy: Option<u32>,
    #[serde(
        rename = "InternalServerErrorAllowedFails",
        skip_serializing_if = "none"
    )]
    pub server: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryPolicy {
    #[serde(rename = "BadRequestErrorRetries", skip_serializing_if = "none")]
    pub bad_request: Option<u32>,
    #[serde(rename = "AuthenticationErrorRetries", skip_serializing_if = "none")]
    pub auth: Option<u32>,
    #[serde(rename = "TimeoutErrorRetries", skip_serializing_if = "none")]
    pub timeout: Option<u32>,
    #[serde(rename = "RateLimitErrorRetries", skip_serializing_if = "none")]
    pub rate_limit: Option<u32>,
    #[serde(
        rename = "ContentPolicyViolationErrorRetries",
        skip_serializing_if = "none"
    )]
    pub content_policy: Option<u32>,
    #[serde(rename = "InternalServerErrorRetries", skip_serializing_if = "none")]
    pub server: Option<u32>,
}

/// `model_group_alias` values: a group name, or `{model, hidden}`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RawAlias {
    Name(String),
    Full {
        model: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        hidden: bool,
    },
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RawGeneralSettings {
    /// Spend rows keep the prompt and the answer (`/spend/logs` shows them).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub store_prompts_in_spend_logs: Option<bool>,
    #[serde(skip_serializing_if = "none")]
    pub master_key: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub database_url: Option<String>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_request_size_mb: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub database_connection_pool_limit: Option<u32>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub database_connection_pool_timeout: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub allow_requests_on_db_unavailable: Option<bool>,
    /// Seconds between spend-log batch writes.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub proxy_batch_write_at: Option<f64>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub disable_spend_logs: Option<bool>,
    /// Switchyard: refuse budgeted requests to models without a price (default false:
    /// they are served and cost 0).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub reject_unpriced_models: Option<bool>,
    /// A team made by a `proxy_admin` key does not get that key's user as an admin member.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub disable_auto_add_proxy_admin_to_teams: Option<bool>,
    /// Switchyard: admit requests when the shared budget counters (Redis) are unreachable.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub budget_fail_open: Option<bool>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub background_health_checks: Option<bool>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub health_check_interval: Option<f64>,
    /// Forward the client's `OpenAI-Organization` (and `OpenAI-Project`) on pass-through calls.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub forward_openai_org_id: Option<bool>,
    /// Switchyard: how long `GET /health` answers from its last probe round (default 10 s).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub health_check_cache_seconds: Option<f64>,
    /// Switchyard: most client connections open at once (default 10000).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub max_client_connections: Option<usize>,
    /// Switchyard: seconds a client has to send a whole request header (default 10).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub client_header_timeout: Option<f64>,
    /// Alert destinations: `slack` (`$SLACK_WEBHOOK_URL`), `webhook` (`$WEBHOOK_URL`).
    #[serde(skip_serializing_if = "none")]
    pub alerting: Option<super::raw_observe::Names>,
    /// Seconds after which a request is slow or hanging (default 300).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "none")]
    pub alerting_threshold: Option<f64>,
    /// LiteLLM's alert type names to send (default: all).
    #[serde(skip_serializing_if = "none")]
    pub alert_types: Option<Vec<String>>,
    /// Alert type -> Slack URL, or a list of them.
    #[serde(skip_serializing_if = "none")]
    pub alert_to_webhook_url: Option<std::collections::BTreeMap<String, super::raw_observe::Names>>,
    #[serde(skip_serializing_if = "none")]
    pub alerting_args: Option<super::raw_observe::RawAlertingArgs>,
    /// Spend rows older than this are deleted (`"30d"`, LiteLLM's duration strings).
    #[serde(skip_serializing_if = "none")]
    pub maximum_spend_logs_retention_period: Option<String>,
    /// How often the retention job runs (default `"1d"`).
    #[serde(skip_serializing_if = "none")]
    pub maximum_spend_logs_retention_interval: Option<String>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// Accept a scalar either typed or as a string (what `os.environ/` substitution yields).
pub(super) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + serde::de::DeserializeOwned,
    T::Err: std::fmt::Display,
{
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("invalid value \"{s}\": {e}"))),
        Some(v) => serde_yaml::from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// `skip_serializing_if` for an `Option`: a config written from these types has only what
/// was set.
pub(super) fn none<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// `skip_serializing_if` for a section: left out when it writes as an empty mapping.
fn unset<T: Serialize>(v: &T) -> bool {
    matches!(serde_yaml::to_value(v), Ok(Value::Mapping(m)) if m.is_empty())
}
