//! Azure OpenAI: OpenAI's wire format behind deployment URLs, `api-version` and `api-key`.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use super::openai::{decode_openai_error, route_suffix};
use super::{Defaults, EncodeTarget, Provider};

use crate::core::call::ModelCall;
use crate::core::endpoint::Endpoint;
use crate::core::error::ApiError;

pub struct Azure;

pub static DEFAULTS: Defaults = Defaults {
    api_base: None,
    key_env: &["AZURE_API_KEY", "AZURE_OPENAI_API_KEY"],
    base_env: &["AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT"],
    version_env: &["AZURE_API_VERSION", "OPENAI_API_VERSION"],
    default_api_version: Some("2025-02-01-preview"),
    fallback_key: None,
};

impl Provider for Azure {
    fn path(
        &self,
        base_path: &str,
        endpoint: Endpoint,
        model: &str,
        api_version: Option<&str>,
    ) -> String {
        if base_path.contains("/openai/deployments") {
            return format!(
                "{base_path}{}?api-version={}",
                route_suffix(endpoint),
                api_version.unwrap_or("2025-02-01-preview")
            );
        }
        let base = base_path.strip_suffix("/openai").unwrap_or(base_path);
        let version = api_version
            .or(DEFAULTS.default_api_version)
            .unwrap_or_default();
        format!(
            "{base}/openai/deployments/{model}{}?api-version={version}",
            route_suffix(endpoint)
        )
    }

    fn auth_header(&self, api_key: &str) -> Option<(HeaderName, HeaderValue)> {
        HeaderValue::from_str(api_key).ok().map(|mut v| {
            v.set_sensitive(true);
            (HeaderName::from_static("api-key"), v)
        })
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        // Azure picks the model from the URL; the body model is replaced for consistency.
        Ok(call.splice(
            Some(target.model_json),
            target.defaults,
            target.additional_drop_params,
        ))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        // Azure's errors are OpenAI-shaped but may lack `type` and use string codes
        // ("429", "content_filter", "DeploymentNotFound"); the OpenAI decoder keeps them.
        decode_openai_error(status, body)
    }

    /// Context-window and content-policy failures are told in the message as often as in a
    /// code.
    fn failure(&self, err: ApiError) -> crate::core::failure::Failure {
        super::openai::failure_from_text(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_url_with_version() {
        assert_eq!(
            Azure.path(
                "",
                Endpoint::ChatCompletions,
                "gpt4o-prod",
                Some("2025-01-01-preview")
            ),
            "/openai/deployments/gpt4o-prod/chat/completions?api-version=2025-01-01-preview"
        );
        assert_eq!(
            Azure.path("/openai", Endpoint::Embeddings, "emb", None),
            "/openai/deployments/emb/embeddings?api-version=2025-02-01-preview"
        );
    }

    #[test]
    fn content_filter_keeps_code() {
        let e = Azure.decode_error(400, &http::HeaderMap::new(), br#"{"error":{"message":"filtered","type":null,"param":"prompt","code":"content_filter","status":400}}"#);
        assert_eq!(e.code.as_deref(), Some("content_filter"));
        assert_eq!(e.param.as_deref(), Some("prompt"));
    }
}
