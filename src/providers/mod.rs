//! Provider modules, all of one shape, behind the [`Provider`] trait; `registry` is the single
//! place that dispatches on the kind.
//!
//! Each module supplies: its constants (default base URL, key variables), credentials
//! (the auth header), request encoding (pure, borrowed), error decoding and classing, and the
//! stream mapping. Adding a provider is a new module plus one row in `registry`.

pub mod answer_names;
pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod chat;
pub mod credentials;
pub mod gemini;
pub mod mock;
pub mod ollama;
pub mod openai;
pub mod placement;
pub mod presets;
pub mod registry;
#[cfg(test)]
pub(crate) mod testkit;
pub mod vertex;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use crate::core::call::ModelCall;
use crate::core::config_error::ConfigError;
use crate::core::endpoint::Endpoint;
use crate::core::env::Env;
use crate::core::error::ApiError;
use crate::core::failure::Failure;
pub use crate::core::ids::ProviderKind;
use chat::{Completion, StreamDecoder};
pub use credentials::Credentials;
pub use placement::{Params, Placement};

impl ProviderKind {
    /// The kind for a LiteLLM provider prefix, if this build implements it.
    pub fn from_prefix(prefix: &str) -> Option<ProviderKind> {
        registry::from_prefix(prefix)
    }

    /// Default base URL, key and version variables.
    pub fn defaults(self) -> &'static Defaults {
        registry::info(self).defaults
    }

    /// The `api_provider` metric label.
    pub fn as_str(self) -> &'static str {
        registry::info(self).label
    }

    /// How its pass-through route reads a call.
    pub fn pass_through(self) -> registry::PassThrough {
        registry::info(self).pass_through
    }
}

/// Static facts a provider contributes when a deployment is built.
pub struct Defaults {
    pub api_base: Option<&'static str>,
    /// Environment variables consulted (in order) when `api_key` is not set.
    pub key_env: &'static [&'static str],
    pub base_env: &'static [&'static str],
    pub version_env: &'static [&'static str],
    pub default_api_version: Option<&'static str>,
    /// Key sent when none is configured (LiteLLM sends `fake-api-key` to vLLM).
    pub fallback_key: Option<&'static str>,
}

/// The operations every provider implements. Only the first four are required: the
/// defaults describe an OpenAI-shaped provider (bodies and streams pass through).
pub trait Provider: Sync {
    /// Read and check this provider's own params of a deployment (region, project,
    /// credentials); the default reads none.
    fn place(&self, _params: &Params<'_>, _env: &Env) -> Result<Placement, ConfigError> {
        Ok(Placement::default())
    }

    /// Path and query for an endpoint, given the base URL's path (no trailing slash).
    fn path(
        &self,
        base_path: &str,
        endpoint: Endpoint,
        upstream_model: &str,
        api_version: Option<&str>,
    ) -> String;

    /// Path and query for a streamed chat request, where it differs from [`Provider::path`]
    /// (Gemini's `:streamGenerateContent?alt=sse`, Bedrock's `/converse-stream`).
    fn stream_path(
        &self,
        _base_path: &str,
        _upstream_model: &str,
        _api_version: Option<&str>,
    ) -> Option<String> {
        None
    }

    /// The header that carries the provider credential.
    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)>;

    /// Headers every request carries (e.g. `anthropic-version`), parsed once.
    fn static_headers(&self) -> &'static [(HeaderName, HeaderValue)] {
        &[]
    }

    /// Whether the provider serves this endpoint; others answer 400 without a call.
    fn supports(&self, _endpoint: Endpoint) -> bool {
        true
    }

    /// The upstream request body for a parsed client request; a request the provider
    /// cannot take (an unsupported parameter without `drop_params`) is a client error.
    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError>;

    /// Translate a 2xx non-stream chat body; `None` when the body is already OpenAI's shape.
    /// An `Err` is a failure the router may fail over on (e.g. a 200 with no candidates).
    fn decode_completion(&self, _body: &[u8]) -> Option<Result<Completion, ApiError>> {
        None
    }

    /// Translate a 2xx embeddings body into OpenAI's list; `None` when already OpenAI's.
    fn decode_embeddings(
        &self,
        _body: &[u8],
        _call: &ModelCall,
    ) -> Option<Result<Bytes, ApiError>> {
        None
    }

    /// The decoder for a streamed chat body; `None` when the stream is OpenAI SSE.
    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        None
    }

    /// Turn an upstream error response into the client's OpenAI-shaped error.
    fn decode_error(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> ApiError;

    /// The failure an upstream error makes, its fallback class decided from this provider's
    /// own codes (the default: OpenAI's codes and the status). Providers whose servers say
    /// "context length" or "content policy" only in prose override it with
    /// [`openai::failure_from_text`].
    fn failure(&self, err: ApiError) -> Failure {
        Failure::new(err)
    }

    /// Seconds to wait before a retry, from an error body (Google's `RetryInfo`), for a
    /// provider that says so there rather than in `Retry-After`.
    fn retry_after_in_body(&self, _body: &[u8]) -> Option<u64> {
        None
    }

    /// A header of the client's request this provider takes on (Anthropic's `anthropic-beta`,
    /// which Claude Code sends to turn on beta features).
    fn client_header(&self, _call: &ModelCall) -> Option<(HeaderName, HeaderValue)> {
        None
    }
}

/// What encoding needs from a deployment.
pub struct EncodeTarget<'a> {
    /// The upstream model name as an encoded JSON string.
    pub model_json: &'a [u8],
    /// The upstream model name.
    pub model: &'a str,
    pub defaults: &'a [(String, Box<serde_json::value::RawValue>)],
    /// Leave out OpenAI parameters the provider does not support instead of failing.
    pub drop_params: bool,
    /// Parameters always removed before the call (`additional_drop_params`).
    pub additional_drop_params: &'a [String],
}

/// The implementation of a kind.
pub fn provider(kind: ProviderKind) -> &'static dyn Provider {
    registry::info(kind).provider
}

/// `Authorization: Bearer <key>`, marked sensitive (kept out of logs).
pub fn bearer(api_key: &str) -> Option<(HeaderName, HeaderValue)> {
    HeaderValue::from_str(&format!("Bearer {api_key}"))
        .ok()
        .map(|mut v| {
            v.set_sensitive(true);
            (http::header::AUTHORIZATION, v)
        })
}

/// Whether an upstream status means "try another deployment".
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500..=599)
}
