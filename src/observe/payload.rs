//! The one record of a finished request, with the field names of LiteLLM's
//! `StandardLoggingPayload` (what its callbacks receive and what dashboards built on them
//! read). Built once at the end of the request from data already in hand, then shared by
//! every sink.

use std::sync::OnceLock;

use bytes::Bytes;
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
    /// The prompt and the answer, spliced in as `messages` and `response` by
    /// [`Payload::json`] (raw JSON, never parsed again); `None` when message logging is off.
    #[serde(skip)]
    pub bodies: Option<Bodies>,
    /// The key's and its team's own destinations.
    #[serde(skip)]
    pub own: Option<std::sync::Arc<crate::core::key_logging::KeyLogging>>,
    /// The request's span tree, for tracing sinks; `None` when none runs.
    #[serde(skip)]
    pub trace: Option<Box<Trace>>,
    /// The JSON of this payload, made once by the first sink that needs it.
    #[serde(skip)]
    pub(crate) json: OnceLock<Bytes>,
}

/// What LiteLLM writes for a prompt or answer it may not log (`turn_off_message_logging`).
pub const REDACTED: &str = "redacted-by-litellm";

/// The prompt and answer of one request, as raw JSON.
#[derive(Debug, Clone, Default)]
pub struct Bodies {
    /// `messages` (chat), `prompt` (completions) or `input` (embeddings); empty: none read.
    pub messages: Bytes,
    /// The answer's JSON body (not kept for streams); `None`: nothing to log.
    pub response: Option<Bytes>,
    /// Write [`REDACTED`] in place of both.
    pub redacted: bool,
}

/// One request as spans: ids and times (unix nanoseconds) read off the request's trail.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub trace_id: [u8; 16],
    /// The client's span (`traceparent`), parent of the request's span.
    pub parent: Option<[u8; 8]>,
    pub span_id: [u8; 8],
    /// The request: start and end.
    pub start: u64,
    pub end: u64,
    /// Admission: start, end, whether it let the request through.
    pub admission: Option<(u64, u64, bool)>,
    pub attempts: Vec<AttemptSpan>,
}

/// One upstream attempt.
#[derive(Debug, Clone, Default)]
pub struct AttemptSpan {
    pub span_id: [u8; 8],
    pub start: u64,
    pub end: u64,
    pub deployment: String,
    /// The model as the deployment names it upstream.
    pub model: String,
    pub provider: String,
    pub host: String,
    pub port: u16,
    /// The status the attempt ended with (0: the client left).
    pub status: u16,
    /// The error type of a failed attempt.
    pub error: Option<&'static str>,
}

impl Payload {
    /// This payload as one JSON object, serialized on first use and shared after.
    pub fn json(&self) -> &Bytes {
        self.json.get_or_init(|| self.serialize())
    }

    fn serialize(&self) -> Bytes {
        let mut out = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        if let Some(b) = &self.bodies {
            // Splice the raw prompt and answer in before the closing brace.
            out.pop();
            out.extend_from_slice(b",\"messages\":");
            let valid = |j: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(j).is_ok();
            if b.redacted {
                out.extend_from_slice(format!("\"{REDACTED}\"").as_bytes());
            } else if b.messages.is_empty() {
                // Refused before its body was read: no prompt to log.
                out.extend_from_slice(b"null");
            } else {
                out.extend_from_slice(&b.messages);
            }
            out.extend_from_slice(b",\"response\":");
            match &b.response {
                _ if b.redacted => out.extend_from_slice(format!("\"{REDACTED}\"").as_bytes()),
                Some(r) if valid(r) => out.extend_from_slice(r),
                _ => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
        }
        Bytes::from(out)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(bodies: Bodies) -> serde_json::Value {
        let p = Payload {
            bodies: Some(bodies),
            ..Payload::default()
        };
        serde_json::from_slice(p.json()).unwrap_or_default()
    }

    #[test]
    fn prompts_and_answers_are_spliced_raw_redacted_or_null() {
        let v = json_of(Bodies {
            messages: Bytes::from_static(br#"[{"role":"user","content":"hi"}]"#),
            response: Some(Bytes::from_static(br#"{"id":"c"}"#)),
            redacted: false,
        });
        assert_eq!(v["messages"][0]["content"], "hi");
        assert_eq!(v["response"]["id"], "c");
        let v = json_of(Bodies {
            response: Some(Bytes::from_static(b"{not json")),
            ..Bodies::default()
        });
        assert!(v["messages"].is_null() && v["response"].is_null(), "{v}");
        let v = json_of(Bodies {
            messages: Bytes::from_static(b"[]"),
            redacted: true,
            ..Bodies::default()
        });
        assert_eq!(
            (v["messages"].as_str(), v["response"].as_str()),
            (Some(REDACTED), Some(REDACTED))
        );
    }
}
