//! AWS Bedrock's Converse API: OpenAI chat requests encoded as `/model/{id}/converse` bodies,
//! Converse responses and ConverseStream event streams decoded into the neutral
//! [`Completion`] and [`Event`]s, and `x-amzn-ErrorType` errors in OpenAI's shape.
//!
//! Credentials: a Bedrock API key goes in `Authorization: Bearer` ([`Provider::auth_header`]);
//! IAM credentials sign each request with [`sigv4::sign`] (service `bedrock`) over the final
//! path and body. As LiteLLM: `response_format` becomes a forced `json_tool_call` tool whose
//! input comes back as the message content.

mod decode;
mod embed;
mod encode;
mod errors;
pub mod eventstream;
mod settings;
pub use crate::core::sigv4;
mod stream;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::chat::{ChatRequest, Completion, StreamDecoder};
use super::{Defaults, EncodeTarget, Params, Placement, Provider};
use crate::core::call::ModelCall;
use crate::core::config_error::ConfigError;
use crate::core::endpoint::Endpoint;
use crate::core::env::Env;
use crate::core::error::ApiError;
use decode::decode_converse;
pub use decode::finish_reason;
pub use errors::decode_error;
pub use stream::ConverseStream;

pub struct Bedrock;

/// No fixed base: the gateway derives `https://bedrock-runtime.{region}.amazonaws.com` from
/// `aws_region_name` / `AWS_REGION`.
pub static DEFAULTS: Defaults = Defaults {
    api_base: None,
    key_env: &["AWS_BEARER_TOKEN_BEDROCK"],
    base_env: &[],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// The SigV4 signing name of the Bedrock runtime.
pub const SIGNING_SERVICE: &str = "bedrock";
/// The tool LiteLLM forces for `response_format` (JSON mode).
pub const JSON_TOOL: &str = "json_tool_call";
/// OpenAI parameters Converse has no equivalent for.
const UNSUPPORTED: &[&str] = &["seed"];

/// The Bedrock model id of an upstream model name (LiteLLM's `converse/` route prefix off).
pub fn model_id(upstream_model: &str) -> &str {
    upstream_model
        .strip_prefix("converse/")
        .unwrap_or(upstream_model)
}

impl Provider for Bedrock {
    fn path(&self, base_path: &str, e: Endpoint, model: &str, _v: Option<&str>) -> String {
        let route = if e == Endpoint::Embeddings {
            "invoke"
        } else {
            "converse"
        };
        format!(
            "{base_path}/model/{}/{route}",
            sigv4::uri_encode(model_id(model).as_bytes())
        )
    }

    fn stream_path(&self, base_path: &str, model: &str, _v: Option<&str>) -> Option<String> {
        Some(format!(
            "{base_path}/model/{}/converse-stream",
            sigv4::uri_encode(model_id(model).as_bytes())
        ))
    }

    fn place(&self, p: &Params<'_>, env: &Env) -> Result<Placement, ConfigError> {
        settings::place(p, env)
    }

    /// A Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`); IAM credentials sign instead.
    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        super::bearer(api_key)
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        endpoint != Endpoint::Completions
    }

    fn decode_embeddings(&self, body: &[u8], call: &ModelCall) -> Option<Result<Bytes, ApiError>> {
        Some(embed::decode(body, call))
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        if call.endpoint == Endpoint::Embeddings {
            return embed::encode(call, target, model_id(target.model));
        }
        let req = ChatRequest::parse(call)?;
        req.check_supported("bedrock", target.model, UNSUPPORTED, target.drop_params)?;
        encode::encode_request(&req, target, model_id(target.model))
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(decode_converse(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(ConverseStream::new()))
    }

    fn decode_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_error(status, headers, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        crate::providers::openai::failure_from_text(err)
    }
}

#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
