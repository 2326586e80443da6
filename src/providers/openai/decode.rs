//! OpenAI chat bodies decoded into the neutral [`Completion`] (for clients that speak another
//! API); the chunk shape the stream shares.

use std::borrow::Cow;

use serde::Deserialize;

use super::super::chat::{Completion, Finish, ToolCall, Usage};
use crate::core::error::{ApiError, ErrorKind};

#[derive(Deserialize)]
pub(super) struct ChunkIn<'a> {
    #[serde(borrow, default)]
    pub(super) id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) choices: Vec<ChoiceIn<'a>>,
    #[serde(default)]
    pub(super) usage: Option<UsageIn>,
}

#[derive(Deserialize)]
pub(super) struct ChoiceIn<'a> {
    #[serde(borrow, default, alias = "message")]
    pub(super) delta: Option<DeltaIn<'a>>,
    #[serde(borrow, default)]
    pub(super) finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(super) struct DeltaIn<'a> {
    #[serde(borrow, default)]
    pub(super) content: Option<Cow<'a, str>>,
    #[serde(borrow, default, alias = "reasoning")]
    pub(super) reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) tool_calls: Option<Vec<ToolDeltaIn<'a>>>,
}

#[derive(Deserialize)]
pub(super) struct ToolDeltaIn<'a> {
    #[serde(default)]
    pub(super) index: Option<u32>,
    #[serde(borrow, default)]
    pub(super) id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) function: Option<FunctionDeltaIn<'a>>,
}

#[derive(Deserialize)]
pub(super) struct FunctionDeltaIn<'a> {
    #[serde(borrow, default)]
    pub(super) name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Clone, Copy)]
pub(super) struct UsageIn {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Clone, Copy)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl UsageIn {
    pub(super) fn neutral(self) -> Usage {
        Usage {
            prompt: self.prompt_tokens,
            completion: self.completion_tokens,
            cache_read: self
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write: 0,
            reasoning: self
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            reported_total: None,
        }
    }
}

/// A `chat.completion` body as a [`Completion`].
pub fn decode_completion_body(body: &[u8]) -> Result<Completion, ApiError> {
    let c: ChunkIn = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!("upstream returned an unreadable chat completion: {e}"),
        )
    })?;
    let mut out = Completion {
        id: c.id.unwrap_or_default().into_owned(),
        model: c.model.unwrap_or_default().into_owned(),
        usage: c.usage.map(UsageIn::neutral).unwrap_or_default(),
        ..Completion::default()
    };
    if let Some(choice) = c.choices.into_iter().next() {
        out.finish = Finish::from_openai(choice.finish_reason.as_deref().unwrap_or("stop"));
        if let Some(m) = choice.delta {
            out.text = m.content.map(Cow::into_owned);
            out.reasoning = m.reasoning_content.map(Cow::into_owned);
            for t in m.tool_calls.into_iter().flatten() {
                let f = t.function;
                out.tool_calls.push(ToolCall {
                    id: t.id.unwrap_or_default().into_owned(),
                    name: f
                        .as_ref()
                        .and_then(|f| f.name.as_deref())
                        .unwrap_or_default()
                        .to_string(),
                    arguments: f
                        .as_ref()
                        .and_then(|f| f.arguments.as_deref())
                        .unwrap_or("{}")
                        .to_string(),
                });
            }
        }
    }
    Ok(out)
}
