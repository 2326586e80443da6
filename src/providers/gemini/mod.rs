//! Google Gemini (AI Studio, `generativelanguage` v1beta): chat requests become
//! `generateContent` bodies; responses, `alt=sse` streams and `google.rpc.Status` errors are
//! decoded back into the neutral chat types.

mod contents;
mod decode;
mod embed;
mod encode;
mod errors;
mod stream;

pub(crate) use decode::decode_completion;
pub(crate) use encode::encode as encode_chat;
pub use errors::{decode_error, retry_after_secs};
pub use stream::GeminiStream;

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::chat::{Completion, StreamDecoder};
use super::{Defaults, EncodeTarget, Provider};
use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;

pub struct Gemini;

pub static DEFAULTS: Defaults = Defaults {
    api_base: Some("https://generativelanguage.googleapis.com/v1beta"),
    key_env: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    base_env: &["GEMINI_API_BASE"],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// LiteLLM's separator for a thought signature carried inside an OpenAI tool call id
/// (`call_<hex>__thought__<signature>`), so OpenAI clients send it back unchanged.
const SIGNATURE_SEPARATOR: &str = "__thought__";

/// The `models/{model}` resource name; names that already are resources are kept.
fn resource(model: &str) -> Cow<'_, str> {
    if model.starts_with("models/") || model.starts_with("tunedModels/") {
        Cow::Borrowed(model)
    } else {
        Cow::Owned(format!("models/{model}"))
    }
}

impl Provider for Gemini {
    fn path(&self, base_path: &str, endpoint: Endpoint, model: &str, _v: Option<&str>) -> String {
        match endpoint {
            Endpoint::Embeddings => format!("{base_path}/{}:batchEmbedContents", resource(model)),
            _ => format!("{base_path}/{}:generateContent", resource(model)),
        }
    }

    fn stream_path(&self, base_path: &str, model: &str, _v: Option<&str>) -> Option<String> {
        Some(format!(
            "{base_path}/{}:streamGenerateContent?alt=sse",
            resource(model)
        ))
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        HeaderValue::from_str(api_key).ok().map(|mut v| {
            v.set_sensitive(true);
            (HeaderName::from_static("x-goog-api-key"), v)
        })
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
        Some(embed::decode(body, &call.model, call.input_json().len()))
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_completion(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(GeminiStream::default()))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, body)
    }

    fn retry_after_in_body(&self, body: &[u8]) -> Option<u64> {
        retry_after_secs(body)
    }
}

#[cfg(test)]
mod tests;
