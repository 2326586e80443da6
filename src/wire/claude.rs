//! The Claude Messages mapping that Anthropic's API and Bedrock's Converse (for Claude
//! models) share, as LiteLLM maps them: the schema for tools without parameters, the thinking
//! block and its budget for `reasoning_effort`, stop sequences, and the error for a content
//! part Claude cannot take.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::core::error::ApiError;

/// `{"type":"object","properties":{}}`: the schema for tools that declare none.
pub fn empty_schema() -> &'static RawValue {
    static EMPTY: std::sync::OnceLock<Box<RawValue>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| {
        RawValue::from_string(r#"{"type":"object","properties":{}}"#.into())
            .unwrap_or_else(|_| Box::<RawValue>::default())
    })
}

/// LiteLLM's thinking budgets for `reasoning_effort`.
pub fn thinking_budget(effort: &str) -> Option<u64> {
    match effort {
        "minimal" | "low" => Some(1024),
        "medium" => Some(2048),
        "high" | "xhigh" | "max" => Some(4096),
        _ => None,
    }
}

/// Claude's `thinking` block: extended thinking on, with a token budget.
#[derive(Serialize)]
pub struct Thinking {
    #[serde(rename = "type")]
    kind: &'static str,
    pub budget_tokens: u64,
}

impl Thinking {
    pub fn enabled(budget_tokens: u64) -> Thinking {
        Thinking {
            kind: "enabled",
            budget_tokens,
        }
    }
}

/// Stop sequences Claude accepts: blank ones are refused, so they are left out.
pub fn stop_sequences<'a>(stop: &'a [Cow<'a, str>]) -> Vec<&'a str> {
    stop.iter()
        .map(|s| s.as_ref())
        .filter(|s| !s.trim().is_empty())
        .collect()
}

/// A content part `provider` does not take (LiteLLM's `BadRequestError`).
pub fn unsupported_part(provider: &str, what: &str) -> ApiError {
    ApiError::bad_request(format!(
        "litellm.BadRequestError: {provider} does not support {what} content parts"
    ))
    .with_param("messages")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litellms_budgets_and_messages() {
        assert_eq!(empty_schema().get(), r#"{"type":"object","properties":{}}"#);
        assert_eq!(thinking_budget("low"), Some(1024));
        assert_eq!(thinking_budget("medium"), Some(2048));
        assert_eq!(thinking_budget("max"), Some(4096));
        assert_eq!(thinking_budget("none"), None);
        let e = unsupported_part("bedrock", "input_audio");
        assert_eq!(
            e.message,
            "litellm.BadRequestError: bedrock does not support input_audio content parts"
        );
        assert_eq!(e.param.as_deref(), Some("messages"));
    }
}
