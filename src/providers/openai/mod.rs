//! OpenAI and every OpenAI-compatible server: same wire format, so requests are spliced.

mod decode;
mod encode;
mod errors;
mod stream;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
pub use decode::decode_completion_body;
pub use encode::is_reasoning_model;
pub(crate) use errors::kind_for;
pub use errors::{decode_openai_error, failure_from_text};
pub use stream::OpenAiStream;

pub struct OpenAi;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("https://api.openai.com/v1"),
    key_env: &["OPENAI_API_KEY"],
    base_env: &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

pub static VLLM_DEFAULTS: Defaults = Defaults {
    api_base: None,
    key_env: &["HOSTED_VLLM_API_KEY"],
    base_env: &["HOSTED_VLLM_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: Some("fake-api-key"),
};

/// The route suffix OpenAI's SDK appends to `base_url`.
pub fn route_suffix(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Completions => "/completions",
        Endpoint::Embeddings => "/embeddings",
        _ => "/chat/completions",
    }
}

impl Provider for OpenAi {
    fn path(&self, base_path: &str, endpoint: Endpoint, _model: &str, _v: Option<&str>) -> String {
        // As the OpenAI SDK (and so LiteLLM) does: base URL + route, no `/v1` added; a base
        // that already names the route is used as it is.
        let suffix = route_suffix(endpoint);
        if base_path.ends_with(suffix) {
            return base_path.to_string();
        }
        format!("{base_path}{suffix}")
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        super::bearer(api_key)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        Ok(encode::splice(call, target))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_openai_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        failure_from_text(err)
    }
}

#[cfg(test)]
mod tests;
