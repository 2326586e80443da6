//! LiteLLM's `mock_response`, read once: the text to answer with, or the provider error to
//! fail like. The answers themselves are rendered by `providers::mock`.

use crate::core::error::{ApiError, ErrorKind};

/// What a mock deployment answers.
#[derive(Clone, Debug, PartialEq)]
pub enum MockSpec {
    Text(String),
    /// `mock_response: "litellm.RateLimitError"` and friends: fail like that provider error.
    Error(ApiError),
}

impl MockSpec {
    /// Interpret a `mock_response` string as LiteLLM does (`_handle_mock_potential_exceptions`
    /// and `mock_completion`): its error forms fail with LiteLLM's status and message; the
    /// other `litellm.*` names are Switchyard's own additions; anything else is the text.
    pub fn parse(s: &str) -> MockSpec {
        let litellm = |status, kind, name: &str, what: &str, code: &str| {
            MockSpec::Error(
                ApiError::new(
                    status,
                    kind,
                    format!("litellm.{name}: this is a mock {what}"),
                )
                .with_code(code),
            )
        };
        let error = |status, kind, code: &str| {
            MockSpec::Error(
                ApiError::new(status, kind, format!("{s}: mock_response error")).with_code(code),
            )
        };
        let t = s.trim();
        if t.starts_with("Exception: content_filter_policy") {
            return MockSpec::Error(
                ApiError::new(400, ErrorKind::InvalidRequest, t.to_string()).with_code("400"),
            );
        }
        if t.starts_with("Exception: mock_streaming_error") {
            return MockSpec::Error(
                ApiError::new(
                    529,
                    ErrorKind::ServiceUnavailable,
                    "This is a mock error raised mid-stream",
                )
                .with_code("529"),
            );
        }
        match t {
            "litellm.RateLimitError" => litellm(
                429,
                ErrorKind::RateLimit,
                "RateLimitError",
                "rate limit error",
                "429",
            ),
            "litellm.InternalServerError" => litellm(
                500,
                ErrorKind::ApiError,
                "InternalServerError",
                "internal server error",
                "500",
            ),
            "litellm.ContextWindowExceededError" => litellm(
                400,
                ErrorKind::InvalidRequest,
                "ContextWindowExceededError",
                "context window exceeded error",
                "context_length_exceeded",
            ),
            "litellm.ServiceUnavailableError" => error(503, ErrorKind::ServiceUnavailable, "503"),
            "litellm.Timeout" => error(408, ErrorKind::Timeout, "408"),
            "litellm.BadRequestError" => error(400, ErrorKind::InvalidRequest, "400"),
            "litellm.AuthenticationError" => error(401, ErrorKind::Auth, "401"),
            "litellm.ContentPolicyViolationError" => {
                error(400, ErrorKind::InvalidRequest, "content_policy_violation")
            }
            _ => MockSpec::Text(s.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_mocks() {
        assert!(
            matches!(MockSpec::parse("litellm.RateLimitError"), MockSpec::Error(e) if e.status == 429)
        );
        assert_eq!(MockSpec::parse("hi"), MockSpec::Text("hi".into()));
        let MockSpec::Error(e) = MockSpec::parse("litellm.InternalServerError") else {
            panic!("an error form")
        };
        assert_eq!(
            (e.status, e.message.as_str()),
            (
                500,
                "litellm.InternalServerError: this is a mock internal server error"
            )
        );
        assert!(
            matches!(MockSpec::parse("Exception: content_filter_policy: no"), MockSpec::Error(e) if e.status == 400)
        );
    }
}
