//! `generateContent` responses decoded into the neutral [`Completion`]; the response shape,
//! finish reasons, tool call ids and usage the stream shares.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::super::chat::{Completion, Finish, ToolCall, Usage};
use super::errors::Status;
use super::SIGNATURE_SEPARATOR;
use crate::core::error::{ApiError, ErrorKind};

/// A `GenerateContentResponse` (a whole response, or one stream chunk); unknown fields are
/// ignored. A stream may carry `{"error": ...}` in place of one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Response<'a> {
    #[serde(borrow, default)]
    pub(super) candidates: Vec<Candidate<'a>>,
    #[serde(borrow, default)]
    prompt_feedback: Option<PromptFeedback<'a>>,
    #[serde(default)]
    pub(super) usage_metadata: Option<UsageMetadata>,
    #[serde(borrow, default)]
    pub(super) model_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    response_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) error: Option<Status<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Candidate<'a> {
    #[serde(borrow, default)]
    pub(super) content: Option<CandidateContent<'a>>,
    #[serde(borrow, default)]
    pub(super) finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(super) struct CandidateContent<'a> {
    #[serde(borrow, default)]
    pub(super) parts: Vec<PartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PartIn<'a> {
    #[serde(borrow, default)]
    pub(super) text: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) thought: bool,
    #[serde(borrow, default)]
    pub(super) function_call: Option<CallIn<'a>>,
    #[serde(borrow, default)]
    pub(super) thought_signature: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(super) struct CallIn<'a> {
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(super) args: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(super) id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(borrow, default)]
    block_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    block_reason_message: Option<Cow<'a, str>>,
}

#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct UsageMetadata {
    prompt_token_count: u64,
    candidates_token_count: u64,
    thoughts_token_count: u64,
    cached_content_token_count: u64,
}

impl From<UsageMetadata> for Usage {
    fn from(u: UsageMetadata) -> Usage {
        Usage {
            prompt: u.prompt_token_count,
            completion: u
                .candidates_token_count
                .saturating_add(u.thoughts_token_count),
            cache_read: u.cached_content_token_count,
            cache_write: 0,
            reasoning: u.thoughts_token_count,
            reported_total: None,
        }
    }
}

/// Gemini's `finishReason` in OpenAI's terms (LiteLLM's `_FINISH_REASON_MAP`).
pub(super) fn finish_for(reason: &str) -> Finish {
    match reason {
        "MAX_TOKENS" => Finish::Length,
        "SAFETY"
        | "RECITATION"
        | "LANGUAGE"
        | "OTHER"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "IMAGE_OTHER"
        | "NO_IMAGE" => Finish::ContentFilter,
        _ => Finish::Stop,
    }
}

/// Gemini reports `STOP` when the turn ends in function calls; OpenAI says `tool_calls`.
pub(super) fn finish_with_tools(finish: Finish, has_tools: bool) -> Finish {
    match finish {
        Finish::Stop if has_tools => Finish::ToolCalls,
        f => f,
    }
}

/// The error for a prompt Gemini refused (HTTP 200, no candidates, `blockReason` set):
/// classified as a content-policy failure by the router (400 + `content_policy_violation`).
pub(super) fn blocked(r: &Response<'_>) -> Option<ApiError> {
    if !r.candidates.is_empty() {
        return None;
    }
    let feedback = r.prompt_feedback.as_ref()?;
    let reason = feedback.block_reason.as_deref()?;
    let mut message = format!("The response was blocked by Gemini: {reason}");
    if let Some(detail) = feedback.block_reason_message.as_deref() {
        message.push_str(". ");
        message.push_str(detail);
    }
    Some(
        ApiError::new(400, ErrorKind::InvalidRequest, message)
            .with_code("content_policy_violation"),
    )
}

pub(super) fn invalid_response(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        502,
        ErrorKind::ApiError,
        format!("Gemini returned a response that is not a GenerateContentResponse: {e}"),
    )
}

/// A new OpenAI-style tool call id: `call_` and 24 hex digits.
fn new_call_id() -> String {
    format!("call_{:024x}", rand::random::<u128>() >> 32)
}

/// The OpenAI id for a function call: Gemini's id if it sent one, else a new one, with the
/// part's thought signature appended (Gemini 3 rejects history without it).
pub(super) fn call_id(id: Option<&str>, signature: Option<&str>) -> String {
    let mut out = match id.filter(|i| !i.is_empty()) {
        Some(i) => i.to_string(),
        None => new_call_id(),
    };
    if let Some(sig) = signature.filter(|s| !s.is_empty()) {
        out.push_str(SIGNATURE_SEPARATOR);
        out.push_str(sig);
    }
    out
}

/// Function call `args` as an OpenAI `arguments` string (compact JSON).
pub(super) fn arguments(args: Option<&RawValue>) -> String {
    match args {
        None => "{}".to_string(),
        Some(raw) => serde_json::from_str::<serde_json::Value>(raw.get())
            .map_or_else(|_| raw.get().to_string(), |v| v.to_string()),
    }
}

pub(super) fn response_id(r: &Response<'_>) -> String {
    match r.response_id.as_deref() {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => format!("chatcmpl-{}", crate::core::ids::new_uuid()),
    }
}

/// Translate a 2xx `generateContent` body (the first candidate; `n` is not offered).
pub(crate) fn decode_completion(body: &[u8]) -> Result<Completion, ApiError> {
    let r: Response = serde_json::from_slice(body).map_err(|e| invalid_response(&e))?;
    if let Some(status) = &r.error {
        return Err(status.to_error(500));
    }
    if let Some(err) = blocked(&r) {
        return Err(err);
    }
    let mut out = Completion {
        id: response_id(&r),
        model: r.model_version.as_deref().unwrap_or_default().to_string(),
        usage: r.usage_metadata.map(Usage::from).unwrap_or_default(),
        ..Completion::default()
    };
    let (mut text, mut reasoning) = (String::new(), String::new());
    let mut finish = Finish::Stop;
    if let Some(candidate) = r.candidates.into_iter().next() {
        finish = candidate
            .finish_reason
            .as_deref()
            .map_or(Finish::Stop, finish_for);
        for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(call) = part.function_call {
                out.tool_calls.push(ToolCall {
                    id: call_id(call.id.as_deref(), part.thought_signature.as_deref()),
                    name: call.name.into_owned(),
                    arguments: arguments(call.args),
                });
            } else if let Some(t) = part.text {
                if part.thought {
                    reasoning.push_str(&t);
                } else {
                    text.push_str(&t);
                }
            }
        }
    }
    out.finish = finish_with_tools(finish, !out.tool_calls.is_empty());
    out.text = (!text.is_empty()).then_some(text);
    out.reasoning = (!reasoning.is_empty()).then_some(reasoning);
    Ok(out)
}
