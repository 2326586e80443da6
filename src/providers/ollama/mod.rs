//! Ollama's native API (LiteLLM's `ollama_chat/`): chat requests become `/api/chat` bodies;
//! responses, NDJSON streams and `{"error": "..."}` bodies are decoded back into the neutral
//! chat types.

mod decode;
mod embed;
mod encode;
mod errors;
mod stream;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::chat::{Completion, StreamDecoder};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;
use decode::decode_completion;
pub use errors::decode_error;
pub use stream::OllamaStream;

/// `ollama_chat/`: `POST {api_base}/api/chat`.
pub struct OllamaChat;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("http://localhost:11434"),
    key_env: &["OLLAMA_API_KEY"],
    base_env: &["OLLAMA_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// The native route for an endpoint.
fn route(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Embeddings => "/api/embed",
        _ => "/api/chat",
    }
}

impl Provider for OllamaChat {
    /// The native route under the base URL. A base that already names the route is kept; a
    /// base ending in `/v1` (Ollama's OpenAI-compatible prefix) or `/api` has it stripped.
    fn path(&self, base_path: &str, endpoint: Endpoint, _model: &str, _v: Option<&str>) -> String {
        let route = route(endpoint);
        if base_path.ends_with(route) {
            return base_path.to_string();
        }
        let base = base_path
            .strip_suffix("/v1")
            .or_else(|| base_path.strip_suffix("/api"))
            .unwrap_or(base_path);
        format!("{base}{route}")
    }

    /// `Authorization: Bearer`: a local server ignores it, hosted Ollama (ollama.com) and
    /// authenticating proxies read it.
    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        super::bearer(api_key)
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(endpoint, Endpoint::ChatCompletions | Endpoint::Embeddings)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        match call.endpoint {
            Endpoint::Embeddings => embed::encode(call, target),
            _ => encode::encode(call, target),
        }
    }

    fn decode_embeddings(&self, body: &[u8], call: &ModelCall) -> Option<Result<Bytes, ApiError>> {
        Some(embed::decode(body, &call.model))
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_completion(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(OllamaStream::default()))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        super::openai::failure_from_text(err)
    }
}

#[cfg(test)]
mod tests;
