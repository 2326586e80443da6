//! Anthropic's Messages API on the client side (`POST /v1/messages`): the request becomes an
//! OpenAI chat request routed like any other, and the neutral result is written back as an
//! Anthropic message or event stream, so Claude Code and the Anthropic SDKs work through
//! any model group.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::core::chat::{Completion, Event, Finish, Usage};
use crate::core::error::ApiError;
use crate::core::json::{json_into, push_u64};

// ---- request -------------------------------------------------------------------------

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    model: Cow<'a, str>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(borrow, default)]
    system: Option<Text<'a>>,
    #[serde(borrow)]
    messages: Vec<MessageIn<'a>>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    top_k: Option<u64>,
    #[serde(borrow, default)]
    stop_sequences: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(borrow, default)]
    tools: Option<Vec<ToolIn<'a>>>,
    #[serde(borrow, default)]
    tool_choice: Option<ToolChoiceIn<'a>>,
    #[serde(borrow, default)]
    metadata: Option<MetadataIn<'a>>,
    #[serde(borrow, default)]
    thinking: Option<ThinkingIn<'a>>,
}

/// A string, or an array of blocks whose text is used (`system`, tool results).
#[derive(Deserialize)]
#[serde(untagged)]
enum Text<'a> {
    #[serde(borrow)]
    Plain(Cow<'a, str>),
    #[serde(borrow)]
    Blocks(Vec<BlockIn<'a>>),
}

#[derive(Deserialize)]
struct MessageIn<'a> {
    #[serde(borrow)]
    role: Cow<'a, str>,
    #[serde(borrow)]
    content: Text<'a>,
}

#[derive(Deserialize)]
struct BlockIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<SourceIn<'a>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(borrow, default)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<Box<Text<'a>>>,
    #[serde(default)]
    is_error: Option<bool>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct SourceIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    media_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ToolIn<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    input_schema: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolChoiceIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    disable_parallel_tool_use: Option<bool>,
}

#[derive(Deserialize)]
struct MetadataIn<'a> {
    #[serde(borrow, default)]
    user_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ThinkingIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    budget_tokens: Option<u64>,
}

impl Text<'_> {
    fn joined(&self) -> String {
        match self {
            Text::Plain(s) => s.to_string(),
            Text::Blocks(b) => b.iter().filter_map(|b| b.text.as_deref()).collect(),
        }
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

/// An Anthropic image or document block as an OpenAI content part.
fn media_part(b: &BlockIn<'_>) -> Result<Value, ApiError> {
    let src = b
        .source
        .as_ref()
        .ok_or_else(|| bad(format!("messages: {} block without source", b.kind)))?;
    let url = match src.kind.as_ref() {
        "base64" => format!(
            "data:{};base64,{}",
            src.media_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
            src.data.as_deref().unwrap_or_default()
        ),
        "url" => src.url.as_deref().unwrap_or_default().to_string(),
        "text" => return Ok(json!({"type": "text", "text": src.data})),
        other => {
            return Err(bad(format!(
                "messages: unsupported source type \"{other}\""
            )))
        }
    };
    Ok(if b.kind == "image" {
        json!({"type": "image_url", "image_url": {"url": url}})
    } else {
        json!({"type": "file", "file": {"file_data": url}})
    })
}

/// Translate a `/v1/messages` body into an OpenAI chat/completions body. Returns the body
/// and the requested model name.
pub fn to_openai(body: &[u8]) -> Result<Bytes, ApiError> {
    let req: Request = serde_json::from_slice(body)
        .map_err(|e| bad(format!("Invalid Anthropic messages request: {e}")))?;
    let mut messages: Vec<Value> = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = &req.system {
        let text = system.joined();
        if !text.is_empty() {
            messages.push(json!({"role": "system", "content": text}));
        }
    }
    for m in &req.messages {
        let blocks = match &m.content {
            Text::Plain(s) => {
                messages.push(json!({"role": m.role, "content": s}));
                continue;
            }
            Text::Blocks(b) => b,
        };
        match m.role.as_ref() {
            "assistant" => messages.push(assistant_message(blocks)),
            "user" => user_messages(blocks, &mut messages)?,
            other => {
                return Err(bad(format!(
                    "messages: unexpected role \"{other}\" (expected user or assistant)"
                ))
                .with_param("messages"))
            }
        }
    }
    let mut out = serde_json::Map::new();
    out.insert("model".into(), req.model.as_ref().into());
    out.insert("messages".into(), messages.into());
    sampling(&req, &mut out);
    tools(&req, &mut out);
    user_and_thinking(&req, &mut out);
    serde_json::to_vec(&out)
        .map(Bytes::from)
        .map_err(|e| bad(format!("cannot translate the request: {e}")))
}

/// An assistant turn: its text, its thinking as `reasoning_content`, its tool uses as
/// `tool_calls`.
fn assistant_message(blocks: &[BlockIn<'_>]) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in blocks {
        match b.kind.as_ref() {
            "text" => text.push_str(b.text.as_deref().unwrap_or_default()),
            "thinking" => reasoning.push_str(b.thinking.as_deref().unwrap_or_default()),
            "tool_use" => calls.push(json!({
                "id": b.id, "type": "function",
                "function": {"name": b.name,
                    "arguments": b.input.as_ref().map_or_else(|| "{}".to_string(), Value::to_string)},
            })),
            _ => {}
        }
    }
    let mut msg = json!({"role": "assistant",
        "content": if text.is_empty() { Value::Null } else { text.into() }});
    if !calls.is_empty() {
        msg["tool_calls"] = calls.into();
    }
    if !reasoning.is_empty() {
        msg["reasoning_content"] = reasoning.into();
    }
    msg
}

/// A user turn: tool results become `tool` messages, ahead of the user's own parts.
fn user_messages(blocks: &[BlockIn<'_>], messages: &mut Vec<Value>) -> Result<(), ApiError> {
    let mut parts = Vec::new();
    for b in blocks {
        match b.kind.as_ref() {
            "tool_result" => {
                let mut content = b.content.as_ref().map(|c| c.joined()).unwrap_or_default();
                if b.is_error == Some(true) && !content.starts_with("Error") {
                    content = format!("Error: {content}");
                }
                messages.push(json!({"role": "tool",
                    "tool_call_id": b.tool_use_id, "content": content}));
            }
            "text" => parts.push(json!({"type": "text", "text": b.text})),
            "image" | "document" => parts.push(media_part(b)?),
            _ => {}
        }
    }
    if !parts.is_empty() {
        messages.push(json!({"role": "user", "content": parts}));
    }
    Ok(())
}

/// Sampling and output parameters.
fn sampling(req: &Request<'_>, out: &mut serde_json::Map<String, Value>) {
    if let Some(n) = req.max_tokens {
        out.insert("max_tokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        out.insert("temperature".into(), t.into());
    }
    if let Some(t) = req.top_p {
        out.insert("top_p".into(), t.into());
    }
    if let Some(k) = req.top_k {
        out.insert("top_k".into(), k.into());
    }
    if let Some(stop) = &req.stop_sequences {
        out.insert("stop".into(), json!(stop));
    }
    if req.stream == Some(true) {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
}

/// The end user, and thinking as `reasoning_effort`.
fn user_and_thinking(req: &Request<'_>, out: &mut serde_json::Map<String, Value>) {
    if let Some(user) = req.metadata.as_ref().and_then(|m| m.user_id.as_deref()) {
        out.insert("user".into(), user.into());
    }
    if let Some(t) = req.thinking.as_ref().filter(|t| t.kind == "enabled") {
        let effort = match t.budget_tokens.unwrap_or(2048) {
            0..=1024 => "low",
            1025..=2048 => "medium",
            _ => "high",
        };
        out.insert("reasoning_effort".into(), effort.into());
    }
}

/// Custom tools as functions, and the tool choice.
fn tools(req: &Request<'_>, out: &mut serde_json::Map<String, Value>) {
    let tools: Vec<Value> = req
        .tools
        .iter()
        .flatten()
        .filter(|t| t.kind.as_deref().is_none_or(|k| k == "custom"))
        .map(|t| {
            let mut f = json!({"name": t.name,
                "parameters": t.input_schema.map_or_else(|| json!({"type": "object", "properties": {}}),
                    |s| serde_json::from_str(s.get()).unwrap_or(Value::Null))});
            if let Some(d) = &t.description {
                f["description"] = d.as_ref().into();
            }
            json!({"type": "function", "function": f})
        })
        .collect();
    if tools.is_empty() {
        return;
    }
    out.insert("tools".into(), tools.into());
    if let Some(tc) = &req.tool_choice {
        let choice = match (tc.kind.as_ref(), &tc.name) {
            ("any", _) => json!("required"),
            ("none", _) => json!("none"),
            ("tool", Some(name)) => json!({"type": "function", "function": {"name": name}}),
            _ => json!("auto"),
        };
        out.insert("tool_choice".into(), choice);
        if tc.disable_parallel_tool_use == Some(true) {
            out.insert("parallel_tool_calls".into(), false.into());
        }
    }
}

/// `count_tokens` answer for a translated request: `{"input_tokens": N}`.
pub fn count_tokens_body(tokens: u64) -> Bytes {
    Bytes::from(format!("{{\"input_tokens\":{tokens}}}"))
}

// ---- response ------------------------------------------------------------------------

/// OpenAI's finish reason as Anthropic's `stop_reason`.
pub fn stop_reason(f: Finish) -> &'static str {
    match f {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
        Finish::ContentFilter => "refusal",
    }
}

fn msg_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_string()
    } else {
        format!("msg_{}", id.trim_start_matches("chatcmpl-"))
    }
}

#[derive(Serialize)]
struct UsageOut {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
}

fn usage_out(u: &Usage) -> UsageOut {
    UsageOut {
        input_tokens: u
            .prompt
            .saturating_sub(u.cache_read.saturating_add(u.cache_write)),
        output_tokens: u.completion,
        cache_creation_input_tokens: u.cache_write,
        cache_read_input_tokens: u.cache_read,
    }
}

/// A whole response as an Anthropic `message`.
pub fn message_body(c: &Completion, model: &str) -> Bytes {
    let mut content = Vec::new();
    if let Some(r) = &c.reasoning {
        content.push(json!({"type": "thinking", "thinking": r, "signature": ""}));
    }
    if let Some(t) = c.text.as_deref().filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": t}));
    }
    for t in &c.tool_calls {
        let input: Value = serde_json::from_str(&t.arguments).unwrap_or_else(|_| json!({}));
        content.push(json!({"type": "tool_use", "id": t.id, "name": t.name, "input": input}));
    }
    let body = json!({
        "id": msg_id(&c.id),
        "type": "message",
        "role": "assistant",
        "model": if c.model.is_empty() { model } else { &c.model },
        "content": content,
        "stop_reason": stop_reason(c.finish),
        "stop_sequence": null,
        "usage": usage_out(&c.usage),
    });
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// An error in Anthropic's shape: `{"type":"error","error":{"type","message"}}`.
pub fn error_body(err: &ApiError) -> Bytes {
    Bytes::from(
        serde_json::to_vec(&json!({"type": "error", "error": {
            "type": error_type(err.status), "message": err.message}}))
        .unwrap_or_default(),
    )
}

fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 | 504 => "timeout_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 | 503 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

mod stream;
pub use stream::AnthropicEvents;

#[cfg(test)]
mod tests;
