//! Fallback lists (`fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`,
//! `default_fallbacks`) and which one an error picks.

use std::collections::HashMap;

use crate::core::error::ApiError;

/// What kind of failure ended a group's attempts; it picks the fallback list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    ContextWindow,
    ContentPolicy,
    /// Failures another model could fix: rate limits, server errors, timeouts, bad keys.
    Other,
    /// The request itself is wrong (400/413/422): no fallback helps.
    Request,
}

/// Classify a failed group's final error from its status, code and message.
pub fn classify(err: &ApiError) -> ErrorClass {
    let code = err.code.as_deref().unwrap_or("");
    let msg = err.message.to_ascii_lowercase();
    if code == "context_length_exceeded"
        || msg.contains("context length")
        || msg.contains("context window")
        || msg.contains("maximum context")
        || msg.contains("too many tokens")
    {
        return ErrorClass::ContextWindow;
    }
    if matches!(code, "content_filter" | "content_policy_violation")
        || msg.contains("content management policy")
        || msg.contains("content policy")
    {
        return ErrorClass::ContentPolicy;
    }
    match err.status {
        400 | 413 | 422 => ErrorClass::Request,
        _ => ErrorClass::Other,
    }
}

/// Fallback configuration, merged from `router_settings` and `litellm_settings`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fallbacks {
    pub generic: HashMap<String, Vec<String>>,
    pub context_window: HashMap<String, Vec<String>>,
    pub content_policy: HashMap<String, Vec<String>>,
    /// Used for any group without its own generic list.
    pub default: Vec<String>,
    /// At most this many fallback groups per request (LiteLLM default 5).
    pub max_fallbacks: usize,
}

impl Fallbacks {
    /// The list for a group and error class (LiteLLM: a specific list if configured, and
    /// context-window/content-policy errors use only their own lists).
    pub fn for_error(&self, group: &str, class: ErrorClass) -> &[String] {
        let list = match class {
            ErrorClass::ContextWindow => self.context_window.get(group),
            ErrorClass::ContentPolicy => self.content_policy.get(group),
            ErrorClass::Other => self.generic.get(group).or(Some(&self.default)),
            ErrorClass::Request => None,
        };
        list.map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.generic.is_empty()
            && self.context_window.is_empty()
            && self.content_policy.is_empty()
            && self.default.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::{ApiError, ErrorKind};

    #[test]
    fn errors_pick_their_list() {
        let e = ApiError::new(
            400,
            ErrorKind::InvalidRequest,
            "This model's maximum context length is 8192 tokens",
        )
        .with_code("context_length_exceeded");
        assert_eq!(classify(&e), ErrorClass::ContextWindow);
        let e =
            ApiError::new(400, ErrorKind::InvalidRequest, "filtered").with_code("content_filter");
        assert_eq!(classify(&e), ErrorClass::ContentPolicy);
        assert_eq!(
            classify(&ApiError::new(429, ErrorKind::RateLimit, "slow")),
            ErrorClass::Other
        );
        assert_eq!(
            classify(&ApiError::new(
                400,
                ErrorKind::InvalidRequest,
                "bad temperature"
            )),
            ErrorClass::Request
        );
        let mut f = Fallbacks {
            max_fallbacks: 5,
            ..Default::default()
        };
        f.default = vec!["d".into()];
        f.generic.insert("a".into(), vec!["b".into()]);
        assert_eq!(f.for_error("a", ErrorClass::Other), ["b"]);
        assert_eq!(f.for_error("x", ErrorClass::Other), ["d"]);
        assert!(f.for_error("a", ErrorClass::ContextWindow).is_empty());
    }
}
