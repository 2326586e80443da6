//! A failed attempt as data: the error the client would see, the fallback list it picks and
//! the wait the upstream asked for. Whoever makes the error decides its class: a provider
//! from its own codes (`Provider::failure`), the gateway when it builds one (pre-call checks,
//! cooling groups). The exchange, the fallback lists and cooldowns read fields, never text.

use super::error::ApiError;

/// Which fallback list a failure picks (LiteLLM's `context_window_fallbacks`,
/// `content_policy_fallbacks`, `fallbacks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackClass {
    ContextWindow,
    ContentPolicy,
    /// Failures another model could fix: rate limits, server errors, timeouts, bad keys.
    Other,
    /// The request itself is wrong (400/413/422): no fallback helps.
    Request,
}

impl FallbackClass {
    /// From the status and OpenAI's error codes, which LiteLLM's exceptions, the gateway's
    /// own errors and most providers carry.
    pub fn of(err: &ApiError) -> FallbackClass {
        match err.code.as_deref() {
            Some("context_length_exceeded") => FallbackClass::ContextWindow,
            Some("content_filter" | "content_policy_violation") => FallbackClass::ContentPolicy,
            _ => FallbackClass::of_status(err.status),
        }
    }

    /// From the status alone.
    pub fn of_status(status: u16) -> FallbackClass {
        match status {
            400 | 413 | 422 => FallbackClass::Request,
            _ => FallbackClass::Other,
        }
    }
}

/// One failed attempt (or group).
#[derive(Clone, Debug)]
pub struct Failure {
    pub error: ApiError,
    pub fallback: FallbackClass,
    /// `Retry-After` for the client, as the upstream (or the gateway) said it.
    pub retry_after: Option<String>,
}

impl Failure {
    /// A failure classed by its status and code.
    pub fn new(error: ApiError) -> Failure {
        Failure {
            fallback: FallbackClass::of(&error),
            error,
            retry_after: None,
        }
    }

    pub fn with_class(mut self, fallback: FallbackClass) -> Failure {
        self.fallback = fallback;
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<String>) -> Failure {
        self.retry_after = retry_after;
        self
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Failure {
        Failure::new(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;

    #[test]
    fn codes_and_statuses_pick_the_class() {
        let e = |status, code: Option<&str>| {
            let e = ApiError::new(status, ErrorKind::InvalidRequest, "maximum context length");
            match code {
                Some(c) => e.with_code(c),
                None => e,
            }
        };
        let class = |err| Failure::new(err).fallback;
        assert_eq!(
            class(e(400, Some("context_length_exceeded"))),
            FallbackClass::ContextWindow
        );
        assert_eq!(
            class(e(400, Some("content_filter"))),
            FallbackClass::ContentPolicy
        );
        assert_eq!(
            class(e(400, Some("content_policy_violation"))),
            FallbackClass::ContentPolicy
        );
        // The text alone decides nothing here: only a provider that says so reads it.
        assert_eq!(class(e(400, None)), FallbackClass::Request);
        assert_eq!(class(e(422, None)), FallbackClass::Request);
        assert_eq!(class(e(429, None)), FallbackClass::Other);
        assert_eq!(class(e(503, None)), FallbackClass::Other);
        let f = Failure::new(e(500, None))
            .with_class(FallbackClass::ContextWindow)
            .with_retry_after(Some("3".into()));
        assert_eq!(
            (f.fallback, f.retry_after.as_deref()),
            (FallbackClass::ContextWindow, Some("3"))
        );
    }
}
