//! Anthropic errors (`{"type":"error","error":{...}}` bodies and stream `error` events) in
//! OpenAI's shape.

use std::borrow::Cow;

use serde::Deserialize;

use crate::core::error::{ApiError, ErrorKind};

/// The `error` object of an error body or a stream `error` event.
#[derive(Deserialize)]
pub(super) struct ErrorIn<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(super) kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) message: Option<Cow<'a, str>>,
}

/// The HTTP status for an Anthropic `error.type` seen inside a stream.
pub(super) fn error_status(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

pub(super) fn error_for(status: u16, kind: Option<&str>, message: &str) -> ApiError {
    let k = match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimit,
        400..=499 => ErrorKind::InvalidRequest,
        503 | 529 => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::ApiError,
    };
    let mut e = ApiError::new(status, k, format!("litellm.AnthropicException - {message}"));
    if let Some(kind) = kind {
        e.code = Some(kind.to_string());
    }
    e
}

/// `{"type":"error","error":{"type","message"}}` to an OpenAI error with the same status.
pub fn decode_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        error: ErrorIn<'a>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error }) => error_for(
            status,
            error.kind.as_deref(),
            error.message.as_deref().unwrap_or("upstream error"),
        ),
        Err(_) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
            let text = if text.trim().is_empty() {
                format!("upstream returned HTTP {status}")
            } else {
                text.into_owned()
            };
            error_for(status, None, &text)
        }
    }
}
