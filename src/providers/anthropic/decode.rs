//! Messages API responses decoded into the neutral [`Completion`]; the `stop_reason` map and
//! usage counts the stream shares.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::chat::{Completion, Finish, ToolCall, Usage};
use super::JSON_TOOL;
use crate::core::error::{ApiError, ErrorKind};

/// A content block of a response (flat, so borrowed strings and raw inputs survive).
#[derive(Deserialize)]
pub(super) struct BlockIn<'a> {
    #[serde(rename = "type", borrow)]
    pub(super) kind: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(super) text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct UsageIn {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl UsageIn {
    /// Fold these counts into `u` (stream deltas carry only some of them).
    pub(super) fn merge_into(self, u: &mut Usage, input: &mut u64) {
        if let Some(i) = self.input_tokens {
            *input = i;
        }
        if let Some(c) = self.cache_read_input_tokens {
            u.cache_read = c;
        }
        if let Some(c) = self.cache_creation_input_tokens {
            u.cache_write = c;
        }
        if let Some(o) = self.output_tokens {
            u.completion = o;
        }
        // Anthropic's input_tokens excludes cached tokens; OpenAI's prompt_tokens has them.
        u.prompt = input
            .saturating_add(u.cache_read)
            .saturating_add(u.cache_write);
    }
}

#[derive(Deserialize)]
pub(super) struct MessageIn<'a> {
    #[serde(borrow, default)]
    pub(super) id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(super) model: Cow<'a, str>,
    #[serde(borrow, default)]
    content: Vec<BlockIn<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) usage: UsageIn,
}

/// Anthropic's `stop_reason` in OpenAI's terms (LiteLLM's map).
pub fn finish_reason(stop: &str) -> Finish {
    match stop {
        "max_tokens" | "model_context_window_exceeded" => Finish::Length,
        "tool_use" => Finish::ToolCalls,
        "refusal" => Finish::ContentFilter,
        _ => Finish::Stop,
    }
}

/// Token counts of a Messages response body (for a body passed through as it is).
pub fn usage_of(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct WithUsage {
        #[serde(default)]
        usage: Option<UsageIn>,
    }
    let u = serde_json::from_slice::<WithUsage>(body).ok()?.usage?;
    let mut out = Usage::default();
    u.merge_into(&mut out, &mut 0);
    Some(out)
}

pub(super) fn decode_message(body: &[u8]) -> Result<Completion, ApiError> {
    let m: MessageIn = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("anthropic returned an unreadable message: {e}"),
        )
    })?;
    let mut text = String::new();
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    for b in &m.content {
        match b.kind.as_ref() {
            "text" => text.push_str(b.text.as_deref().unwrap_or_default()),
            "thinking" => reasoning
                .get_or_insert_with(String::new)
                .push_str(b.thinking.as_deref().unwrap_or_default()),
            "tool_use" => tool_calls.push(ToolCall {
                id: b.id.as_deref().unwrap_or_default().to_string(),
                name: b.name.as_deref().unwrap_or_default().to_string(),
                arguments: b
                    .input
                    .map_or_else(|| "{}".to_string(), |r| r.get().to_string()),
            }),
            _ => {}
        }
    }
    let mut finish = finish_reason(m.stop_reason.as_deref().unwrap_or("end_turn"));
    // JSON mode: the forced tool's input is the answer.
    if let [only] = tool_calls.as_slice() {
        if only.name == JSON_TOOL {
            text = only.arguments.clone();
            tool_calls.clear();
            finish = Finish::Stop;
        }
    }
    let mut usage = Usage::default();
    let mut input = 0;
    m.usage.merge_into(&mut usage, &mut input);
    Ok(Completion {
        id: m.id.into_owned(),
        model: m.model.into_owned(),
        text: (!text.is_empty()).then_some(text),
        reasoning,
        tool_calls,
        finish,
        usage,
    })
}
