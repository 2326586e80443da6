//! Messages API event streams (SSE) decoded into neutral [`Event`]s.

use std::borrow::Cow;

use serde::Deserialize;

use super::super::chat::{Event, Finish, StreamDecoder, Usage};
use super::decode::{finish_reason, BlockIn, MessageIn, UsageIn};
use super::errors::{error_for, error_status, ErrorIn};
use super::JSON_TOOL;
use crate::core::error::{ApiError, ErrorKind};
use crate::wire::sse::{self, SseFramer};

/// What an open content block is, by Anthropic block index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    /// A tool call with its OpenAI index.
    Tool(u32),
    /// The JSON-mode tool: its argument deltas are the answer text.
    JsonTool,
    Other,
}

/// The Messages stream state machine (message_start … message_stop) to [`Event`]s.
#[derive(Default)]
pub struct AnthropicStream {
    framer: SseFramer,
    blocks: Vec<(u32, Open)>,
    tools: u32,
    usage: Usage,
    input: u64,
    json_mode: bool,
}

#[derive(Deserialize)]
struct StreamEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    message: Option<MessageIn<'a>>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(borrow, default)]
    content_block: Option<BlockIn<'a>>,
    #[serde(borrow, default)]
    delta: Option<DeltaIn<'a>>,
    #[serde(default)]
    usage: Option<UsageIn>,
    #[serde(borrow, default)]
    error: Option<ErrorIn<'a>>,
}

#[derive(Deserialize)]
struct DeltaIn<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

impl AnthropicStream {
    fn open(&self, index: u32) -> Open {
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map_or(Open::Other, |(_, o)| *o)
    }

    /// A content block opens: text, thinking, a tool use (a new tool call, or JSON mode's
    /// forced tool).
    fn block_start(&mut self, ev: &StreamEvent<'_>, emit: &mut dyn FnMut(Event<'_>)) {
        let (Some(index), Some(block)) = (ev.index, &ev.content_block) else {
            return;
        };
        let open = match block.kind.as_ref() {
            "text" => Open::Text,
            "thinking" => Open::Thinking,
            "tool_use" if block.name.as_deref() == Some(JSON_TOOL) => {
                self.json_mode = true;
                Open::JsonTool
            }
            "tool_use" => {
                let n = self.tools;
                self.tools += 1;
                emit(Event::ToolStart {
                    index: n,
                    id: Cow::Borrowed(block.id.as_deref().unwrap_or_default()),
                    name: Cow::Borrowed(block.name.as_deref().unwrap_or_default()),
                });
                Open::Tool(n)
            }
            _ => Open::Other,
        };
        if let Some(t) = block.text.as_deref().filter(|t| !t.is_empty()) {
            emit(Event::Text(Cow::Borrowed(t)));
        }
        self.blocks.push((index, open));
    }

    /// A content block's delta, read by what kind of block is open at its index.
    fn block_delta<'e>(&mut self, ev: StreamEvent<'e>, emit: &mut dyn FnMut(Event<'_>)) {
        let (Some(index), Some(d)) = (ev.index, ev.delta) else {
            return;
        };
        match (self.open(index), d.kind.as_deref()) {
            (_, Some("text_delta")) => {
                if let Some(t) = d.text {
                    emit(Event::Text(t));
                }
            }
            (_, Some("thinking_delta")) => {
                if let Some(t) = d.thinking {
                    emit(Event::Reasoning(t));
                }
            }
            (Open::Tool(n), Some("input_json_delta")) => {
                if let Some(args) = d.partial_json.filter(|a| !a.is_empty()) {
                    emit(Event::ToolArgs { index: n, args });
                }
            }
            (Open::JsonTool, Some("input_json_delta")) => {
                if let Some(args) = d.partial_json.filter(|a| !a.is_empty()) {
                    emit(Event::Text(args));
                }
            }
            _ => {}
        }
    }

    /// One event's `data` (already framed).
    pub fn on_event(&mut self, payload: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        let ev: StreamEvent = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(e) => {
                emit(Event::Error(ApiError::new(
                    502,
                    ErrorKind::ApiError,
                    format!("anthropic sent an unreadable stream event: {e}"),
                )));
                return;
            }
        };
        match ev.kind.as_ref() {
            "message_start" => {
                if let Some(m) = &ev.message {
                    m.usage.merge_into(&mut self.usage, &mut self.input);
                    emit(Event::Start {
                        id: &m.id,
                        model: &m.model,
                    });
                }
            }
            "content_block_start" => self.block_start(&ev, emit),
            "content_block_delta" => self.block_delta(ev, emit),
            "message_delta" => {
                if let Some(u) = ev.usage {
                    u.merge_into(&mut self.usage, &mut self.input);
                }
                if let Some(stop) = ev.delta.and_then(|d| d.stop_reason) {
                    let f = match finish_reason(&stop) {
                        Finish::ToolCalls if self.json_mode && self.tools == 0 => Finish::Stop,
                        f => f,
                    };
                    emit(Event::Finish(f));
                }
            }
            "message_stop" => {
                emit(Event::Usage(self.usage));
                emit(Event::Done);
            }
            "error" => {
                let (kind, message) = ev
                    .error
                    .map(|e| (e.kind, e.message))
                    .unwrap_or((None, None));
                let status = error_status(kind.as_deref().unwrap_or("api_error"));
                emit(Event::Error(error_for(
                    status,
                    kind.as_deref(),
                    message.as_deref().unwrap_or("anthropic stream error"),
                )));
            }
            _ => {} // ping, content_block_stop and anything newer
        }
    }
}

impl StreamDecoder for AnthropicStream {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        // The framer is moved out for the call so events are handled as they are framed.
        let mut framer = std::mem::take(&mut self.framer);
        let fed = framer.feed(chunk, |e| {
            if let Some(payload) = sse::data(&e) {
                self.on_event(&payload, emit);
            }
        });
        self.framer = framer;
        if let Err(e) = fed {
            emit(Event::Error(e.to_error("an SSE event")));
        }
    }

    fn buffered(&self) -> usize {
        self.framer.pending().len()
    }
}
