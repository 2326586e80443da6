//! OpenAI-family errors (nested, top-level, plain text) in OpenAI's shape, and the failure
//! class read from their text.

use serde::Deserialize;

use crate::core::error::{ApiError, ErrorKind};
use crate::core::failure::{Failure, FallbackClass};

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

/// The failure an OpenAI-compatible server's error makes. Its code decides first; vLLM,
/// Ollama and older Azure messages report context overflow and content filtering only in
/// prose (LiteLLM's exception mapping reads the same phrases), so this is the one place that
/// reads an error's text to class it.
pub fn failure_from_text(err: ApiError) -> Failure {
    let class = match FallbackClass::of(&err) {
        FallbackClass::Other | FallbackClass::Request => text_class(&err.message),
        known => Some(known),
    };
    let failure = Failure::new(err);
    match class {
        Some(c) => failure.with_class(c),
        None => failure,
    }
}

/// Context-window or content-policy, as a message says it.
fn text_class(message: &str) -> Option<FallbackClass> {
    let msg = message.to_ascii_lowercase();
    let has = |phrases: &[&str]| phrases.iter().any(|p| msg.contains(p));
    if has(&[
        "context length",
        "context window",
        "maximum context",
        "too many tokens",
    ]) {
        return Some(FallbackClass::ContextWindow);
    }
    if has(&["content management policy", "content policy"]) {
        return Some(FallbackClass::ContentPolicy);
    }
    None
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
