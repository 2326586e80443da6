//! OpenAI and every OpenAI-compatible server: same wire format, so requests are spliced.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use serde::Deserialize;

use super::{Defaults, EncodeTarget, Provider};
use crate::api::error::{ApiError, ErrorKind};
use crate::api::request::ModelCall;
use crate::api::Endpoint;

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
        HeaderValue::from_str(&format!("Bearer {api_key}"))
            .ok()
            .map(|mut v| {
                v.set_sensitive(true);
                (AUTHORIZATION, v)
            })
    }

    fn encode(&self, call: &ModelCall, target: &EncodeTarget<'_>) -> Result<Bytes, ApiError> {
        Ok(call.splice(
            Some(target.model_json),
            target.defaults,
            target.additional_drop_params,
        ))
    }

    fn decode_error(&self, status: u16, _headers: &http::HeaderMap, body: &[u8]) -> ApiError {
        decode_openai_error(status, body)
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorFields>,
    // vLLM (older) and Mistral put the fields at the top level.
    message: Option<String>,
    param: Option<serde_json::Value>,
    code: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorFields {
    Object {
        message: Option<String>,
        param: Option<serde_json::Value>,
        code: Option<serde_json::Value>,
    },
    Text(String),
}

pub(crate) fn kind_for(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimit,
        400..=499 => ErrorKind::InvalidRequest,
        503 | 529 => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::ApiError,
    }
}

fn scalar(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Normalise any OpenAI-family error body (nested, top-level, plain text) to OpenAI's shape,
/// keeping the upstream status, message, param and code.
pub fn decode_openai_error(status: u16, body: &[u8]) -> ApiError {
    let mut err = ApiError::new(status, kind_for(status), String::new());
    err.code = Some(status.to_string());
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope {
            error:
                Some(ErrorFields::Object {
                    message,
                    param,
                    code,
                }),
            ..
        }) => {
            err.message = message.unwrap_or_default();
            err.param = scalar(param);
            err.code = scalar(code).or(err.code);
        }
        Ok(Envelope {
            error: Some(ErrorFields::Text(message)),
            ..
        }) => err.message = message,
        Ok(Envelope {
            message: Some(message),
            param,
            code,
            ..
        }) => {
            err.message = message;
            err.param = scalar(param);
            err.code = scalar(code).or(err.code);
        }
        _ => err.message = String::from_utf8_lossy(&body[..body.len().min(2048)]).into_owned(),
    }
    if err.message.is_empty() {
        err.message = format!("upstream returned HTTP {status}");
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_like_the_openai_sdk() {
        assert_eq!(
            OpenAi.path("/v1", Endpoint::ChatCompletions, "m", None),
            "/v1/chat/completions"
        );
        assert_eq!(
            OpenAi.path("", Endpoint::Embeddings, "m", None),
            "/embeddings"
        );
    }

    #[test]
    fn decodes_error_shapes() {
        let e = decode_openai_error(429, br#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#);
        assert_eq!(
            (e.status, e.message.as_str(), e.code.as_deref()),
            (429, "slow down", Some("rate_limit_exceeded"))
        );
        assert_eq!(e.kind, ErrorKind::RateLimit);
        let e = decode_openai_error(400, br#"{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}"#);
        assert_eq!(
            (e.message.as_str(), e.code.as_deref()),
            ("bad", Some("400"))
        );
        let e = decode_openai_error(502, b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
        let e = decode_openai_error(404, br#"{"error":"model 'x' not found"}"#);
        assert_eq!(e.message, "model 'x' not found");
    }
}
