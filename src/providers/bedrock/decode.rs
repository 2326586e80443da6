//! Converse responses decoded into the neutral [`Completion`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::chat::{Completion, Finish, ToolCall, Usage};
use super::JSON_TOOL;
use crate::core::error::{ApiError, ErrorKind};

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageIn {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_write_input_tokens: Option<u64>,
}

impl From<UsageIn> for Usage {
    /// Bedrock's `inputTokens` leaves cached tokens out; OpenAI's `prompt_tokens` has them.
    fn from(u: UsageIn) -> Usage {
        let cache_read = u.cache_read_input_tokens.unwrap_or(0);
        let cache_write = u.cache_write_input_tokens.unwrap_or(0);
        Usage {
            prompt: u
                .input_tokens
                .unwrap_or(0)
                .saturating_add(cache_read)
                .saturating_add(cache_write),
            completion: u.output_tokens.unwrap_or(0),
            cache_read,
            cache_write,
            reasoning: 0,
            reported_total: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseOut<'a> {
    #[serde(borrow, default)]
    output: Option<OutputIn<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: UsageIn,
}

#[derive(Deserialize)]
struct OutputIn<'a> {
    #[serde(borrow, default)]
    message: Option<MessageIn<'a>>,
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(borrow, default)]
    content: Vec<BlockIn<'a>>,
}

/// A response content block: a union of which one member is set.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockIn<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_use: Option<ToolUseIn<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<ReasoningIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseIn<'a> {
    #[serde(borrow, default)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningIn<'a> {
    #[serde(borrow, default)]
    reasoning_text: Option<ReasoningText<'a>>,
}

#[derive(Deserialize)]
struct ReasoningText<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

/// Converse's `stopReason` in OpenAI's terms (LiteLLM's map).
pub fn finish_reason(stop: &str) -> Finish {
    match stop {
        "max_tokens" | "model_context_window_exceeded" => Finish::Length,
        "tool_use" => Finish::ToolCalls,
        "guardrail_intervened" | "content_filtered" => Finish::ContentFilter,
        _ => Finish::Stop,
    }
}

pub(super) fn new_id() -> String {
    format!("chatcmpl-{}", crate::core::ids::new_uuid())
}

pub(super) fn unreadable(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("bedrock returned {what}: {e}"),
    )
}

/// A Converse response as a [`Completion`]; `model` is left empty for the caller to fill.
pub(super) fn decode_converse(body: &[u8]) -> Result<Completion, ApiError> {
    let r: ConverseOut = serde_json::from_slice(body)
        .map_err(|e| unreadable("a response that is not a ConverseResponse", e))?;
    let mut text = String::new();
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    let content = r.output.and_then(|o| o.message).map(|m| m.content);
    for b in content.iter().flatten() {
        if let Some(t) = &b.text {
            text.push_str(t);
        }
        if let Some(t) = b
            .reasoning_content
            .as_ref()
            .and_then(|r| r.reasoning_text.as_ref())
            .and_then(|r| r.text.as_deref())
        {
            reasoning.get_or_insert_with(String::new).push_str(t);
        }
        if let Some(call) = &b.tool_use {
            tool_calls.push(ToolCall {
                id: call.tool_use_id.to_string(),
                name: call.name.to_string(),
                arguments: call
                    .input
                    .map_or_else(|| "{}".to_string(), |r| r.get().to_string()),
            });
        }
    }
    let mut finish = finish_reason(r.stop_reason.as_deref().unwrap_or("end_turn"));
    // JSON mode: the forced tool's input is the answer.
    if let [only] = tool_calls.as_slice() {
        if only.name == JSON_TOOL {
            text = only.arguments.clone();
            tool_calls.clear();
            finish = Finish::Stop;
        }
    }
    Ok(Completion {
        id: new_id(),
        model: String::new(),
        text: (!text.is_empty()).then_some(text),
        reasoning,
        tool_calls,
        finish,
        usage: r.usage.into(),
    })
}
