//! OpenAI chat requests as Messages API bodies.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use super::super::chat::{data_url, ChatRequest, Content, Message, Part, Role, ToolChoice};
use super::super::EncodeTarget;
use super::{DEFAULT_MAX_TOKENS, JSON_TOOL};
use crate::core::error::ApiError;
use crate::wire::claude::{self, empty_schema, thinking_budget, Thinking};

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    max_tokens: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<Block<'a>>,
    messages: Vec<Turn<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoiceOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Thinking>,
    #[serde(flatten)]
    extra: BTreeMap<&'a str, &'a RawValue>,
}

#[derive(Serialize)]
struct Turn<'a> {
    role: &'static str,
    content: Vec<Block<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Text {
        text: Cow<'a, str>,
    },
    Image {
        source: Source<'a>,
    },
    Document {
        source: Source<'a>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: Cow<'a, str>,
        input: serde_json::Value,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        content: Vec<Block<'a>>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

#[derive(Serialize)]
struct ToolOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: &'a RawValue,
}

#[derive(Serialize)]
struct ToolChoiceOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disable_parallel_tool_use: Option<bool>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    user_id: &'a str,
}

/// A content part anthropic does not take.
fn unsupported_part(what: &str) -> ApiError {
    claude::unsupported_part("anthropic", what)
}

fn part_block<'a>(part: &'a Part<'a>) -> Result<Option<Block<'a>>, ApiError> {
    Ok(match part {
        Part::Text { text } if text.is_empty() => None,
        Part::Text { text } => Some(Block::Text {
            text: Cow::Borrowed(text),
        }),
        Part::Refusal { refusal } => Some(Block::Text {
            text: Cow::Borrowed(refusal),
        }),
        Part::ImageUrl { image_url } => {
            let url = image_url.url();
            Some(Block::Image {
                source: match data_url(url) {
                    Some((media_type, data)) => Source::Base64 { media_type, data },
                    None => Source::Url { url },
                },
            })
        }
        Part::File { file } => {
            let data = file.file_data.as_deref().and_then(data_url);
            match data {
                Some((media_type, data)) => Some(Block::Document {
                    source: Source::Base64 { media_type, data },
                }),
                None => return Err(unsupported_part("file (only file_data as a data URL)")),
            }
        }
        Part::InputAudio { .. } => return Err(unsupported_part("input_audio")),
        Part::Other { kind } => return Err(unsupported_part(kind)),
    })
}

fn content_blocks<'a>(content: &'a Option<Content<'a>>) -> Result<Vec<Block<'a>>, ApiError> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(t)) if t.is_empty() => Ok(Vec::new()),
        Some(Content::Text(t)) => Ok(vec![Block::Text {
            text: Cow::Borrowed(t),
        }]),
        Some(Content::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts {
                out.extend(part_block(p)?);
            }
            Ok(out)
        }
    }
}

/// Append blocks to the last turn if it is on the same side, else open a new turn.
fn push_turn<'a>(turns: &mut Vec<Turn<'a>>, role: &'static str, blocks: Vec<Block<'a>>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => turns.push(Turn {
            role,
            content: blocks,
        }),
    }
}

fn messages<'a>(
    msgs: &'a [Message<'a>],
    system: &mut Vec<Block<'a>>,
) -> Result<Vec<Turn<'a>>, ApiError> {
    let mut turns: Vec<Turn<'a>> = Vec::with_capacity(msgs.len());
    for m in msgs {
        match m.role {
            Role::System | Role::Developer => system.extend(content_blocks(&m.content)?),
            Role::User => push_turn(&mut turns, "user", content_blocks(&m.content)?),
            Role::Assistant => {
                let mut blocks = content_blocks(&m.content)?;
                for call in m.tool_calls.iter().flatten() {
                    blocks.push(Block::ToolUse {
                        id: Cow::Borrowed(call.id.as_deref().unwrap_or_default()),
                        name: Cow::Borrowed(&call.function.name),
                        input: call.function.arguments_value(),
                    });
                }
                push_turn(&mut turns, "assistant", blocks);
            }
            Role::Tool | Role::Function => {
                let id = m.tool_call_id.as_deref().or(m.name.as_deref());
                let mut content = content_blocks(&m.content)?;
                if content.is_empty() {
                    // Anthropic rejects empty text; an empty result is still a result.
                    content.push(Block::Text {
                        text: Cow::Borrowed("(no output)"),
                    });
                }
                push_turn(
                    &mut turns,
                    "user",
                    vec![Block::ToolResult {
                        tool_use_id: Cow::Borrowed(id.unwrap_or_default()),
                        content,
                    }],
                );
            }
        }
    }
    Ok(turns)
}

pub(super) fn encode_request<'a>(
    req: &'a ChatRequest<'a>,
    target: &'a EncodeTarget<'a>,
) -> Result<Bytes, ApiError> {
    let mut system = Vec::new();
    let turns = messages(&req.messages, &mut system)?;
    let thinking = thinking_of(req);
    let (tools, tool_choice) = tools_of(req, thinking.is_some());
    let mut max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if let (Some(t), None) = (&thinking, req.max_tokens) {
        max_tokens = max_tokens.max(t.budget_tokens + DEFAULT_MAX_TOKENS);
    }
    let user = req
        .user
        .as_deref()
        .filter(|u| !u.contains('@') && !u.chars().all(|c| c.is_ascii_digit() || c == '+'));
    let mut extra = BTreeMap::new();
    for (k, v) in &req.extra {
        if let Ok(raw) = serde_json::from_str::<&RawValue>(v) {
            extra.insert(*k, raw);
        }
    }
    for d in target.additional_drop_params {
        extra.remove(d.as_str());
    }
    let body = Request {
        model: target.model,
        max_tokens,
        system,
        messages: turns,
        temperature: req.temperature,
        top_p: req.top_p,
        stop_sequences: claude::stop_sequences(&req.stop),
        stream: req.stream,
        tools,
        tool_choice,
        metadata: user.map(|user_id| Metadata { user_id }),
        thinking,
        extra,
    };
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|e| ApiError::bad_request(format!("cannot encode the Anthropic request: {e}")))
}

/// Thinking for `reasoning_effort`. With thinking on, Anthropic wants every assistant
/// tool-use turn to open with its signed thinking block, which the OpenAI shape cannot carry:
/// in a tool loop thinking is left off rather than failing the call (as LiteLLM does).
fn thinking_of(req: &ChatRequest<'_>) -> Option<Thinking> {
    let tool_loop = req
        .messages
        .iter()
        .any(|m| m.role == Role::Assistant && m.tool_calls.as_ref().is_some_and(|c| !c.is_empty()));
    req.reasoning_effort
        .as_deref()
        .and_then(thinking_budget)
        .filter(|_| !tool_loop)
        .map(Thinking::enabled)
}

/// The tools and the tool choice; JSON mode is a forced tool whose input is the answer (not
/// forced while thinking).
fn tools_of<'a>(
    req: &'a ChatRequest<'a>,
    thinking: bool,
) -> (Vec<ToolOut<'a>>, Option<ToolChoiceOut<'a>>) {
    let mut tools: Vec<ToolOut> = req
        .tools
        .iter()
        .map(|t| ToolOut {
            name: &t.function.name,
            description: t.function.description.as_deref(),
            input_schema: t.function.parameters.unwrap_or_else(|| empty_schema()),
        })
        .collect();
    let mut tool_choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(("auto", None)),
        Some(ToolChoice::Required) => Some(("any", None)),
        Some(ToolChoice::None) => Some(("none", None)),
        Some(ToolChoice::Function(name)) => Some(("tool", Some(name.as_ref()))),
    };
    let schema = req
        .response_format
        .as_ref()
        .and_then(|f| f.schema_or(empty_schema()));
    if let Some(input_schema) = schema {
        tools.push(ToolOut {
            name: JSON_TOOL,
            description: Some("Respond with a JSON object."),
            input_schema,
        });
        if !thinking {
            tool_choice = Some(("tool", Some(JSON_TOOL)));
        }
    }
    let disable_parallel = req.parallel_tool_calls == Some(false) && !tools.is_empty();
    if disable_parallel && tool_choice.is_none() {
        tool_choice = Some(("auto", None));
    }
    let tool_choice = tool_choice.map(|(kind, name)| ToolChoiceOut {
        kind,
        name,
        disable_parallel_tool_use: (disable_parallel && kind != "none").then_some(true),
    });
    (tools, tool_choice)
}
