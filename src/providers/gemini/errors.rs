//! Gemini errors (`google.rpc.Status` bodies, `RetryInfo` delays) in OpenAI's shape.

use std::borrow::Cow;

use serde::Deserialize;

use super::super::openai::kind_for;
use crate::core::error::ApiError;

/// `google.rpc.Status`, the body of every Gemini error.
#[derive(Deserialize)]
pub(super) struct Status<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    details: Vec<Detail<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    #[serde(rename = "@type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    /// `RetryInfo.retryDelay`, a protobuf duration such as `"41.5s"`.
    #[serde(borrow, default)]
    retry_delay: Option<Cow<'a, str>>,
    /// `ErrorInfo.reason`, e.g. `API_KEY_INVALID`.
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    error: Status<'a>,
}

impl Status<'_> {
    /// The client's error for a status inside a 2xx body: its own `code` as the HTTP status
    /// (`fallback` when that is missing or not an error status).
    pub(super) fn to_error(&self, fallback: u16) -> ApiError {
        let code = self.code.and_then(|c| u16::try_from(c).ok());
        self.error_at(code.filter(|c| (400..=599).contains(c)).unwrap_or(fallback))
    }

    /// The client's error at HTTP status `http`.
    fn error_at(&self, http: u16) -> ApiError {
        let message = match self.message.as_deref() {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => format!("upstream returned HTTP {http}"),
        };
        // A bad key is a 400 INVALID_ARGUMENT at Google; clients (and cooldowns) expect 401.
        let key_invalid = self
            .details
            .iter()
            .any(|d| d.reason.as_deref() == Some("API_KEY_INVALID"))
            || message.contains("API key not valid");
        let http = if key_invalid { 401 } else { http };
        let context = http == 400 && message.contains("exceeds the maximum number of tokens");
        let mut err = ApiError::new(http, kind_for(http), message);
        if context {
            err.code = Some("context_length_exceeded".to_string());
        } else if let Some(s) = self.status.as_deref().filter(|s| !s.is_empty()) {
            err.code = Some(s.to_string());
        }
        err
    }

    /// `RetryInfo.retryDelay` rounded up to whole seconds.
    fn retry_after(&self) -> Option<u64> {
        let delay = self.details.iter().find_map(|d| {
            d.kind
                .as_deref()
                .is_some_and(|k| k.ends_with("google.rpc.RetryInfo"))
                .then_some(d.retry_delay.as_deref())
                .flatten()
        })?;
        let secs: f64 = delay.strip_suffix('s')?.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| secs.ceil() as u64)
    }
}

/// The `google.rpc.Status` of an error body: `{"error": {...}}`, or the first element of
/// `[{"error": {...}}]` (the JSON-array stream mode and some wrappers).
fn parse_status(body: &[u8]) -> Option<Status<'_>> {
    if body.trim_ascii_start().starts_with(b"[") {
        let all: Vec<Envelope> = serde_json::from_slice(body).ok()?;
        return all.into_iter().next().map(|e| e.error);
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.error)
}

/// An upstream error response in OpenAI's shape: the upstream status (401 for a bad key),
/// Google's message, and its `status` string (`RESOURCE_EXHAUSTED`, ...) as the code.
pub fn decode_error(status: u16, body: &[u8]) -> ApiError {
    if let Some(s) = parse_status(body) {
        return s.error_at(status);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let message = match text.trim() {
        "" => format!("upstream returned HTTP {status}"),
        t => t.to_string(),
    };
    ApiError::new(status, kind_for(status), message)
}

/// Seconds to wait before retrying, from an error body's `RetryInfo` (for `retry-after`).
pub fn retry_after_secs(body: &[u8]) -> Option<u64> {
    parse_status(body)?.retry_after()
}
