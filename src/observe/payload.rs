//! The one record of a finished request, with the field names of LiteLLM's
//! `StandardLoggingPayload` (what its callbacks receive and what dashboards built on them
//! read). Built once at the end of the request from data already in hand, then shared by
//! every sink.

use serde::Serialize;

/// One finished request. Times are unix seconds (fractional), as LiteLLM writes them.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Payload {
    /// The call id (`x-litellm-call-id`).
    pub id: String,
    /// The W3C trace id the client sent in `traceparent`, else the call id.
    pub trace_id: String,
    /// LiteLLM's call type: `acompletion`, `atext_completion`, `aembedding`,
    /// `anthropic_messages`, `aresponses`, `pass_through_endpoint`, ...
    pub call_type: &'static str,
    pub stream: bool,
    /// `success` or `failure`.
    pub status: &'static str,
    /// The HTTP status the client got (0: it left before an answer).
    pub status_code: u16,
    /// USD.
    pub response_cost: f64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    #[serde(rename = "startTime")]
    pub start_time: f64,
    #[serde(rename = "endTime")]
    pub end_time: f64,
    /// When the first byte of the answer went to the client (streams: the first token).
    #[serde(rename = "completionStartTime")]
    pub completion_start_time: f64,
    /// Seconds from start to end.
    pub response_time: f64,
    /// The model as the serving deployment names it upstream (else the model asked for).
    pub model: String,
    pub model_id: Option<String>,
    pub model_group: Option<String>,
    pub custom_llm_provider: Option<String>,
    pub api_base: String,
    pub metadata: Metadata,
    pub cache_hit: bool,
    pub request_tags: Vec<String>,
    pub end_user: String,
    pub requester_ip_address: Option<String>,
    pub error_str: Option<String>,
    pub error_information: Option<ErrorInformation>,
    pub hidden_params: HiddenParams,
}

/// Who made the request, as LiteLLM's `StandardLoggingMetadata` names it (the key's hash,
/// never the key), and the usage with its cache and reasoning tokens.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Metadata {
    pub user_api_key_hash: Option<String>,
    pub user_api_key_alias: Option<String>,
    pub user_api_key_team_id: Option<String>,
    pub user_api_key_user_id: Option<String>,
    pub user_api_key_end_user_id: Option<String>,
    pub usage_object: UsageObject,
}

/// Token counts as OpenAI's `usage` (with the cache and reasoning details flattened).
#[derive(Debug, Default, Clone, Serialize)]
pub struct UsageObject {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub reasoning_tokens: u64,
}

/// Why a request failed, as LiteLLM's `StandardLoggingPayloadErrorInformation`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ErrorInformation {
    /// The HTTP status, as text.
    pub error_code: String,
    /// The OpenAI error type (`rate_limit_error`, `invalid_request_error`, ...).
    pub error_class: String,
    pub llm_provider: String,
    pub error_message: String,
}

/// What LiteLLM keeps in `hidden_params`, plus the gateway's own retry and fallback counts.
#[derive(Debug, Default, Clone, Serialize)]
pub struct HiddenParams {
    pub model_id: Option<String>,
    pub api_base: Option<String>,
    pub response_cost: f64,
    /// Time spent in the gateway itself, not waiting on upstreams.
    pub litellm_overhead_time_ms: f64,
    /// The model name the client asked for.
    pub requested_model: String,
    pub attempted_retries: u32,
    pub attempted_fallbacks: u32,
}
