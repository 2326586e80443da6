//! ConverseStream event streams (AWS event-stream frames) decoded into neutral [`Event`]s.

use std::borrow::Cow;

use serde::Deserialize;

use super::super::chat::{Event, Finish, StreamDecoder};
use super::decode::finish_reason;
use super::decode::{new_id, unreadable, UsageIn};
use super::errors::{error_for, type_status};
use super::eventstream::{self, Frame, MessageType};
use super::JSON_TOOL;
use crate::core::error::ApiError;

// ---- stream --------------------------------------------------------------------------

/// One ConverseStream event payload; which members are set depends on `:event-type`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamPayload<'a> {
    #[serde(default)]
    content_block_index: Option<u32>,
    #[serde(borrow, default)]
    start: Option<BlockStart<'a>>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<UsageIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart<'a> {
    #[serde(borrow, default)]
    tool_use: Option<ToolStartIn<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStartIn<'a> {
    #[serde(borrow, default)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delta<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_use: Option<ToolDelta<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<ReasoningDelta<'a>>,
}

#[derive(Deserialize)]
struct ToolDelta<'a> {
    #[serde(borrow, default)]
    input: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ReasoningDelta<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ExceptionPayload {
    #[serde(default, alias = "Message")]
    message: Option<String>,
}

/// What a started content block is, by its Converse block index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// A tool call with its OpenAI index.
    Tool(u32),
    /// The JSON-mode tool: its input deltas are the answer text.
    JsonTool,
}

/// Where a ConverseStream is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Streaming,
    /// `messageStop` seen: only `metadata` (usage) is still to come.
    Stopped,
    /// `Done` or an error was emitted; later frames are ignored.
    Ended,
}

/// The ConverseStream state machine (messageStart … metadata) over event-stream frames.
pub struct ConverseStream {
    frames: eventstream::Decoder,
    id: String,
    blocks: Vec<(u32, Open)>,
    tools: u32,
    json_mode: bool,
    phase: Phase,
}

impl Default for ConverseStream {
    fn default() -> Self {
        ConverseStream::new()
    }
}

impl ConverseStream {
    pub fn new() -> ConverseStream {
        ConverseStream::with_id(new_id())
    }

    /// A decoder whose `Start` carries this id (Bedrock sends none).
    pub fn with_id(id: String) -> ConverseStream {
        ConverseStream {
            frames: eventstream::Decoder::default(),
            id,
            blocks: Vec::new(),
            tools: 0,
            json_mode: false,
            phase: Phase::Streaming,
        }
    }

    fn open(&self, index: Option<u32>) -> Option<Open> {
        let index = index?;
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, o)| *o)
    }

    fn fail(&mut self, err: ApiError, emit: &mut dyn FnMut(Event<'_>)) {
        self.phase = Phase::Ended;
        emit(Event::Error(err));
    }

    /// Exception and error frames end the stream with an error; `false` for anything but an
    /// event frame.
    fn control(&mut self, frame: &Frame, emit: &mut dyn FnMut(Event<'_>)) -> bool {
        match &frame.message_type {
            MessageType::Event => true,
            MessageType::Exception => {
                let kind = frame
                    .exception_type
                    .as_deref()
                    .unwrap_or("internalServerException");
                let message = serde_json::from_slice::<ExceptionPayload>(&frame.payload)
                    .ok()
                    .and_then(|p| p.message)
                    .unwrap_or_else(|| String::from_utf8_lossy(&frame.payload).into_owned());
                self.fail(
                    error_for(type_status(kind, 500), Some(kind), &message),
                    emit,
                );
                false
            }
            MessageType::Error => {
                let code = frame.error_code.as_deref();
                let message = frame
                    .error_message
                    .as_deref()
                    .unwrap_or("event stream error");
                self.fail(error_for(500, code, message), emit);
                false
            }
            MessageType::Other(_) => false,
        }
    }

    fn on_frame(&mut self, frame: &Frame, emit: &mut dyn FnMut(Event<'_>)) {
        if !self.control(frame, emit) {
            return;
        }
        let Some(kind) = frame.event_type.as_deref() else {
            return;
        };
        let p: StreamPayload = match serde_json::from_slice(&frame.payload) {
            Ok(p) => p,
            Err(e) => return self.fail(unreadable("an unreadable stream event", e), emit),
        };
        match kind {
            "messageStart" => emit(Event::Start {
                id: &self.id,
                model: "",
            }),
            "contentBlockStart" => {
                let (Some(index), Some(tool)) =
                    (p.content_block_index, p.start.and_then(|s| s.tool_use))
                else {
                    return;
                };
                let open = if tool.name == JSON_TOOL {
                    self.json_mode = true;
                    Open::JsonTool
                } else {
                    let n = self.tools;
                    self.tools += 1;
                    emit(Event::ToolStart {
                        index: n,
                        id: tool.tool_use_id,
                        name: tool.name,
                    });
                    Open::Tool(n)
                };
                self.blocks.push((index, open));
            }
            "contentBlockDelta" => {
                let Some(d) = p.delta else {
                    return;
                };
                if let Some(t) = d.text.filter(|t| !t.is_empty()) {
                    emit(Event::Text(t));
                }
                if let Some(t) = d.reasoning_content.and_then(|r| r.text) {
                    emit(Event::Reasoning(t));
                }
                if let Some(args) = d.tool_use.and_then(|t| t.input).filter(|a| !a.is_empty()) {
                    match self.open(p.content_block_index) {
                        Some(Open::Tool(index)) => emit(Event::ToolArgs { index, args }),
                        Some(Open::JsonTool) => emit(Event::Text(args)),
                        None => {}
                    }
                }
            }
            "messageStop" => {
                let f = match finish_reason(p.stop_reason.as_deref().unwrap_or("end_turn")) {
                    Finish::ToolCalls if self.json_mode && self.tools == 0 => Finish::Stop,
                    f => f,
                };
                self.phase = Phase::Stopped;
                emit(Event::Finish(f));
            }
            "metadata" => {
                if let Some(u) = p.usage {
                    emit(Event::Usage(u.into()));
                }
                self.phase = Phase::Ended;
                emit(Event::Done);
            }
            _ => {} // contentBlockStop and anything newer
        }
    }
}

impl StreamDecoder for ConverseStream {
    fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(Event<'_>)) {
        if self.phase == Phase::Ended {
            return;
        }
        self.frames.feed(chunk);
        while self.phase != Phase::Ended {
            match self.frames.next_frame() {
                Ok(Some(frame)) => self.on_frame(&frame, emit),
                Ok(None) => break,
                Err(e) => self.fail(unreadable("a corrupt event stream", e), emit),
            }
        }
    }

    /// A stream that ends after `messageStop` without `metadata` is still complete; one cut
    /// before `messageStop` is incomplete, which the gateway reports (nothing is emitted).
    fn finish(&mut self, emit: &mut dyn FnMut(Event<'_>)) {
        if self.phase == Phase::Stopped {
            self.phase = Phase::Ended;
            emit(Event::Done);
        }
    }

    fn buffered(&self) -> usize {
        self.frames.pending()
    }
}
