//! `/api/chat` responses decoded into the neutral [`Completion`]; the response shape, finish
//! reasons, tool call ids and usage the NDJSON stream shares.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::chat::{Completion, Finish, ToolCall, Usage};
use super::errors::{error_text, stream_error};
use crate::core::error::{ApiError, ErrorKind};

/// A `ChatResponse`: a whole response, or one NDJSON stream line; a stream line may be
/// `{"error": "..."}` instead. Unknown fields (durations, `created_at`, logprobs) are ignored.
#[derive(Deserialize)]
pub(super) struct ChatResponse<'a> {
    #[serde(borrow, default)]
    pub(super) model: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(super) message: Option<MessageIn<'a>>,
    #[serde(default)]
    pub(super) done: bool,
    #[serde(borrow, default)]
    pub(super) done_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(borrow, default)]
    pub(super) error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(super) struct MessageIn<'a> {
    #[serde(borrow, default)]
    pub(super) content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) tool_calls: Option<Vec<CallIn<'a>>>,
}

#[derive(Deserialize)]
pub(super) struct CallIn<'a> {
    /// Sent by current servers (`call_` + 8 characters); older ones send none.
    #[serde(borrow, default)]
    pub(super) id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) function: FunctionIn<'a>,
}

#[derive(Deserialize)]
pub(super) struct FunctionIn<'a> {
    #[serde(borrow, default)]
    pub(super) name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(super) arguments: Option<&'a RawValue>,
}

impl ChatResponse<'_> {
    pub(super) fn usage(&self) -> Usage {
        Usage {
            prompt: self.prompt_eval_count.unwrap_or_default(),
            completion: self.eval_count.unwrap_or_default(),
            ..Usage::default()
        }
    }
}

/// `done_reason` in OpenAI's terms: `length` is a cut; anything else (`stop`, and the
/// `load`/`unload` of model management) is a stop, or `tool_calls` when the turn called
/// tools.
pub(super) fn finish_for(done_reason: Option<&str>, has_tools: bool) -> Finish {
    match done_reason {
        Some("length") => Finish::Length,
        _ if has_tools => Finish::ToolCalls,
        _ => Finish::Stop,
    }
}

pub(super) fn invalid_response(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("Ollama returned a response that is not a ChatResponse: {e}"),
    )
}

/// A new OpenAI-style tool call id: `call_` and 24 hex digits.
fn new_call_id() -> String {
    format!("call_{:024x}", rand::random::<u128>() >> 32)
}

pub(super) fn call_id(id: Option<&str>) -> String {
    match id.filter(|i| !i.is_empty()) {
        Some(i) => i.to_string(),
        None => new_call_id(),
    }
}

pub(super) fn new_response_id() -> String {
    format!("chatcmpl-{}", crate::core::ids::new_uuid())
}

/// Tool call `arguments` (an object at Ollama) as OpenAI's JSON string, compact; a string
/// (some proxies send OpenAI's shape) is taken as the JSON text it holds.
pub(super) fn arguments(args: Option<&RawValue>) -> String {
    let Some(raw) = args else {
        return "{}".to_string();
    };
    match serde_json::from_str::<serde_json::Value>(raw.get()) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => "{}".to_string(),
        Ok(v) => v.to_string(),
        Err(_) => raw.get().to_string(),
    }
}

/// Translate a 2xx non-stream `/api/chat` body.
pub(super) fn decode_completion(body: &[u8]) -> Result<Completion, ApiError> {
    let r: ChatResponse = serde_json::from_slice(body).map_err(|e| invalid_response(&e))?;
    if let Some(raw) = r.error {
        return Err(stream_error(&error_text(raw)));
    }
    let usage = r.usage();
    let mut out = Completion {
        id: new_response_id(),
        model: r.model.into_owned(),
        usage,
        ..Completion::default()
    };
    if let Some(m) = r.message {
        out.text = m.content.filter(|t| !t.is_empty()).map(Cow::into_owned);
        out.reasoning = m.thinking.filter(|t| !t.is_empty()).map(Cow::into_owned);
        out.tool_calls = m
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|c| ToolCall {
                id: call_id(c.id.as_deref()),
                name: c.function.name.into_owned(),
                arguments: arguments(c.function.arguments),
            })
            .collect();
    }
    out.finish = finish_for(r.done_reason.as_deref(), !out.tool_calls.is_empty());
    Ok(out)
}
