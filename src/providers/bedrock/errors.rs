//! Bedrock errors (`x-amzn-ErrorType` and the body's message) in OpenAI's shape.

use serde::Deserialize;

use crate::core::error::{ApiError, ErrorKind};

/// Statuses for Bedrock error types (HTTP `x-amzn-ErrorType` names and the camel-case
/// stream exception names alike; compared case-insensitively).
const ERROR_STATUS: &[(&str, u16)] = &[
    ("ValidationException", 400),
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
    ("ModelTimeoutException", 408),
    ("ThrottlingException", 429),
    ("ServiceQuotaExceededException", 429),
    ("InternalServerException", 500),
    ("ModelErrorException", 502),
    ("ModelStreamErrorException", 502),
    ("ServiceUnavailableException", 503),
    ("ModelNotReadyException", 503),
];

pub(super) fn type_status(kind: &str, default: u16) -> u16 {
    ERROR_STATUS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(kind))
        .map_or(default, |(_, s)| *s)
}

fn kind_for(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimit,
        400..=499 => ErrorKind::InvalidRequest,
        503 => ErrorKind::ServiceUnavailable,
        _ => ErrorKind::ApiError,
    }
}

pub(super) fn error_for(status: u16, kind: Option<&str>, message: &str) -> ApiError {
    let mut e = ApiError::new(
        status,
        kind_for(status),
        format!("litellm.BedrockException - {message}"),
    );
    if let Some(kind) = kind {
        e.code = Some(kind.to_string());
    }
    e
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
    #[serde(rename = "__type", default)]
    kind: Option<String>,
}

/// A Bedrock error response as an OpenAI error: the message from the body (`message` or
/// `Message`), the type from `x-amzn-ErrorType` (or the body's `__type`) as `code`, the
/// upstream status kept except that throttling is always 429.
pub fn decode_error(status: u16, headers: &http::HeaderMap, body: &[u8]) -> ApiError {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let header_kind = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v).trim().to_string());
    let body_kind = parsed.as_ref().and_then(|p| p.kind.as_deref()).map(|k| {
        // `com.amazon.coral.validate#ValidationException:http://...`
        let k = k.rsplit('#').next().unwrap_or(k);
        k.split(':').next().unwrap_or(k).to_string()
    });
    let kind = header_kind.or(body_kind).filter(|k| !k.is_empty());
    let message = match parsed.and_then(|p| p.message) {
        Some(m) => m,
        None => {
            let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
            if text.trim().is_empty() {
                format!("upstream returned HTTP {status}")
            } else {
                text.into_owned()
            }
        }
    };
    let status = match kind.as_deref().map(|k| type_status(k, status)) {
        Some(429) => 429,
        _ => status,
    };
    error_for(status, kind.as_deref(), &message)
}
