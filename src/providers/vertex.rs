//! Google Vertex AI (Gemini models on `aiplatform.googleapis.com`): the same
//! `generateContent` bodies, streams and errors as AI Studio, under a project/location
//! resource path and authorized by a service account's OAuth token.

pub mod auth;
#[cfg(test)]
mod config_tests;
mod settings;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::chat::{Completion, StreamDecoder};
use super::gemini::{self, GeminiStream};
use super::{Defaults, EncodeTarget, Params, Placement, Provider};
use crate::core::call::ModelCall;
use crate::core::config_error::ConfigError;
use crate::core::endpoint::Endpoint;
use crate::core::env::Env;
use crate::core::error::ApiError;

pub use auth::GoogleAuth;

pub struct Vertex;

/// No fixed base: it comes from the location ([`default_base`]).
pub static DEFAULTS: Defaults = Defaults {
    api_base: None,
    key_env: &[],
    base_env: &[],
    version_env: &[],
    default_api_version: None,
    fallback_key: None,
};

/// The location used when neither `vertex_location` nor `VERTEXAI_LOCATION` is set.
pub const DEFAULT_LOCATION: &str = "us-central1";
/// Environment variables for the project, the location and a service-account file.
pub const PROJECT_ENV: &str = "VERTEXAI_PROJECT";
pub const LOCATION_ENV: &str = "VERTEXAI_LOCATION";
pub const CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The regional endpoint for a location (`global` has no regional host).
pub fn default_base(location: &str) -> String {
    if location == "global" {
        "https://aiplatform.googleapis.com/v1".to_string()
    } else {
        format!("https://{location}-aiplatform.googleapis.com/v1")
    }
}

/// The model's resource name, the "model" the paths are built from; a name that already is a
/// resource (`projects/...`, e.g. a tuned endpoint) is kept.
pub fn resource(project: &str, location: &str, model: &str) -> String {
    if model.starts_with("projects/") {
        model.to_string()
    } else {
        format!("projects/{project}/locations/{location}/publishers/google/models/{model}")
    }
}

impl Provider for Vertex {
    fn place(&self, p: &Params<'_>, env: &Env) -> Result<Placement, ConfigError> {
        settings::place(p, env)
    }

    /// `model` is the resource name from [`resource`].
    fn path(&self, base_path: &str, _e: Endpoint, model: &str, _v: Option<&str>) -> String {
        format!("{base_path}/{model}:generateContent")
    }

    fn stream_path(&self, base_path: &str, model: &str, _v: Option<&str>) -> Option<String> {
        Some(format!("{base_path}/{model}:streamGenerateContent?alt=sse"))
    }

    /// An `api_key` (Vertex express mode) travels as AI Studio's does; service-account
    /// tokens are dynamic and added per request from [`GoogleAuth`].
    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        gemini::Gemini.auth_header(api_key)
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(endpoint, Endpoint::ChatCompletions)
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        gemini::encode_chat(call, target)
    }

    fn decode_completion(&self, body: &[u8]) -> Option<Result<Completion, ApiError>> {
        Some(gemini::decode_completion(body))
    }

    fn stream_decoder(&self) -> Option<Box<dyn StreamDecoder>> {
        Some(Box::new(GeminiStream::default()))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        gemini::decode_error(status, body)
    }

    fn retry_after_in_body(&self, body: &[u8]) -> Option<u64> {
        gemini::retry_after_secs(body)
    }
}

#[cfg(test)]
mod tests {
    use super::{default_base, resource, Vertex};
    use crate::core::endpoint::Endpoint;
    use crate::providers::{provider, Provider, ProviderKind};

    #[test]
    fn regional_location_paths() {
        let base = default_base("us-central1");
        assert_eq!(base, "https://us-central1-aiplatform.googleapis.com/v1");
        let uri: http::Uri = base.parse().unwrap();
        let model = resource("my-proj", "us-central1", "gemini-2.5-flash");
        assert_eq!(
            Vertex.path(uri.path(), Endpoint::ChatCompletions, &model, None),
            "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(
            Vertex.stream_path(uri.path(), &model, None).unwrap(),
            "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
    }

    #[test]
    fn global_location_paths() {
        let base = default_base("global");
        assert_eq!(base, "https://aiplatform.googleapis.com/v1");
        let model = resource("p", "global", "gemini-3-pro-preview");
        assert_eq!(
            Vertex.path("/v1", Endpoint::ChatCompletions, &model, None),
            "/v1/projects/p/locations/global/publishers/google/models/gemini-3-pro-preview:generateContent"
        );
    }

    #[test]
    fn a_resource_name_is_kept() {
        let tuned = "projects/p/locations/europe-west4/endpoints/123";
        assert_eq!(resource("other", "us-central1", tuned), tuned);
    }

    #[test]
    fn prefixes_dispatch_to_vertex() {
        for prefix in ["vertex_ai", "vertex_ai_beta"] {
            let kind = ProviderKind::from_prefix(prefix).unwrap();
            assert_eq!(kind, ProviderKind::VertexAi);
            assert_eq!(kind.as_str(), "vertex_ai");
        }
        let p = provider(ProviderKind::VertexAi);
        assert!(p.supports(Endpoint::ChatCompletions));
        assert!(!p.supports(Endpoint::Embeddings));
    }

    #[test]
    fn bodies_and_errors_are_geminis() {
        let text = br#"{"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}}"#;
        let c = Vertex.decode_completion(text).unwrap().unwrap();
        assert_eq!(c.text.as_deref(), Some("hi"));
        assert_eq!(c.usage.prompt, 3);
        let err = Vertex.decode_error(
            429,
            &http::HeaderMap::new(),
            br#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(err.status, 429);
        assert_eq!(err.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
    }
}
