//! Anthropic's Messages API: OpenAI chat requests encoded as `/v1/messages` bodies, and
//! responses and event streams decoded back into the neutral [`Completion`] and
//! [`Event`](super::chat::Event)s.
//!
//! As LiteLLM: system messages move to `system`, same-side turns merge (tool results are user
//! turns), `response_format` becomes a forced `json_tool_call` tool whose arguments come back
//! as the message content, `max_tokens` defaults to 4096, 529 is retryable.

mod decode;
mod encode;
mod errors;
mod stream;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::chat::{ChatRequest, ClientWire, Completion, StreamDecoder};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use decode::decode_message;
pub use decode::{finish_reason, usage_of};
use encode::encode_request;
pub use errors::decode_error;
pub use stream::AnthropicStream;

pub struct Anthropic;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("https://api.anthropic.com"),
    key_env: &["ANTHROPIC_API_KEY"],
    base_env: &["ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// LiteLLM's `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS`.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;
/// The tool LiteLLM forces for `response_format` (JSON mode).
pub const JSON_TOOL: &str = "json_tool_call";
/// OpenAI parameters Anthropic has no equivalent for.
const UNSUPPORTED: &[&str] = &["seed"];

impl Provider for Anthropic {
    fn path(&self, base_path: &str, _e: Endpoint, _model: &str, _v: Option<&str>) -> String {
        if base_path.ends_with("/v1/messages") {
            return base_path.to_string();
        }
        match base_path.strip_suffix("/v1") {
            Some(b) => format!("{b}/v1/messages"),
            None => format!("{base_path}/v1/messages"),
        }
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        HeaderValue::from_str(api_key).ok().map(|mut v| {
            v.set_sensitive(true);
            (HeaderName::from_static("x-api-key"), v)
        })
    }

    fn static_headers(&self) -> &'static [(HeaderName, HeaderValue)] {
        static VERSION: [(HeaderName, HeaderValue); 1] = [(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static("2023-06-01"),
        )];
        &VERSION
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        !matches!(endpoint, Endpoint::Embeddings | Endpoint::Completions)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        if let (Some(native), ClientWire::Anthropic) = (&call.native, call.client) {
            // A `/v1/messages` client: its own body goes out, only the model replaced, so
            // `cache_control`, thinking signatures and beta fields survive.
            return Ok(native.splice(
                Some(target.model_json),
                target.defaults,
                target.additional_drop_params,
            ));
        }
        let req = ChatRequest::parse(call)?;
        req.check_supported("anthropic", target.model, UNSUPPORTED, target.drop_params)?;
        encode_request(&req, target)
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_message(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(AnthropicStream::default()))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        super::openai::failure_from_text(err)
    }

    /// Beta features are asked for by header (Claude Code sends several).
    fn client_header(&self, call: &ModelCall) -> Option<(HeaderName, HeaderValue)> {
        let v = call.anthropic_beta.as_ref()?;
        Some((HeaderName::from_static("anthropic-beta"), v.clone()))
    }
}

#[cfg(test)]
mod tests;
